import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { JOB, perTableJobOptions } from '../../src/compactor/queues.js';
import { redisConnections, uniqueName } from './helpers.js';

test('a BullMQ job makes a round trip over ioredis: queued, processed by a worker, result returned', async () => {
  const { connect: connection, closeAll } = redisConnections();
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
    await closeAll();
  }
});

test('per-table jobs are deduplicated: three requests for a waiting table make one job; one more waits while it runs', async () => {
  const { connect: connection, closeAll } = redisConnections();
  const name = uniqueName('dedup-queue');
  const queue = new Queue(name, { connection: connection() });
  try {
    for (let i = 0; i < 3; i++) await queue.add(JOB.refreshViews, { table: 'shop.orders', i }, perTableJobOptions('shop.orders'));
    await queue.add(JOB.refreshViews, { table: 'shop.items' }, perTableJobOptions('shop.items'));
    assert.equal(await queue.getWaitingCount(), 2, 'one job per table');
    let release: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (release = resolve));
    const seen: unknown[] = [];
    let started: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (started = resolve));
    const worker = new Worker(name, async (job) => {
      seen.push(job.data);
      if (seen.length === 1) {
        started();
        await running;
      }
    }, { connection: connection(), concurrency: 1 });
    await first;
    // While shop.orders runs, two more requests: exactly one more job, carrying the latest data.
    await queue.add(JOB.refreshViews, { table: 'shop.orders', i: 10 }, perTableJobOptions('shop.orders'));
    await queue.add(JOB.refreshViews, { table: 'shop.orders', i: 11 }, perTableJobOptions('shop.orders'));
    release();
    const deadline = Date.now() + 20_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    await worker.close();
    assert.deepEqual(seen, [{ table: 'shop.orders', i: 0 }, { table: 'shop.items' }, { table: 'shop.orders', i: 11 }]);
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
    await closeAll();
  }
});
