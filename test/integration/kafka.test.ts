import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafka, createProducer } from '../../src/producers/kafka/client.js';
import { endpoints, uniqueName } from './helpers.js';

test('kafkajs produces to a fresh topic and a consumer group reads every record back in order', async () => {
  const kafka = createKafka({ brokers: endpoints().kafka.brokers, quiet: true });
  const topic = uniqueName('smoke-kafka');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });

  const producer = createProducer(kafka);
  await producer.connect();
  const sent = Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` }));
  await producer.send({ topic, messages: sent, acks: -1 });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: uniqueName('smoke-group') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: { key: string; value: string; partition: number }[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${sent.length} records within 30s`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        received.push({ key: String(message.key), value: String(message.value), partition });
        if (received.length === sent.length) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();

  assert.deepEqual(received.map((r) => r.value).sort(), sent.map((s) => s.value).sort());
  // Same key → same partition, and per key the order of sending is kept.
  for (const key of new Set(sent.map((s) => s.key))) {
    const forKey = received.filter((r) => r.key === key);
    assert.equal(new Set(forKey.map((r) => r.partition)).size, 1, `key ${key} spread over partitions`);
    assert.deepEqual(forKey.map((r) => r.value), sent.filter((s) => s.key === key).map((s) => s.value));
  }
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
});
