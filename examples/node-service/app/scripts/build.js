'use strict';
// build.js: the build stage. Copies the service's sources to dist/, checking the syntax
// of each file with this Node.js and stamping the version from package.json. Pure
// JavaScript, so the stage runs natively on the build machine ($BUILDPLATFORM).
//
//   node build.js <src> <dist>
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const [src, dist] = process.argv.slice(2);
if (!src || !dist) {
  console.error('usage: node build.js <src> <dist>');
  process.exit(2);
}
const version = JSON.parse(fs.readFileSync('package.json', 'utf8')).version;
fs.mkdirSync(dist, { recursive: true });
for (const f of fs.readdirSync(src).filter((f) => f.endsWith('.js')).sort()) {
  execFileSync(process.execPath, ['--check', path.join(src, f)], { stdio: 'inherit' });
  const code = fs.readFileSync(path.join(src, f), 'utf8');
  fs.writeFileSync(path.join(dist, f), '// notes-service ' + version + '\n' + code);
  console.log('built ' + path.join(dist, f));
}
