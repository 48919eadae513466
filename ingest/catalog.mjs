// The catalog's writes, in the step that describes a finished file: its row, and for the
// two files that say what a bag holds (rosbag2's metadata.yaml, the robot's record of what
// its disk policy dropped) the bag's row. The mapping from a sidecar to a row lives in the
// database (catalog_record_*), shared with `data_manager_fleet reindex`.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import YAML from 'yaml';

const METADATA = 'metadata.yaml';
const DROPPED = 'dropped_by_disk_policy.txt';
const SMALL = 4 * 1024 * 1024; // what a bag's own record may weigh; more is not one

export class Catalog {
  constructor(pool, s3, bucket) {
    this.pool = pool;
    this.s3 = s3;
    this.bucket = bucket;
  }

  async text(key, size) {
    if (size > SMALL) throw new Error(`${key} is ${size} bytes, not a bag's record`);
    const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Body.transformToString();
  }

  /** ``record``: the sidecar about to be written. Throws if the database refuses it: the
   * sidecar is written only after the row, so a robot's next HEAD tries again. */
  async recordFile(record) {
    await this.pool.query('SELECT catalog_record_file($1::jsonb)', [JSON.stringify(record)]);
    const [robot, bag, name, ...deeper] = record.key.split('/');
    if (deeper.length || !['bag', 'clip'].includes(record.metadata?.kind)) return;
    if (name === METADATA) {
      const info = YAML.parse(await this.text(record.key, record.size))
        ?.rosbag2_bagfile_information;
      if (info && typeof info === 'object') {
        await this.pool.query('SELECT catalog_record_bag($1, $2, $3::jsonb)',
          [robot, bag, JSON.stringify(info)]);
      }
    } else if (name === DROPPED) {
      const names = (await this.text(record.key, record.size)).split('\n').filter(Boolean);
      await this.pool.query('SELECT catalog_record_dropped($1, $2, $3)', [robot, bag, names]);
    }
  }
}
