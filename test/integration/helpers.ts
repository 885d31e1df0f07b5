// Shared by the integration tests: the running stack's endpoints (stack.json) and random names, so runs never collide.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
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
