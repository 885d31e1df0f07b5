// CSV → Kafka benchmark (issue 4): rows/s of `produceCsv` for a generated N-row, 10-column file against raw kafkajs
// sending the very same pre-encoded messages (read back from the topic) with the same producer settings, in one run;
// and, with --memory, the peak RSS of the `duckhouse produce csv` process for a large file.
//   node --import tsx bench/csv-producer.ts [--rows 1000000] [--compression gzip|snappy|none] [--repeat 3] [--out f.json]
//   node --import tsx bench/csv-producer.ts --memory [--gigabytes 2]
// Needs the stack (`duckhouse stack up`). Must never: decide pass/fail; it prints numbers and ratios.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Message } from 'kafkajs';
import { produceCsv } from '../src/producers/csv/csv-producer.js';
import { prepareCsvInput } from '../src/producers/csv/row-encoder.js';
import { createKafka, createProducer, ensureTopic } from '../src/producers/kafka/client.js';
import { readAll } from '../src/producers/kafka/read-to-end.js';
import { type Compression, KafkaSender } from '../src/producers/kafka/sender.js';
import { createRegistry } from '../src/schemas/registry.js';
import { PROJECT_ROOT, readEndpoints } from '../src/stack/config.js';
import { median, printTable, processMemory, timer } from './measure.js';
import { writeSection } from './report.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    compression: { type: 'string', default: 'gzip' },
    memory: { type: 'boolean', default: false },
    gigabytes: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});

const STATUSES = ['new', 'paid', 'shipped', 'delivered', 'returned'];

/** Writes `rows` CSV rows of 10 columns (long, int, double, string, boolean, date, timestamptz, decimal, string, long). */
async function generateCsv(file: string, rows: number | undefined, bytes?: number): Promise<number> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  out.write('id,qty,price,email,flag,day,ts,amount,status,seq\n');
  const base = Date.UTC(2024, 0, 1);
  let written = 0;
  let i = 0;
  while (rows === undefined ? written < bytes! : i < rows) {
    const lines: string[] = [];
    for (let j = 0; j < 10_000 && (rows === undefined || i < rows); j++, i++) {
      const ts = new Date(base + i * 1000).toISOString();
      lines.push(`${i},${i % 1000},${(i * 0.37).toFixed(3)},user${i % 50_000}@example.com,${i % 3 === 0},${ts.slice(0, 10)},${ts},${(i % 100_000) / 100},${STATUSES[i % 5]},${i * 7}`);
    }
    const chunk = `${lines.join('\n')}\n`;
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    out.end(resolve);
  });
  return i;
}

async function throughput(): Promise<void> {
  const rows = Number(args.rows);
  const compression = args.compression as Compression;
  const endpoints = readEndpoints();
  const kafka = createKafka({ brokers: endpoints.kafka.brokers, quiet: true });
  const registry = createRegistry({ url: endpoints.schemaRegistry.url });
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-bench-csv-'));
  try {
    const file = path.join(dir, 'bench.csv');
    await generateCsv(file, rows);
    const input = await prepareCsvInput(file);
    console.log(`CSV → Kafka: ${rows.toLocaleString('en-US')} rows × 10 columns, ${(input.bytes / 1048576).toFixed(0)} MB, compression ${compression}, 4 partitions`);
    const prefix = `bench${Date.now().toString(36)}`;
    const ours: number[] = [];
    const raw: number[] = [];
    let messages: Message[] = [];
    const runOurs = async (n: number): Promise<void> => {
      const t = timer();
      const result = await produceCsv(kafka, registry, { input, namespace: 'bench', table: `csv${n}`, keyColumns: ['id'], topicPrefix: prefix, partitions: 4, compression, force: true });
      const { wall, cpu } = t();
      ours.push(result.sent / wall);
      console.log(`  duckhouse produce csv #${n}: ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU, ${Math.round(result.sent / wall).toLocaleString('en-US')} rows/s`);
      if (messages.length === 0) messages = (await readAll(kafka, result.topic)).map(({ message }) => ({ key: message.key, value: message.value }));
    };
    const runRaw = async (n: number): Promise<void> => {
      const topic = `${prefix}.raw${n}`;
      await ensureTopic(kafka, topic, { partitions: 4 });
      const producer = createProducer(kafka);
      await producer.connect();
      const sender = new KafkaSender(producer, { compression });
      const t = timer();
      for (const m of messages) await sender.send({ topic, key: m.key as Buffer, value: m.value as Buffer });
      await sender.flush();
      const { wall, cpu } = t();
      await producer.disconnect();
      raw.push(messages.length / wall);
      console.log(`  raw kafkajs, pre-encoded #${n}: ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU, ${Math.round(messages.length / wall).toLocaleString('en-US')} rows/s`);
    };
    // Alternating, so both routes see the same machine load.
    const repeat = Math.max(1, Number(args.repeat));
    for (let n = 1; n <= repeat; n++) {
      await runOurs(n);
      await runRaw(n);
    }
    printTable(['route', 'rows/s (median)', 'ratio'], [
      ['raw kafkajs (same messages, same settings)', Math.round(median(raw)).toLocaleString('en-US'), '1.00'],
      ['duckhouse produce csv', Math.round(median(ours)).toLocaleString('en-US'), (median(ours) / median(raw)).toFixed(2)],
    ]);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(prefix)) });
    await admin.disconnect();
    await writeSection(args.out, {
      section: 'csv-producer',
      title: 'CSV → Kafka producer',
      options: { rows, columns: 10, partitions: 4, compression, repeat, fileMegabytes: Math.round(input.bytes / 1048576) },
      figures: [{
        id: 'csv.rows_per_s',
        title: `CSV producer throughput (${rows.toLocaleString('en-US')} rows × 10 columns, ${compression})`,
        unit: 'rows/s',
        better: 'higher',
        subject: { label: 'duckhouse produce csv: parse, infer/validate, Avro-encode, send', runs: ours },
        baseline: { label: 'raw kafkajs producing the same pre-encoded messages, same settings', runs: raw },
      }],
      contentOk: messages.length === rows,
      notes: ['CSV: the baseline sends the very messages the first DuckHouse run produced (read back from its topic), so only parsing, validation and encoding separate the two.'],
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Peak RSS of a `duckhouse produce csv` child process for a large generated file (VmHWM from /proc). */
async function memory(): Promise<void> {
  const gigabytes = Number(args.gigabytes);
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-bench-csv-'));
  try {
    const file = path.join(dir, 'big.csv');
    const rows = await generateCsv(file, undefined, gigabytes * 1024 ** 3);
    const size = (await stat(file)).size;
    console.log(`memory: ${rows.toLocaleString('en-US')} rows, ${(size / 1024 ** 3).toFixed(2)} GB`);
    const prefix = `benchmem${Date.now().toString(36)}`;
    // The compiled CLI, as users run it (`npm install` builds dist/; tsx would add its own memory).
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'duckhouse.js'), 'produce', 'csv', file, '--table', 'bench.big', '--key', 'id', '--prefix', prefix, '--quiet'], { stdio: ['ignore', 'inherit', 'inherit'] });
    let peak = 0;
    const poll = setInterval(() => {
      peak = Math.max(peak, processMemory(child.pid!)?.peak ?? 0);
    }, 200);
    const t = timer();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearInterval(poll);
    const { wall } = t();
    console.log(`  exit ${code}, ${wall.toFixed(0)} s, ${Math.round(rows / wall).toLocaleString('en-US')} rows/s, peak RSS ${(peak / 1048576).toFixed(0)} MB (${((peak / size) * 100).toFixed(1)}% of the file size)`);
    const kafka = createKafka({ brokers: readEndpoints().kafka.brokers, quiet: true });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: (await admin.listTopics()).filter((topic) => topic.startsWith(prefix)) });
    await admin.disconnect();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await (args.memory ? memory() : throughput());
