// KafkaSender's ordering rules. The producer here is a stand-in with adversarial timing (later requests finish first),
// the one thing a real broker cannot be made to do on demand; tests/integration run the sender against real Kafka.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Producer } from 'kafkajs';
import { KafkaSender } from './sender.js';

function racingProducer(failOnCall?: number): { producer: Producer; written: string[]; mostInFlight: () => number } {
  const written: string[] = [];
  let inFlight = 0;
  let most = 0;
  let calls = 0;
  const producer = {
    sendBatch: async ({ topicMessages }: { topicMessages: { messages: { value: Buffer | null }[] }[] }) => {
      const call = calls++;
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, 15 - 4 * call)));
      inFlight--;
      if (call === failOnCall) throw new Error('broker went away');
      for (const t of topicMessages) for (const m of t.messages) written.push(String(m.value));
      return [];
    },
  } as unknown as Producer;
  return { producer, written, mostInFlight: () => most };
}

test('one batch in flight: messages reach the topic in send order and acks are reported in order', async () => {
  const { producer, written, mostInFlight } = racingProducer();
  const sender = new KafkaSender(producer, { batchMessages: 3, compression: 'none' });
  const acked: number[] = [];
  const flushes: Promise<void>[] = [];
  for (let i = 0; i < 20; i++) {
    const wait = sender.send({ topic: 't', key: null, value: Buffer.from(String(i)) }, () => acked.push(i));
    // Flushes nobody waits for (as after each Postgres commit) race with sends that fill a batch.
    if (i % 4 === 1) flushes.push(sender.flush());
    if (wait) await wait;
  }
  await Promise.all(flushes);
  let flushedAfter = -1;
  sender.onAcked(() => (flushedAfter = acked.length));
  await sender.flush();
  assert.equal(mostInFlight(), 1);
  assert.deepEqual(written, Array.from({ length: 20 }, (_, i) => String(i)));
  assert.deepEqual(acked, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(flushedAfter, 20, 'onAcked after the last send runs once everything before it is acknowledged');
  assert.equal(sender.stats.acked, 20);
});

test('after a failed batch nothing later counts as acknowledged, and the next call throws', async () => {
  const { producer } = racingProducer(1);
  const sender = new KafkaSender(producer, { batchMessages: 2, compression: 'none' });
  const acked: number[] = [];
  await assert.rejects(async () => {
    for (let i = 0; i < 10; i++) {
      const wait = sender.send({ topic: 't', key: null, value: Buffer.from(String(i)) }, () => acked.push(i));
      if (wait) await wait;
    }
    await sender.flush();
  }, /Kafka did not acknowledge a batch: broker went away/);
  assert.deepEqual(acked, [0, 1], 'only the batch before the failure');
});
