// Small Postgres helpers shared by the SQL catalog and the tenant store: a transaction on one pooled client, and work
// serialised across processes by an advisory lock (creating tables at first start).
// Must never: leave a client checked out, or a transaction open, after an error.
import type pg from 'pg';

/** Runs `work` inside BEGIN … COMMIT on one client; ROLLBACK and rethrow on any error. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Runs `work` holding the session advisory lock named `name` (other processes asking for it wait). */
export async function withAdvisoryLock<T>(pool: pg.Pool, name: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
    return await work(client);
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => undefined);
    client.release();
  }
}
