// Reads a topic from its beginning up to the end it has when the call starts (its high watermarks), then stops: for
// state topics (the CSV file ledger, CDC state), dead-letter inspection and tests. Uses a throw-away consumer group
// that never commits offsets and is deleted afterwards.
// Must never: wait for messages produced after the call started (it would never return on a busy topic).
import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { DuckHouseError } from '../../shared/errors.js';

export interface TopicMessage {
  partition: number;
  message: KafkaMessage;
}

export interface ReadToEndOptions {
  /** Give up with a retriable error when the end is not reached within this time (default 30 s). */
  timeoutMs?: number;
}

/** Calls `onMessage` for every message of `topic` present when the call starts, partition by partition in order. */
export async function readToEnd(kafka: Kafka, topic: string, onMessage: (m: TopicMessage) => void | Promise<void>, options: ReadToEndOptions = {}): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const admin = kafka.admin();
  await admin.connect();
  let ends: { partition: number; high: string; low: string }[];
  try {
    ends = (await admin.fetchTopicOffsets(topic)).map((o) => ({ partition: o.partition, high: o.high, low: o.low }));
  } finally {
    await admin.disconnect();
  }
  const remaining = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high) - 1n]));
  if (remaining.size === 0) return 0;
  let count = 0;
  const groupId = `duckhouse-reader-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DuckHouseError('io', `reading topic ${topic}: did not reach its end within ${timeoutMs} ms`, { retriable: true })), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const last = remaining.get(partition);
            if (last === undefined || BigInt(message.offset) > last) return;
            count++;
            await onMessage({ partition, message });
            if (BigInt(message.offset) >= last) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const cleanup = kafka.admin();
    await cleanup
      .connect()
      .then(() => cleanup.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => cleanup.disconnect());
  }
  return count;
}

/** Every message of `topic` present when the call starts. */
export async function readAll(kafka: Kafka, topic: string): Promise<TopicMessage[]> {
  const messages: TopicMessage[] = [];
  await readToEnd(kafka, topic, (m) => void messages.push(m));
  return messages;
}
