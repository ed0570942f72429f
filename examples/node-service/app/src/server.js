'use strict';
// A tiny notes service: an HTTP API over SQLite, through the native addon sqlite3.
//   GET  /healthz  -> {"status":"ok","arch":...,"sqlite":...}
//   POST /notes    {"text":"..."} -> {"id":1,"text":"..."}
//   GET  /notes    -> [{"id":1,"text":"..."}]
// PORT (default 8080; 0 picks a free port). The first stdout line is "listening on <port>".
const http = require('http');
const sqlite3 = require('sqlite3');

const db = new sqlite3.Database(process.env.DB || ':memory:');

function json(res, code, body) {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body) + '\n');
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

async function handle(req, res) {
  if (req.method === 'GET' && req.url === '/healthz') {
    db.get('SELECT sqlite_version() AS v', (err, row) => {
      if (err) return json(res, 500, { status: 'error', error: err.message });
      json(res, 200, { status: 'ok', arch: process.arch, sqlite: row.v });
    });
    return;
  }
  if (req.url === '/notes' && req.method === 'POST') {
    let note;
    try {
      note = JSON.parse(await readBody(req));
    } catch (e) {
      return json(res, 400, { error: 'body must be JSON: ' + e.message });
    }
    if (typeof note.text !== 'string' || note.text === '') {
      return json(res, 400, { error: 'text must be a non-empty string' });
    }
    db.run('INSERT INTO notes (text) VALUES (?)', [note.text], function (err) {
      if (err) return json(res, 500, { error: err.message });
      json(res, 201, { id: this.lastID, text: note.text });
    });
    return;
  }
  if (req.url === '/notes' && req.method === 'GET') {
    db.all('SELECT id, text FROM notes ORDER BY id', (err, rows) => {
      if (err) return json(res, 500, { error: err.message });
      json(res, 200, rows);
    });
    return;
  }
  json(res, 404, { error: 'no route ' + req.method + ' ' + req.url });
}

db.run('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)', (err) => {
  if (err) {
    console.error('create table:', err.message);
    process.exit(1);
  }
  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => json(res, 500, { error: e.message }));
  });
  server.listen(Number(process.env.PORT || 8080), '127.0.0.1', () => {
    console.log('listening on ' + server.address().port);
  });
  process.on('SIGTERM', () => server.close(() => db.close(() => process.exit(0))));
});
