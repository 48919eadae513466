// @tus/s3-store's S3Store as any number of instances can share it, and as robots need it:
// - no in-memory copy of an upload's state (each instance's would go stale when another
//   writes, replaces or finishes the upload, or when the bucket loses it): every request
//   reads the `.info` again, one small GET;
// - an upload whose state says "all bytes in" but whose object is missing is completed when
//   its parts are all there (an instance died between the last part and the completion),
//   and otherwise forgotten and answered 404, so the robot starts the file again;
// - creating a key again (a robot that lost its journal, two instances creating at once:
//   both under the key's lock) first removes the earlier unfinished upload, so no stray
//   multipart upload or `.info` is left;
// - an empty file is a complete empty object as soon as it is created.
import { Readable } from 'node:stream';

import { S3Store } from '@tus/s3-store';
import { ERRORS } from '@tus/utils';

const NOT_FOUND = new Set(['NotFound', 'NoSuchKey', 'NoSuchUpload']);
const isNotFound = (error) => NOT_FOUND.has(error?.Code ?? error?.name)
  || error?.$metadata?.httpStatusCode === 404 || error === ERRORS.FILE_NOT_FOUND;

class NoCache {
  async get() { return undefined; }

  async set() {}

  async delete() {}

  async list() { return []; }
}

export class IngestStore extends S3Store {
  constructor(options, { metaPrefix }) {
    super({ ...options, cache: new NoCache() });
    this.metaPrefix = metaPrefix;
  }

  async create(upload) {
    await this.discardEarlier(upload.id);
    const created = await super.create(upload);
    if (upload.size === 0) await this.write(Readable.from([]), upload.id, 0);
    return created;
  }

  async getUpload(id) {
    const upload = await super.getUpload(id);
    if (upload.size === undefined || upload.offset !== upload.size || await this.exists(id)) {
      return upload;
    }
    try {
      const metadata = await this.getMetadata(id);
      await this.finishMultipartUpload(metadata, await this.retrieveParts(id));
      await this.completeMetadata(metadata.file);
      console.log(`${id}: completed the multipart upload an instance left whole`);
      return upload;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    console.warn(`${id}: the store no longer has this upload's bytes (bucket emptied or `
      + 'its parts expired); answered 404 so the robot sends the file again');
    await this.deleteObjects([`${id}.info`, `${id}.part`]);
    throw ERRORS.FILE_NOT_FOUND;
  }

  async exists(key) {
    try {
      await this.client.headObject({ Bucket: this.bucket, Key: key });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async discardEarlier(id) {
    let metadata;
    try {
      metadata = await this.getMetadata(id);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    try {
      await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: id,
        UploadId: metadata['upload-id'] });
    } catch (error) {
      if (!isNotFound(error)) throw error; // finished earlier: its object stays until replaced
    }
    // the object's sidecar describes an upload that is being replaced
    await this.deleteObjects([`${id}.info`, `${id}.part`, `${this.metaPrefix}${id}.json`]);
    console.log(`${id}: created again; the earlier upload of this key was removed`);
  }

  async deleteObjects(keys) {
    await this.client.deleteObjects({ Bucket: this.bucket,
      Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } });
  }
}
