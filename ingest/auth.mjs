// Who is asking: the bearer token's SHA-256 looked up in fleet_credentials on every request,
// so a revoked or rotated token stops working at once, on every instance.
import crypto from 'node:crypto';

import { refusal } from './keys.mjs';

export class Credentials {
  constructor(pool) {
    this.pool = pool;
  }

  /** {role: 'robot'|'operator', subject: Buffer} for a live token; refusals otherwise. */
  async identify(authorization) {
    const token = /^Bearer ([\x21-\x7e]+)$/.exec(authorization ?? '')?.[1];
    if (!token) {
      throw refusal(401, 'no credential: send "Authorization: Bearer <token>" (a robot\'s token '
        + 'from `data_manager_fleet robots add`, in its api_key_file)');
    }
    const hash = crypto.createHash('sha256').update(token).digest();
    let rows;
    try {
      ({ rows } = await this.pool.query('SELECT role, subject FROM fleet_credentials '
        + 'WHERE token_sha256 = $1 AND revoked_at IS NULL', [hash]));
    } catch (error) {
      console.error(`credentials: the database did not answer: ${error.message}`);
      throw refusal(503, 'the ingest cannot check credentials now (its database does not '
        + 'answer); try again');
    }
    if (!rows.length) {
      throw refusal(401, 'unknown or revoked token: ask the fleet operator for this robot\'s '
        + 'current token (`data_manager_fleet robots rotate <robot>`)');
    }
    return rows[0];
  }
}
