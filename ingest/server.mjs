// A fleet's ingest: the official tus 1.0 server (@tus/server) in front of object storage
// (@tus/s3-store), so robots upload resumably to any S3 API (AWS S3, MinIO, ...). Every byte
// and every upload's state lives in the bucket, credentials and locks in PostgreSQL, so any
// number of instances behind one address serve any robot, and a restarted one resumes an
// upload where the bucket says it stands.
//
// Configured by environment (see README "Running a fleet"):
//   INGEST_S3_BUCKET     bucket (required)
//   INGEST_S3_ENDPOINT   S3 API endpoint; empty for AWS S3 (then AWS_REGION or INGEST_S3_REGION)
//   INGEST_S3_REGION     region (default us-east-1)
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   credentials (else the AWS default chain)
//   INGEST_DATABASE_URL  PostgreSQL (required): robot and operator credentials, upload locks
//   INGEST_MAX_UPLOAD_BYTES  the largest file accepted (default 64 GiB); larger: 413
//   INGEST_LOCK_TIMEOUT_MS   how long a request waits for an upload another one writes (10000)
//   INGEST_HOST, INGEST_PORT   where to listen (default 127.0.0.1:1080; 0 picks a port)
//   INGEST_CREATE_BUCKET "true" creates the bucket when missing (tests, demos)
//
// Who may do what: a robot (its own token, `data_manager_fleet robots add`) creates,
// resumes, HEADs and terminates uploads under its own key prefix only; the robot is the
// token's, and an Upload-Metadata robot_id that names another is refused (403). An operator
// token may HEAD and terminate any upload and upload nothing. Nobody reads file contents
// through the ingest (GET: 405): people read the bucket.
//
// What it adds around the tus server:
// - object keys a person can read: <robot>/<relative path of the file> (a bag file is
//   <robot>/<bag>/<bag>_N.mcap), each segment escaped losslessly (keys.mjs);
// - at finish, the digest of the object is checked against the client's Upload-Metadata; a
//   mismatch deletes the object and answers 460, as the test server does;
// - each finished object gets a row in the catalog (PostgreSQL, catalog.mjs) and then a
//   sidecar .meta/<key>.json with its upload metadata (robot, tags, topics, time range,
//   message count, clip reasons, digest, size): the catalog is what data_manager_fleet
//   queries, the sidecars are the bucket's own record it is rebuilt from (reindex).
// Prints "listening <port>" once ready.
import crypto from 'node:crypto';
import http from 'node:http';

import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand,
  HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { Server } from '@tus/server';
import pg from 'pg';

import { Credentials } from './auth.mjs';
import { Catalog } from './catalog.mjs';
import { isKeyOf, META_PREFIX, objectKey, rawMetadata, refusal, robotIdProblem, segment,
  shown, unescapeSegment } from './keys.mjs';
import { PgLocker } from './pg_locker.mjs';
import { migrate } from './schema.mjs';
import { IngestStore } from './store.mjs';

const env = process.env;
function fail(text) {
  console.error(text);
  process.exit(2);
}
if (!env.INGEST_S3_BUCKET) fail('INGEST_S3_BUCKET is not set: name the bucket the ingest writes to');
if (!env.INGEST_DATABASE_URL) {
  fail('INGEST_DATABASE_URL is not set: the ingest keeps robot credentials and upload locks in '
    + 'PostgreSQL (postgresql://user:password@host:5432/fleet)');
}
if (env.INGEST_API_KEY) {
  fail('INGEST_API_KEY (one key for every robot) is gone: each robot has a token of its own. '
    + 'Unset it, then issue tokens with `data_manager_fleet robots add <robot>`');
}
function bytesSetting(name, fallback) {
  const text = env[name] || String(fallback);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) {
    fail(`${name} is ${JSON.stringify(text)}: give a whole number of bytes or milliseconds, at least 1`);
  }
  return Number(text);
}
const maxUploadBytes = bytesSetting('INGEST_MAX_UPLOAD_BYTES', 64 * 2 ** 30);
const lockTimeoutMs = bytesSetting('INGEST_LOCK_TIMEOUT_MS', 10_000);
const bucket = env.INGEST_S3_BUCKET;
const clientConfig = {
  region: env.INGEST_S3_REGION || env.AWS_REGION || 'us-east-1',
  // an endpoint of its own (MinIO, moto, Ceph): path-style addressing, as they expect
  ...(env.INGEST_S3_ENDPOINT ? { endpoint: env.INGEST_S3_ENDPOINT, forcePathStyle: true } : {}),
};
const s3 = new S3Client(clientConfig);
const pool = new pg.Pool({ connectionString: env.INGEST_DATABASE_URL, max: 10 });
pool.on('error', (error) => console.error(`database: ${error.message}`));
const credentials = new Credentials(pool);
const catalog = new Catalog(pool, s3, bucket);
const locker = new PgLocker(env.INGEST_DATABASE_URL, { acquireLockTimeoutMs: lockTimeoutMs });
const store = new IngestStore({ partSize: 8 * 1024 * 1024, s3ClientConfig: { bucket, ...clientConfig } },
  { metaPrefix: META_PREFIX });

// who sent each request, from its token: set before tus sees the request
const callers = new WeakMap();
const callerOf = (req) => callers.get(req.runtime?.node?.req ?? req.node?.req);

// The digests a robot may claim in Upload-Metadata (data_manager_ros.digest): BLAKE3, and
// SHA-256 from robots and uploads before it. Unclaimed, an object gets a BLAKE3 one.
const HASHERS = { blake3: () => new Blake3Hasher(), sha256: () => crypto.createHash('sha256') };

async function digestOf(key, algorithm) {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = HASHERS[algorithm]();
  for await (const chunk of Body) hash.update(chunk);
  return `${algorithm}:${hash.digest('hex')}`;
}

async function hasSidecar(id) {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `${META_PREFIX}${id}.json` }));
    return true;
  } catch (error) {
    if (error.$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

// An upload whose bytes are all in (``upload``, read under its lock): its object's digest
// against the client's, then the sidecar. A mismatch removes the object and the upload's
// state, so a HEAD answers 404 and the client starts over, never taking offset == size for
// a confirmation.
async function describe(upload) {
  const { id } = upload;
  const algorithm = Object.keys(HASHERS).find((name) => upload.metadata?.[name]) ?? 'blake3';
  const actual = await digestOf(id, algorithm);
  if (upload.metadata?.[algorithm] && `${algorithm}:${upload.metadata[algorithm]}` !== actual) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: id }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${id}.info` }));
    throw refusal(460, `${algorithm} mismatch: got ${actual}`);
  }
  const robot = id.split('/')[0];
  const record = { key: id, robot, size: upload.size, digest: actual,
    finished: new Date().toISOString(),
    // robot_id is the credential's, whatever the upload said
    metadata: { ...upload.metadata, robot_id: unescapeSegment(robot).toString() } };
  await catalog.recordFile(record);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${META_PREFIX}${id}.json`,
    Body: JSON.stringify(record), ContentType: 'application/json' }));
}

async function locked(id, work) {
  const lock = locker.newLock(id);
  await lock.lock(undefined, undefined);
  try {
    return await work();
  } finally {
    await lock.unlock();
  }
}

// What a client's HEAD asks after a cut: an upload whose bytes are all in but whose sidecar
// was never written (an instance killed in between) is described first, once, under its
// lock (another instance may be asked the same at once).
async function describeIfWhole(id) {
  if (await hasSidecar(id)) return;
  await locked(id, async () => {
    if (await hasSidecar(id)) return;
    let upload;
    try {
      upload = await store.getUpload(id);
    } catch (error) {
      if (error?.status_code === 404) return; // the server answers 404 itself
      throw error;
    }
    if (upload.size !== undefined && upload.offset === upload.size) await describe(upload);
  });
}

// A new upload's key, from the caller's robot and the path it names; what cannot be stored
// as sent is refused here, before the tus server creates anything.
function namingFunction(req) {
  const caller = callerOf(req);
  const metadata = rawMetadata(req.headers.get('upload-metadata'));
  const claimed = metadata.get('robot_id');
  if (claimed?.length && !claimed.equals(caller.subject)) {
    throw refusal(403, `Upload-Metadata says robot_id ${shown(claimed)}, but this token `
      + `belongs to robot ${shown(caller.subject)}: a robot uploads only as itself`);
  }
  const length = req.headers.get('upload-length');
  if (length !== null && /^\d+$/.test(length) && Number(length) > maxUploadBytes) {
    throw refusal(413, `Upload-Length ${length} is over the largest file this ingest accepts, `
      + `${maxUploadBytes} bytes (INGEST_MAX_UPLOAD_BYTES)`);
  }
  const encoded = metadata.get('relative_path_bytes');
  const path = encoded?.length ? Buffer.from(encoded.toString('latin1'), 'base64')
    : metadata.get('relative_path');
  return objectKey(caller.subject, path);
}

const tus = new Server({
  path: '/files',
  datastore: store,
  locker,
  maxSize: maxUploadBytes,
  namingFunction,
  // the key has slashes: the URL carries it base64url-encoded, as one path segment
  generateUrl: (req, { proto, host, path, id }) =>
    `${proto}://${host}${path}/${Buffer.from(id).toString('base64url')}`,
  getFileIdFromRequest: (req, lastPath) =>
    (lastPath ? Buffer.from(lastPath, 'base64url').toString() : undefined),
  async onIncomingRequest(req, id) {
    if (req.method === 'HEAD') await describeIfWhole(id);
  },
  async onUploadFinish(req, upload) {
    await locked(upload.id, () => describe(upload));
    return {};
  },
  onResponseError(req, error) {
    if (error?.status_code) {
      console.warn(`${req.method} ${new URL(req.url).pathname}: ${error.status_code} `
        + `${String(error.body).trim()}`);
    }
  },
});

function answer(res, { status_code: status, body }) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Tus-Resumable': '1.0.0' });
  res.end(body);
}

// Which upload a URL names, and whether the caller may touch it; a refusal, or null.
function permission(req, caller) {
  if (req.method === 'GET') {
    return refusal(405, 'the ingest does not serve file contents: read them from the bucket '
      + '(data_manager_fleet download)');
  }
  if (caller.role === 'operator') {
    return ['HEAD', 'DELETE'].includes(req.method) ? null
      : refusal(403, 'an operator token can HEAD and terminate uploads; only robots upload');
  }
  const problem = robotIdProblem(caller.subject);
  if (problem) return refusal(403, `this token's robot id ${shown(caller.subject)} ${problem}`);
  if (req.method === 'POST') return null;
  const last = new URL(req.url, 'http://ingest').pathname.split('/').filter(Boolean).pop() ?? '';
  const key = Buffer.from(last, 'base64url').toString('latin1');
  return isKeyOf(key, segment(caller.subject)) ? null
    : refusal(403, `no upload of robot ${shown(caller.subject)} has this URL: a robot reaches `
      + 'only the uploads it created');
}

async function handle(req, res) {
  if (req.method === 'OPTIONS') return tus.handle(req, res); // tus clients ask before logging in
  let refused;
  try {
    const caller = await credentials.identify(req.headers.authorization);
    refused = permission(req, caller);
    if (!refused) {
      callers.set(req, caller);
      return tus.handle(req, res);
    }
  } catch (error) {
    if (!error?.status_code) throw error;
    refused = error;
  }
  console.warn(`${req.method} ${req.url}: ${refused.status_code} ${refused.body.trim()}`);
  req.resume();
  return answer(res, refused);
}

async function ensureBucket() {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (env.INGEST_CREATE_BUCKET !== 'true') {
      fail(`bucket ${bucket} is not reachable (${error.name}); create it, check the `
        + 'credentials and INGEST_S3_ENDPOINT, or set INGEST_CREATE_BUCKET=true');
    }
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

try {
  await migrate(pool);
  await locker.start();
} catch (error) {
  fail(`the database at INGEST_DATABASE_URL is not usable: ${error.message}`);
}
await ensureBucket();
const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error(`${req.method} ${req.url}: ${error.stack ?? error}`);
    if (!res.headersSent) answer(res, refusal(500, 'internal error'));
  });
});
server.listen(Number(env.INGEST_PORT ?? 1080), env.INGEST_HOST || '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
