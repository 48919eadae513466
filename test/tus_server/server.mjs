// Reference tus 1.0 server for the tests and benchmarks: the official
// @tus/server + @tus/file-store, plus what a deployment adds around it:
// an API key check, a sha256 check of every finished upload against the
// client's Upload-Metadata (the server itself does not verify checksums),
// and a ledger of finished uploads so tests can count "exactly once".
//
//   node server.mjs --dir DIR [--port 0] [--api-key KEY] [--fail-every N] [--max-size BYTES]
//
// --fail-every N answers 503 to every Nth request (a real server-side fault).
// Prints "listening <port>" once ready. Listens on 127.0.0.1 only.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    'api-key': { type: 'string', default: '' },
    'fail-every': { type: 'string', default: '0' },
    'max-size': { type: 'string', default: '0' },
  },
});
const dir = path.resolve(values.dir);
fs.mkdirSync(dir, { recursive: true });
const ledger = path.join(dir, 'completed.jsonl');
const failEvery = Number(values['fail-every']);
let requests = 0;

function sha256(file) {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    fs.createReadStream(file).on('data', (d) => hash.update(d))
      .on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });
}

const tus = new Server({
  path: '/files',
  maxSize: Number(values['max-size']) || undefined,
  datastore: new FileStore({ directory: dir }),
  async onIncomingRequest(req) {
    if (values['api-key'] && req.headers.get('authorization') !== `Bearer ${values['api-key']}`) {
      throw { status_code: 401, body: 'missing or wrong API key\n' };
    }
  },
  async onUploadFinish(req, upload) {
    const expected = upload.metadata?.sha256;
    const actual = await sha256(path.join(dir, upload.id));
    if (expected && expected !== actual) {
      throw { status_code: 460, body: `sha256 mismatch: got ${actual}\n` };
    }
    fs.appendFileSync(ledger, JSON.stringify({
      id: upload.id, size: upload.size, sha256: actual, metadata: upload.metadata,
    }) + '\n');
    return {};
  },
});

const server = http.createServer((req, res) => {
  requests += 1;
  if (failEvery > 0 && requests % failEvery === 0) {
    req.resume();
    res.writeHead(503, { 'Content-Type': 'text/plain' });
    res.end('injected fault\n');
    return;
  }
  tus.handle(req, res);
});
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
