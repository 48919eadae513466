// A fleet's ingest: the official tus 1.0 server (@tus/server) in front of object storage
// (@tus/s3-store), so robots upload resumably to any S3 API (AWS S3, MinIO, ...) through a
// stateless front: every byte and every upload's state lives in the bucket, and a restart
// (or another instance) resumes an upload where the bucket says it stands.
//
// Configured by environment (see README "Running a fleet"):
//   INGEST_S3_BUCKET     bucket (required)
//   INGEST_S3_ENDPOINT   S3 API endpoint; empty for AWS S3 (then AWS_REGION or INGEST_S3_REGION)
//   INGEST_S3_REGION     region (default us-east-1)
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   credentials (else the AWS default chain)
//   INGEST_API_KEY       the key robots send as "Authorization: Bearer <key>"; empty: none
//   INGEST_HOST, INGEST_PORT   where to listen (default 127.0.0.1:1080; 0 picks a port)
//   INGEST_CREATE_BUCKET "true" creates the bucket when missing (tests, demos)
//
// What a deployment adds around the tus server:
// - object keys a person can read: <robot_id>/<relative path of the file> (a bag file is
//   <robot_id>/<bag>/<bag>_N.mcap), each path segment escaped losslessly (see objectKey);
// - at finish, the digest of the object is checked against the client's Upload-Metadata; a
//   mismatch deletes the object and answers 460, as the test server does;
// - each finished object gets a sidecar .meta/<key>.json with its upload metadata (robot_id,
//   tags, topics, time range, message count, clip reasons, digest, size): what
//   data_manager_fleet lists and filters on (S3 object metadata holds 2 KB, a topic list
//   can be longer).
// Prints "listening <port>" once ready.
import crypto from 'node:crypto';
import http from 'node:http';

import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand,
  HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { S3Store } from '@tus/s3-store';
import { Server } from '@tus/server';

const env = process.env;
if (!env.INGEST_S3_BUCKET) {
  console.error('INGEST_S3_BUCKET is not set: name the bucket the ingest writes to');
  process.exit(2);
}
const bucket = env.INGEST_S3_BUCKET;
const META_PREFIX = '.meta/';
const clientConfig = {
  region: env.INGEST_S3_REGION || env.AWS_REGION || 'us-east-1',
  // an endpoint of its own (MinIO, moto, Ceph): path-style addressing, as they expect
  ...(env.INGEST_S3_ENDPOINT ? { endpoint: env.INGEST_S3_ENDPOINT, forcePathStyle: true } : {}),
};
const s3 = new S3Client(clientConfig);

// A path segment as a key segment, losslessly: letters, digits, '-', '_' and '.' stay, every
// other byte is %XX (so '%' too); a segment of dots alone is escaped whole ('..' is no
// directory of a key, and no one downloads one by mistake).
function segment(bytes) {
  const text = [...bytes].map((b) => (/[A-Za-z0-9_.-]/.test(String.fromCharCode(b)) && b < 128
    ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
  return /^\.+$/.test(text) ? text.replaceAll('.', '%2E') : text;
}

function objectKey(metadata) {
  const robot = metadata?.robot_id;
  const relative = metadata?.relative_path_bytes
    ? Buffer.from(metadata.relative_path_bytes, 'base64') : Buffer.from(metadata?.relative_path ?? '');
  if (!robot || !relative.length) {
    throw { status_code: 400, body: 'Upload-Metadata must name robot_id and relative_path\n' };
  }
  const parts = [];
  let start = 0;
  for (let i = 0; i <= relative.length; i += 1) {
    if (i === relative.length || relative[i] === 0x2f) {
      if (i > start) parts.push(segment(relative.subarray(start, i)));
      start = i + 1;
    }
  }
  return [segment(Buffer.from(robot)), ...parts].join('/');
}

// The digests a robot may claim in Upload-Metadata (data_manager_ros.digest): BLAKE3, and
// SHA-256 from robots and uploads before it. Unclaimed, an object gets a BLAKE3 one.
const HASHERS = { blake3: () => new Blake3Hasher(), sha256: () => crypto.createHash('sha256') };

async function digestOf(key, algorithm) {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = HASHERS[algorithm]();
  for await (const chunk of Body) hash.update(chunk);
  return `${algorithm}:${hash.digest('hex')}`;
}

const store = new S3Store({ partSize: 8 * 1024 * 1024, s3ClientConfig: { bucket, ...clientConfig } });

// An upload whose bytes are all in: its object's digest against the client's, then the
// sidecar. A mismatch removes the object and the upload's state (and S3Store's cached copy
// of it), so a HEAD answers 404 and the client starts over, never taking offset == size for
// a confirmation.
async function finish(upload) {
  const algorithm = Object.keys(HASHERS).find((name) => upload.metadata?.[name]) ?? 'blake3';
  const actual = await digestOf(upload.id, algorithm);
  if (upload.metadata?.[algorithm] && `${algorithm}:${upload.metadata[algorithm]}` !== actual) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: upload.id }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${upload.id}.info` }));
    await store.clearCache(upload.id);
    throw { status_code: 460, body: `${algorithm} mismatch: got ${actual}\n` };
  }
  const record = { key: upload.id, size: upload.size, digest: actual,
    finished: new Date().toISOString(), metadata: upload.metadata };
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${META_PREFIX}${upload.id}.json`,
    Body: JSON.stringify(record), ContentType: 'application/json' }));
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

const tus = new Server({
  path: '/files',
  datastore: store,
  namingFunction: (req, metadata) => objectKey(metadata),
  // the key has slashes: the URL carries it base64url-encoded, as one path segment
  generateUrl: (req, { proto, host, path, id }) =>
    `${proto}://${host}${path}/${Buffer.from(id).toString('base64url')}`,
  getFileIdFromRequest: (req, lastPath) =>
    (lastPath ? Buffer.from(lastPath, 'base64url').toString() : undefined),
  // a client asks where an upload stands after a cut: one killed between its last part and
  // its sidecar is finished here, before it hears offset == size
  async onIncomingRequest(req, id) {
    if (req.method !== 'HEAD' || !id || await hasSidecar(id)) return;
    let upload;
    try {
      upload = await store.getUpload(id);
    } catch {
      return; // unknown upload: the server answers 404 itself
    }
    if (upload.size !== undefined && upload.offset === upload.size) await finish(upload);
  },
  async onUploadFinish(req, upload) {
    await finish(upload);
    return {};
  },
});

async function ensureBucket() {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (env.INGEST_CREATE_BUCKET !== 'true') {
      console.error(`bucket ${bucket} is not reachable (${error.name}); create it, check the `
        + 'credentials and INGEST_S3_ENDPOINT, or set INGEST_CREATE_BUCKET=true');
      process.exit(2);
    }
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

await ensureBucket();
// the API key before anything else (a POST is named from its metadata before any hook runs);
// OPTIONS stays open, as tus clients ask it before they authenticate
const server = http.createServer((req, res) => {
  if (env.INGEST_API_KEY && req.method !== 'OPTIONS'
      && req.headers.authorization !== `Bearer ${env.INGEST_API_KEY}`) {
    req.resume();
    res.writeHead(401, { 'Content-Type': 'text/plain', 'Tus-Resumable': '1.0.0' });
    res.end('missing or wrong API key\n');
    return;
  }
  tus.handle(req, res);
});
server.listen(Number(env.INGEST_PORT ?? 1080), env.INGEST_HOST || '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
