// Reads a topic from its beginning up to the end it has when the call starts (its high watermarks), then stops: for
// state topics (the CSV file ledger, CDC state), dead-letter inspection and tests. Uses a throw-away consumer group
// that never commits offsets.
// Must never: wait for messages produced after the call started (it would never return on a busy topic).
import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

export interface TopicMessage {
  partition: number;
  message: KafkaMessage;
}

/** Calls `onMessage` for every message of `topic` present when the call starts, partition by partition in order. */
export async function readToEnd(kafka: Kafka, topic: string, onMessage: (m: TopicMessage) => void | Promise<void>): Promise<number> {
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
  const consumer = kafka.consumer({ groupId: `duckhouse-reader-${randomBytes(6).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const last = remaining.get(partition);
            if (last === undefined || BigInt(message.offset) > last) return;
            count++;
            await onMessage({ partition, message });
            if (BigInt(message.offset) >= last) remaining.delete(partition);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return count;
}

/** Every message of `topic` present when the call starts. */
export async function readAll(kafka: Kafka, topic: string): Promise<TopicMessage[]> {
  const messages: TopicMessage[] = [];
  await readToEnd(kafka, topic, (m) => void messages.push(m));
  return messages;
}
