import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { endpoints, uniqueName } from './helpers.js';

test('a BullMQ job makes a round trip over ioredis: queued, processed by a worker, result returned', async () => {
  const { redis } = endpoints();
  // BullMQ leaves connections it was given open: keep them to close at the end.
  const opened: Redis[] = [];
  const connection = (): Redis => {
    const client = new Redis({ host: redis.host, port: redis.port, password: redis.password, maxRetriesPerRequest: null });
    opened.push(client);
    return client;
  };
  const name = uniqueName('smoke-queue');
  const queue = new Queue(name, { connection: connection() });
  const events = new QueueEvents(name, { connection: connection() });
  const worker = new Worker(name, async (job) => ({ doubled: (job.data as { n: number }).n * 2, attempt: job.attemptsMade }), {
    connection: connection(),
  });
  try {
    await events.waitUntilReady();
    const job = await queue.add('double', { n: 21 });
    const result = (await job.waitUntilFinished(events, 30_000)) as { doubled: number };
    assert.equal(result.doubled, 42);
    assert.equal(await job.getState(), 'completed');
  } finally {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await Promise.all(opened.map((c) => c.quit()));
  }
});
