import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Producer } from 'kafkajs';
import { SerialSender } from './serial-sender.js';

/**
 * A producer whose requests take different times (later ones faster), recording how many are in flight: kafkajs can
 * let a faster later request overtake an earlier one, so the only safe number in flight is one.
 */
function fakeProducer(): { producer: Producer; written: string[]; maxInFlight: () => number } {
  const written: string[] = [];
  let inFlight = 0;
  let most = 0;
  let calls = 0;
  const producer = {
    sendBatch: async ({ topicMessages }: { topicMessages: { messages: { value: Buffer | null }[] }[] }) => {
      inFlight++;
      most = Math.max(most, inFlight);
      const delay = Math.max(1, 20 - 5 * calls++);
      await new Promise((r) => setTimeout(r, delay));
      for (const t of topicMessages) for (const m of t.messages) written.push(String(m.value));
      inFlight--;
      return [];
    },
  } as unknown as Producer;
  return { producer, written, maxInFlight: () => most };
}

test('one batch in flight at a time: the topic gets messages in send order, acks come in order', async () => {
  const { producer, written, maxInFlight } = fakeProducer();
  const sender = new SerialSender(producer, { batchMessages: 3, compression: 'none' });
  const acked: number[] = [];
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 20; i++) {
    await sender.send({ topic: 't', key: null, value: Buffer.from(String(i)) }, () => acked.push(i));
    if (i % 4 === 0) sends.push(sender.flush());
  }
  await Promise.all(sends);
  await sender.flush();
  assert.equal(maxInFlight(), 1);
  assert.deepEqual(written, Array.from({ length: 20 }, (_, i) => String(i)));
  assert.deepEqual(acked, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(sender.stats.acked, 20);
});
