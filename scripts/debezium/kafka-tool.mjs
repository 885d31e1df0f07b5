// Kafka helper for scripts/debezium-fixtures.sh (a maintainer script, not run by CI):
//   reset <broker> <prefix>                           delete every topic whose name starts with <prefix> and wait
//   wait <broker> <topic>=<count> …                   wait until each topic holds at least <count> messages
//   capture <broker> <outDir> <prefix> <topic> …      read the topics from the beginning until each has shown a
//                                                     truncate (op "t"), write <outDir>/<table>.jsonl
// Lines keep Kafka's key and value text byte for byte (never re-serialized, so int64 digits survive).
// Must never: touch topics outside <prefix>, or leave its consumer group behind.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';

const TIMEOUT_MS = 180_000;
const [command, broker, ...rest] = process.argv.slice(2);
if (!command || !broker) fail('usage: kafka-tool.mjs reset|wait|capture <broker> …');
const kafka = new Kafka({ clientId: 'dbz-fixtures', brokers: [broker], logLevel: logLevel.NOTHING });

function fail(message) {
  console.error(`kafka-tool: ${message}`);
  process.exit(1);
}

async function withAdmin(fn) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

async function reset(prefix) {
  if (!prefix || prefix.length < 3) fail(`refusing to delete topics by the prefix ${JSON.stringify(prefix)}`);
  await withAdmin(async (admin) => {
    const doomed = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed, timeout: 30_000 });
    for (const deadline = Date.now() + TIMEOUT_MS; ; await sleep(500)) {
      const left = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (left.length === 0) break;
      if (Date.now() > deadline) fail(`topics still present after deletion: ${left.join(', ')}`);
    }
    console.log(`deleted ${doomed.length} topic(s) starting with ${prefix}`);
  });
}

async function messageCount(admin, topic) {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

async function wait(specs) {
  const wanted = specs.map((spec) => {
    const [topic, count] = spec.split('=');
    return { topic, count: Number(count) };
  });
  await withAdmin(async (admin) => {
    for (const deadline = Date.now() + TIMEOUT_MS; ; await sleep(1000)) {
      const topics = new Set(await admin.listTopics());
      const counts = await Promise.all(wanted.map(async (w) => (topics.has(w.topic) ? messageCount(admin, w.topic) : 0)));
      if (wanted.every((w, i) => counts[i] >= w.count)) return;
      if (Date.now() > deadline) fail(`timed out waiting for ${specs.join(', ')}; found ${counts.join(', ')}`);
    }
  });
}

/** The op of a message value in either JSON-converter form (null for tombstones). */
function opOf(valueText) {
  if (valueText === null) return null;
  const parsed = JSON.parse(valueText);
  return (parsed && typeof parsed === 'object' && 'payload' in parsed && 'schema' in parsed ? parsed.payload : parsed)?.op ?? null;
}

async function capture(outDir, prefix, topics) {
  if (topics.some((t) => !t.startsWith(prefix))) fail(`every topic must start with ${prefix}`);
  const groupId = `dbz-fixtures-${process.pid}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  const lines = new Map(topics.map((t) => [t, []]));
  const truncated = new Set();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let finishedAt = 0;
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const key = message.key === null ? null : message.key.toString('utf8');
        const value = message.value === null ? null : message.value.toString('utf8');
        for (const text of [key, value]) {
          if (text !== null) JSON.parse(text); // throws on anything that is not one JSON document
          if (text !== null && /[\r\n]/.test(text)) fail(`${topic} offset ${message.offset}: raw JSON spans lines`);
        }
        lines.get(topic).push(`{"topic":${JSON.stringify(topic)},"partition":${partition},"offset":${message.offset},"key":${key ?? 'null'},"value":${value ?? 'null'}}`);
        if (opOf(value) === 't') truncated.add(topic);
        if (truncated.size === topics.length && finishedAt === 0) finishedAt = Date.now();
      },
    });
    for (const deadline = Date.now() + TIMEOUT_MS; ; await sleep(500)) {
      // Two quiet seconds after the last truncate, so nothing emitted after it is missed.
      if (finishedAt > 0 && Date.now() - finishedAt > 2000) break;
      if (Date.now() > deadline) fail(`timed out: truncates seen on ${[...truncated].join(', ') || 'no topic'}`);
    }
  } finally {
    await consumer.disconnect();
    await withAdmin((admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
  mkdirSync(outDir, { recursive: true });
  for (const [topic, topicLines] of lines) {
    const table = topic.split('.').pop();
    writeFileSync(path.join(outDir, `${table}.jsonl`), `${topicLines.join('\n')}\n`);
    console.log(`${topic}: ${topicLines.length} message(s) → ${path.join(outDir, `${table}.jsonl`)}`);
  }
}

try {
  if (command === 'reset') await reset(rest[0]);
  else if (command === 'wait') await wait(rest);
  else if (command === 'capture') await capture(rest[0], rest[1], rest.slice(2));
  else fail(`unknown command ${command}`);
} catch (error) {
  fail(error instanceof Error ? error.stack ?? error.message : String(error));
}
