// The fleet database's schema, migrated forward at every start: each migrations/NNN_*.sql
// runs once, in order, in a transaction of its own, recorded in fleet_schema. Several
// instances starting together take turns on one advisory lock, so each file runs once.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const MIGRATION_LOCK = 7_301_964_001; // any constant the fleet's other advisory locks don't use

export async function migrate(pool) {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS fleet_schema (
      version integer PRIMARY KEY, name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query('SELECT version FROM fleet_schema')).rows
      .map((row) => row.version));
    const files = (await fs.readdir(MIGRATIONS)).filter((name) => /^\d+_.*\.sql$/.test(name)).sort();
    for (const name of files) {
      const version = Number.parseInt(name, 10);
      if (done.has(version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(await fs.readFile(path.join(MIGRATIONS, name), 'utf8'));
        await client.query('INSERT INTO fleet_schema (version, name) VALUES ($1, $2)', [version, name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${name} failed: ${error.message}`);
      }
      console.log(`schema: applied ${name}`);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
