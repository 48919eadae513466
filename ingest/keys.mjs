// Object keys from a robot's identity and the path it uploads, byte for byte, and the
// refusals (400) for names that cannot become a key safely. The robot's key segment comes
// from its credential (auth.mjs), never from what the upload says of itself.

export const META_PREFIX = '.meta/';
// S3Store keeps <key>.info and <key>.part beside each object: a file whose own key ends so
// would land on another upload's state, so that last dot is escaped (losslessly).
const STATE_SUFFIX = /\.(info|part)$/;
// every key must fit S3's 1,024 bytes with the sidecar's .meta/ and .json around it
export const MAX_KEY_BYTES = 1024 - META_PREFIX.length - '.json'.length;
const SAFE = /[A-Za-z0-9_.-]/;
const CANONICAL_SEGMENT = /^(?:[A-Za-z0-9_.-]|%[0-9A-F]{2})+$/;

/** A refusal the tus server answers as it is (status and a sentence that names the part). */
export function refusal(status, text) {
  return { status_code: status, body: `${text}\n` };
}

/** Bytes as a person reads them in a message: printable ASCII as is, the rest \xNN. */
export function shown(bytes) {
  const text = [...bytes].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c
    ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
  return `'${text.length > 120 ? `${text.slice(0, 120)}...` : text}'`;
}

/** One path segment as a key segment: letters, digits and `_.-` stay, every other byte is
 * %XX (so '%' too); nothing is lost, so two names never share a key. */
export function segment(bytes) {
  return [...bytes].map((b) => (b < 128 && SAFE.test(String.fromCharCode(b))
    ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** A key segment back to the bytes it was made from. */
export function unescapeSegment(text) {
  return Buffer.from(text.replace(/%([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(
    Number.parseInt(hex, 16))), 'latin1');
}

function lastSegment(bytes) {
  return segment(bytes).replace(STATE_SUFFIX, '%2E$1');
}

/** Why a robot id cannot be a key's first segment, or null. Also enforced by
 * `data_manager_fleet robots add`; checked here again since the table is editable. */
export function robotIdProblem(bytes) {
  if (!bytes.length) return 'is empty';
  if (bytes.length > 128) return `is ${bytes.length} bytes, over 128`;
  if (bytes.includes(0)) return 'contains a NUL byte';
  if (bytes.includes(0x2f)) return "contains '/'";
  if (bytes[0] === 0x2e) return "starts with '.', which the ingest keeps for itself (.meta/)";
  return null;
}

/** The key of a robot's file: `<robot>/<segment>/.../<segment>`; a path the ingest cannot
 * store as sent is refused with 400 and what would be right. */
export function objectKey(robotBytes, pathBytes) {
  if (!pathBytes?.length) {
    throw refusal(400, 'Upload-Metadata must name relative_path (the file\'s path on the robot, '
      + 'relative to the directory it is synced from)');
  }
  const where = shown(pathBytes);
  if (pathBytes.includes(0)) {
    throw refusal(400, `relative_path ${where} contains a NUL byte (at byte ${pathBytes.indexOf(0)}); `
      + 'no file name can');
  }
  const parts = [];
  let start = 0;
  for (let i = 0; i <= pathBytes.length; i += 1) {
    if (i === pathBytes.length || pathBytes[i] === 0x2f) {
      parts.push(pathBytes.subarray(start, i));
      start = i + 1;
    }
  }
  parts.forEach((part, index) => {
    const which = `segment ${index + 1} of ${parts.length}`;
    if (!part.length) {
      throw refusal(400, `relative_path ${where} has an empty ${which}: a path is name/name/... `
        + "with no leading, trailing or doubled '/'");
    }
    const text = part.toString('latin1');
    if (text === '.' || text === '..') {
      throw refusal(400, `relative_path ${where} has '${text}' as ${which}: a path names its `
        + 'directories, it does not climb them');
    }
  });
  const key = [segment(robotBytes), ...parts.slice(0, -1).map(segment),
    lastSegment(parts[parts.length - 1])].join('/');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw refusal(400, `relative_path ${where} makes an object key of ${Buffer.byteLength(key)} `
      + `bytes once escaped, over the ${MAX_KEY_BYTES} a key may have here (S3's 1,024 with the `
      + "sidecar's .meta/ and .json); shorten the file's name or directories");
  }
  return key;
}

/** Whether ``key`` is one objectKey makes under ``robotSegment``: a URL that decodes to
 * anything else (another robot's key, .meta/, a state object, '..') is not an upload of
 * this robot's. */
export function isKeyOf(key, robotSegment) {
  const parts = key.split('/');
  return parts.length >= 2 && parts[0] === robotSegment
    && parts.every((part) => CANONICAL_SEGMENT.test(part) && part !== '.' && part !== '..')
    && !STATE_SUFFIX.test(parts[parts.length - 1]);
}

/** The raw bytes of each Upload-Metadata value (tus's own parse decodes them as UTF-8,
 * which turns any other byte into U+FFFD); a malformed header is refused with 400. */
export function rawMetadata(header) {
  const values = new Map();
  if (!header) return values;
  for (const pair of header.split(',')) {
    const [name, value, extra] = pair.trim().split(' ');
    if (!name || extra !== undefined || values.has(name)
        || (value && !/^[A-Za-z0-9+/]*={0,2}$/.test(value))) {
      throw refusal(400, 'Upload-Metadata is malformed: it is "name base64value" pairs, '
        + 'comma-separated, each name once');
    }
    values.set(name, Buffer.from(value ?? '', 'base64'));
  }
  return values;
}
