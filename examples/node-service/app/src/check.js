'use strict';
// The service's HTTP check, for smoke tests: starts dist/server.js as a child process on
// a free port, creates a note, reads it back and asks /healthz, then stops the server.
// Prints one JSON line and exits 0 when every answer is right, 1 otherwise.
const { spawn } = require('child_process');
const http = require('http');
const path = require('path');

function request(port, method, url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: url,
      headers: { 'content-type': 'application/json' } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, body: JSON.parse(data) });
        } catch (e) {
          reject(new Error(method + ' ' + url + ': not JSON: ' + data));
        }
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

function expect(what, ok, got) {
  if (!ok) throw new Error(what + ': got ' + JSON.stringify(got));
}

async function main() {
  const child = spawn(process.execPath, [path.join(__dirname, 'server.js')], {
    env: Object.assign({}, process.env, { PORT: '0' }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 60000);
  try {
    const port = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const m = /listening on (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code, sig) => reject(new Error('server exited before listening: code ' + code + ' signal ' + sig)));
    });
    const created = await request(port, 'POST', '/notes', { text: 'hello from ' + process.arch });
    expect('POST /notes', created.status === 201 && created.body.id === 1, created);
    const list = await request(port, 'GET', '/notes');
    expect('GET /notes', list.status === 200 && list.body.length === 1 && list.body[0].text === 'hello from ' + process.arch, list);
    const health = await request(port, 'GET', '/healthz');
    expect('GET /healthz', health.status === 200 && health.body.status === 'ok' && health.body.arch === process.arch, health);
    console.log(JSON.stringify({ ok: true, arch: process.arch, sqlite: health.body.sqlite, notes: list.body.length }));
  } finally {
    clearTimeout(killTimer);
    child.kill('SIGTERM');
  }
}

main().catch((e) => {
  console.log(JSON.stringify({ ok: false, arch: process.arch, error: e.message }));
  process.exitCode = 1;
});
