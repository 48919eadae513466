// Reference tus 1.0 server for the tests and benchmarks: the official
// @tus/server + @tus/file-store, plus what a deployment adds around it:
// an API key check, a check of every finished upload against the digest in the
// client's Upload-Metadata (the server itself does not verify checksums),
// and a ledger of finished uploads so tests can count "exactly once".
//
//   node server.mjs --dir DIR [--port 0] [--api-key KEY] [--fail-every N] [--max-size BYTES]
//                   [--checksum] [--tls-cert PEM --tls-key PEM]
//
// --fail-every N answers 503 to every Nth request (a real server-side fault).
// --checksum adds the tus checksum extension, which @tus/server lacks and tusd has:
// OPTIONS advertises it, and a PATCH whose body does not match its Upload-Checksum
// is answered 460 and none of its bytes are kept.
// --tls-cert/--tls-key serve https (for tests of private CAs).
// Prints "listening <port>" once ready. Listens on 127.0.0.1 only.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { Blake3Hasher } from '@napi-rs/blake-hash';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    'api-key': { type: 'string', default: '' },
    'fail-every': { type: 'string', default: '0' },
    'max-size': { type: 'string', default: '0' },
    checksum: { type: 'boolean', default: false },
    'tls-cert': { type: 'string', default: '' },
    'tls-key': { type: 'string', default: '' },
  },
});
const dir = path.resolve(values.dir);
fs.mkdirSync(dir, { recursive: true });
const ledger = path.join(dir, 'completed.jsonl');
const failEvery = Number(values['fail-every']);
let requests = 0;

// The digests a client may claim in Upload-Metadata (data_manager_ros.digest): BLAKE3, and
// SHA-256 from uploads started before it.
const HASHERS = { blake3: () => new Blake3Hasher(), sha256: () => crypto.createHash('sha256') };

function digestOf(file, algorithm) {
  return new Promise((resolve, reject) => {
    const hash = HASHERS[algorithm]();
    fs.createReadStream(file, { highWaterMark: 1 << 20 }).on('data', (d) => hash.update(d))
      .on('end', () => resolve(`${algorithm}:${hash.digest('hex')}`)).on('error', reject);
  });
}

const scheme = values['tls-cert'] ? 'https' : 'http';
const tus = new Server({
  path: '/files',
  // @tus/server reads the scheme from forwarded headers only; say it when serving https
  generateUrl: (req, { host, path: base, id }) => `${scheme}://${host}${base}/${id}`,
  maxSize: Number(values['max-size']) || undefined,
  datastore: new FileStore({ directory: dir }),
  async onIncomingRequest(req) {
    if (values['api-key'] && req.headers.get('authorization') !== `Bearer ${values['api-key']}`) {
      throw { status_code: 401, body: 'missing or wrong API key\n' };
    }
  },
  async onUploadFinish(req, upload) {
    const algorithm = Object.keys(HASHERS).find((name) => upload.metadata?.[name]) ?? 'blake3';
    const actual = await digestOf(path.join(dir, upload.id), algorithm);
    if (upload.metadata?.[algorithm] && `${algorithm}:${upload.metadata[algorithm]}` !== actual) {
      throw { status_code: 460, body: `${algorithm} mismatch: got ${actual}\n` };
    }
    fs.appendFileSync(ledger, JSON.stringify({
      id: upload.id, size: upload.size, digest: actual, metadata: upload.metadata,
    }) + '\n');
    return {};
  },
});

const CHECKSUM_ALGORITHMS = ['sha256', 'sha1', 'md5'];

function reply(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Tus-Resumable': '1.0.0' });
  res.end(body);
}

async function sendWeb(res, response) {
  const headers = Object.fromEntries(response.headers.entries());
  if (values.checksum && response.headers.has('tus-extension')) {
    headers['tus-extension'] += ',checksum';
    headers['tus-checksum-algorithm'] = CHECKSUM_ALGORITHMS.join(',');
  }
  res.writeHead(response.status, headers);
  res.end(Buffer.from(await response.arrayBuffer()));
}

// A PATCH with Upload-Checksum is read whole, checked, and only then given to the store.
async function checkedPatch(req, res, checksum) {
  const [algorithm, expected] = checksum.split(' ');
  if (!CHECKSUM_ALGORITHMS.includes(algorithm)) {
    req.resume();
    return reply(res, 400, `unsupported checksum algorithm ${algorithm}\n`);
  }
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const actual = crypto.createHash(algorithm).update(body).digest('base64');
  if (actual !== expected) return reply(res, 460, `checksum mismatch: got ${actual}\n`);
  const url = `${scheme}://${req.headers.host}${req.url}`;
  const request = new Request(url, { method: 'PATCH', headers: req.headers, body });
  return sendWeb(res, await tus.handleWeb(request));
}

async function route(req, res) {
  requests += 1;
  if (failEvery > 0 && requests % failEvery === 0) {
    req.resume();
    return reply(res, 503, 'injected fault\n');
  }
  const checksum = req.headers['upload-checksum'];
  if (values.checksum && req.method === 'PATCH' && checksum) return checkedPatch(req, res, checksum);
  if (values.checksum && req.method === 'OPTIONS') {
    return sendWeb(res, await tus.handleWeb(new Request(`${scheme}://${req.headers.host}${req.url}`,
      { method: 'OPTIONS', headers: req.headers })));
  }
  tus.handle(req, res);
}

const server = values['tls-cert']
  ? https.createServer({ cert: fs.readFileSync(values['tls-cert']),
    key: fs.readFileSync(values['tls-key']) }, route)
  : http.createServer(route);
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
