'use strict';
// vendor.js: what `npm ci --omit=dev` does for this offline service. Each dependency of
// package.json is taken from the Node.js modules Debian installed in this stage's base
// image and copied into node_modules. A native addon keeps only the compiled bindings
// for one architecture: --arch <docker arch> (the Dockerfile passes $TARGETARCH), or the
// architecture this stage runs on when --arch is not given, which is what npm does.
//
//   node vendor.js [--arch amd64|arm64|...] [--out node_modules]
const fs = require('fs');
const path = require('path');

// Docker's architecture names to Node's process.arch names.
const nodeArch = { amd64: 'x64', arm64: 'arm64', arm: 'arm', '386': 'ia32', ppc64le: 'ppc64', s390x: 's390x', riscv64: 'riscv64' };

function args(argv) {
  const o = { arch: '', out: 'node_modules' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--arch') o.arch = argv[++i] || '';
    else if (argv[i] === '--out') o.out = argv[++i];
    else throw new Error('unknown argument ' + argv[i] + ' (use --arch, --out)');
  }
  return o;
}

function main() {
  const opt = args(process.argv.slice(2));
  let want = process.arch;
  if (opt.arch) {
    want = nodeArch[opt.arch];
    if (!want) throw new Error('--arch ' + opt.arch + ': unknown architecture (know ' + Object.keys(nodeArch).join(', ') + ')');
  }
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  for (const dep of Object.keys(pkg.dependencies || {})) {
    const src = path.dirname(require.resolve(dep + '/package.json', { paths: [process.cwd()] }));
    const dst = path.join(opt.out, dep);
    fs.rmSync(dst, { recursive: true, force: true });
    fs.cpSync(src, dst, { recursive: true, dereference: true });
    const kept = pruneBindings(dst, src, want);
    console.log('vendored ' + dep + ' from ' + src + (kept.length ? ' (bindings: ' + kept.join(', ') + ')' : ''));
  }
}

// pruneBindings keeps the node-pre-gyp bindings (lib/binding/<napi>-<os>-<libc>-<arch>)
// built for arch and fails when there is none: the addon would not load.
function pruneBindings(dir, src, arch) {
  const bdir = path.join(dir, 'lib', 'binding');
  if (!fs.existsSync(bdir)) return [];
  const all = fs.readdirSync(bdir);
  const kept = all.filter((d) => d.endsWith('-' + arch));
  if (kept.length === 0) {
    throw new Error('no compiled binding for ' + arch + ' in ' + path.join(src, 'lib', 'binding') +
      ' (it has ' + all.join(', ') + '): this stage runs on ' + process.arch +
      '; native dependencies must be installed on the target platform (no --platform=$BUILDPLATFORM on this stage)');
  }
  for (const d of all) {
    if (!kept.includes(d)) fs.rmSync(path.join(bdir, d), { recursive: true });
  }
  return kept;
}

try {
  main();
} catch (e) {
  console.error('vendor: ' + e.message);
  process.exit(1);
}
