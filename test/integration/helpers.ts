// Shared by the integration tests: the running stack's endpoints (stack.json) and random names, so runs never collide.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { openDuckDB } from '../../src/shared/duckdb.js';
import { connectRedis } from '../../src/shared/redis.js';
import { type StackEndpoints, readEndpoints } from '../../src/stack/config.js';

export function endpoints(): StackEndpoints {
  return readEndpoints();
}

/** A name unique to this test run: `<prefix>-<random hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** Redis connections to the stack for BullMQ (which leaves connections it was given open): `closeAll` quits them. */
export function redisConnections(): { connect: () => Redis; closeAll: () => Promise<void> } {
  const opened: Redis[] = [];
  return {
    connect: () => {
      const client = connectRedis(endpoints().redis);
      opened.push(client);
      return client;
    },
    closeAll: async () => {
      await Promise.all(opened.splice(0).map((c) => c.quit().catch(() => undefined)));
    },
  };
}

/** Rows of one query on a DuckDB file (opened and closed around it), as JS values. */
export async function queryDuckDBFile(file: string, sql: string): Promise<Record<string, unknown>[]> {
  const { instance, connection } = await openDuckDB(file);
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
