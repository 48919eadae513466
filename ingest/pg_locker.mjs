// @tus/server's `locker` across instances: PostgreSQL session advisory locks
// (pg_try_advisory_lock) held on one connection per instance, so any number of ingests on
// one bucket never write one upload at once. Within an instance a map keeps requests apart
// (a session's advisory locks are re-entrant). As with tus's MemoryLocker, a request that
// wants a held upload asks the holder to let go (it ends, the client resumes from HEAD):
// in this instance directly, in another through NOTIFY. Past acquireLockTimeoutMs it is
// answered 423, which a tus client retries. If the connection drops, PostgreSQL has
// released every lock of its session, so every request holding one here is ended too.
import pg from 'pg';

import { refusal } from './keys.mjs';

const CHANNEL = 'tus_lock_release';
const RETRY_MS = 100;

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export class PgLocker {
  constructor(connectionString, { acquireLockTimeoutMs = 10_000 } = {}) {
    this.connectionString = connectionString;
    this.timeout = acquireLockTimeoutMs;
    this.held = new Map(); // upload id -> {requestRelease, session}
    this.client = null;
    this.session = 0; // counts connections: a lock is released only on the one it was taken on
    this.connecting = null;
  }

  async start() {
    await this.connection();
  }

  async connection() {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.connectionString });
      client.on('error', (error) => this.lost(client, error));
      client.on('end', () => this.lost(client, new Error('connection closed')));
      client.on('notification', ({ payload }) => this.held.get(payload)?.requestRelease?.());
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
      } catch (error) {
        client.end().catch(() => {});
        throw error;
      } finally {
        this.connecting = null;
      }
      this.session += 1;
      this.client = client;
      return client;
    })();
    return this.connecting;
  }

  lost(client, error) {
    if (this.client !== client) return;
    console.error(`locker: lost its database connection (${error.message}); ending the `
      + `${this.held.size} request(s) that held a lock`);
    this.client = null;
    for (const holder of this.held.values()) holder.requestRelease?.();
    this.held.clear();
  }

  async query(text, values) {
    try {
      return await (await this.connection()).query(text, values);
    } catch (error) {
      throw refusal(503, `the ingest cannot take upload locks now (its database: ${error.message}); `
        + 'try again');
    }
  }

  newLock(id) {
    return new PgLock(this, id);
  }
}

class PgLock {
  constructor(locker, id) {
    this.locker = locker;
    this.id = id;
  }

  async lock(stopSignal, requestRelease) {
    const { locker, id } = this;
    const deadline = Date.now() + locker.timeout;
    for (;;) {
      const holder = locker.held.get(id);
      if (holder) {
        await holder.requestRelease?.();
      } else {
        const mine = { requestRelease, session: locker.session };
        locker.held.set(id, mine); // this instance's other requests wait from here on
        let rows;
        try {
          ({ rows } = await locker.query(
            'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [id]));
        } catch (error) {
          if (locker.held.get(id) === mine) locker.held.delete(id);
          throw error;
        }
        if (rows[0].ok) {
          mine.session = locker.session;
          this.entry = mine;
          return;
        }
        if (locker.held.get(id) === mine) locker.held.delete(id);
        await locker.query('SELECT pg_notify($1, $2)', [CHANNEL, id]);
      }
      if (stopSignal?.aborted || Date.now() > deadline) {
        throw refusal(423, 'this upload is being written by another request (perhaps through '
          + 'another ingest instance); ask its offset again (HEAD) and resume');
      }
      await sleep(RETRY_MS);
    }
  }

  async unlock() {
    const { locker, id } = this;
    const mine = this.entry;
    // gone from the map: the connection was lost and PostgreSQL released it already
    if (!mine || locker.held.get(id) !== mine) return;
    locker.held.delete(id);
    if (mine.session === locker.session && locker.client) {
      await locker.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [id])
        .catch((error) => console.error(`locker: unlock of ${id}: ${error.body ?? error.message}`));
    }
  }
}
