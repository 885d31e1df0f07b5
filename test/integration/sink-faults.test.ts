// Exactly once under faults, against the real stack: the sink killed with SIGKILL at random points of a 200k-record
// ingest and restarted each time, a broker restart mid-stream, and two sink processes sharing one group (one of them
// leaving mid-stream). Each time the table must hold every record exactly once (count, distinct ids, a checksum).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { tableProgress } from '../../src/consumers/offsets.js';
import { produceCsv } from '../../src/producers/csv/csv-producer.js';
import { prepareCsvInput } from '../../src/producers/csv/row-encoder.js';
import { type SchemaRegistry } from '../../src/schemas/registry.js';
import { loadStackConfig, PROJECT_ROOT } from '../../src/stack/config.js';
import { stackRestart } from '../../src/stack/stack.js';
import type { CatalogFixture } from './catalog-fixtures.js';
import { uniqueName } from './helpers.js';
import { closeSinkTestContext, openSinkTestContext, readTable, startTestSink, waitCaughtUp } from './sink-fixtures.js';

let kafka: Kafka;
let registry: SchemaRegistry;
let fixture: CatalogFixture;
let dir: string;

before(async () => {
  ({ kafka, registry, fixture, dir } = await openSinkTestContext('duckhouse-sink-faults-'));
});

after(() => closeSinkTestContext({ kafka, registry, fixture, dir }));

/** Sends rows [from, to) of `id,name,amount` to `<prefix>.faults.<table>` (append-only: a duplicate would show). */
async function produceRange(prefix: string, table: string, from: number, to: number): Promise<string> {
  const file = path.join(dir, `${prefix}-${table}-${from}.csv`);
  const lines = ['id,name,amount'];
  for (let i = from; i < to; i++) lines.push(`${i},row ${i},${i % 1000}.${String(i % 100).padStart(2, '0')}`);
  await writeFile(file, `${lines.join('\n')}\n`);
  const result = await produceCsv(kafka, registry, { input: await prepareCsvInput(file), namespace: 'faults', table, topicPrefix: prefix, partitions: 4, schemaFile: await schemaFile() });
  assert.equal(result.sent, to - from);
  return result.topic;
}

let schemaPath: string | undefined;
async function schemaFile(): Promise<string> {
  schemaPath ??= path.join(dir, 'schema.json');
  await writeFile(schemaPath, JSON.stringify({ columns: [{ name: 'id', type: 'long', required: true }, { name: 'name', type: 'string' }, { name: 'amount', type: 'decimal(9,2)' }] }));
  return schemaPath;
}

/** Every id in [0, n) exactly once, with its own name: count, distinct ids, sum of ids and every row checked. */
async function assertExactlyOnce(table: string, n: number): Promise<void> {
  const rows = await readTable(fixture.catalog, { namespace: ['faults'], name: table });
  const ids = rows.map((r) => Number(r.id));
  assert.equal(rows.length, n, `expected ${n} rows, found ${rows.length} (${rows.length - new Set(ids).size} duplicates)`);
  assert.equal(new Set(ids).size, n, 'every id once');
  assert.equal(ids.reduce((a, b) => a + b, 0), (n * (n - 1)) / 2, 'checksum of ids');
  const wrong = rows.filter((r) => r.name !== `row ${Number(r.id)}`);
  assert.equal(wrong.length, 0, `rows with another row's values: ${JSON.stringify(wrong.slice(0, 3), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
}

interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  /** Whether the child printed `text` (anywhere in its output so far). */
  readonly printed: (text: string) => boolean;
  readonly exited: Promise<number | null>;
}

function spawnSink(prefix: string, topic: string, group: string, flushRows = 7000, logLevel = 'warn'): Child {
  const args = [
    '--import', 'tsx', path.join(PROJECT_ROOT, 'test/integration/sink-child.ts'), 'sink',
    '--topics', topic, '--prefix', prefix, '--group', group,
    '--catalog', 'sql', '--catalog-name', fixture.pyiceberg.catalog!, '--warehouse', fixture.warehouse,
    '--flush-interval', '300ms', '--flush-rows', String(flushRows), '--session-timeout', '6s', '--no-commit-events',
    '--dlq-table', `${prefix.replaceAll('-', '_')}.dead_letters`,
  ];
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...process.env, DUCKHOUSE_LOG_LEVEL: logLevel }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => void (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, output: () => output.slice(-4000), printed: (text) => output.includes(text), exited };
}

/** Waits until a child says it is consuming (its signal handlers are in place). */
async function running(child: Child): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!child.printed('sink running:')) {
    if (Date.now() > deadline) throw new Error(`the sink did not start: ${child.output()}`);
    await sleep(100);
  }
}

/** Committed offsets summed over partitions (how far the table is). */
async function progressOf(table: string): Promise<bigint> {
  const id = { namespace: ['faults'], name: table };
  if (!(await fixture.catalog.tableExists(id))) return 0n;
  return [...tableProgress((await fixture.catalog.loadTable(id)).metadata).offsets.values()].reduce((a, b) => a + b, 0n);
}

test('kill -9 at 10+ random points of a 200k-record ingest: every record exactly once', async () => {
  const prefix = uniqueName('skf');
  const n = 200_000;
  // The records arrive over time (20 files of 10k, a pause between them) while sinks are started and killed.
  const topic = await produceRange(prefix, 'killed', 0, 10_000);
  const producing = (async () => {
    for (let from = 10_000; from < n; from += 10_000) {
      await sleep(2500);
      await produceRange(prefix, 'killed', from, from + 10_000);
    }
  })();
  const group = uniqueName('g');
  let seed = 42;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let kills = 0;
  const seen: bigint[] = [];
  while (kills < 10) {
    // Small batches: the ingest spans many commits, so the kills land before, between and during them.
    const child = spawnSink(prefix, topic, group, 2000);
    await running(child);
    await sleep(1000 + random() * 6000);
    child.process.kill('SIGKILL');
    await child.exited;
    kills++;
    seen.push(await progressOf('killed'));
    if (kills > 25) throw new Error(`no progress after ${kills} kills: ${child.output()}`);
  }
  await producing;
  const last = spawnSink(prefix, topic, group);
  try {
    await waitCaughtUp(kafka, fixture.catalog, { namespace: ['faults'], name: 'killed' }, topic, 120_000);
  } catch (error) {
    last.process.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${last.output()}`);
  }
  await running(last);
  last.process.kill('SIGTERM');
  assert.equal(await last.exited, 0, last.output());
  const midway = seen.filter((p) => p > 0n && p < BigInt(n)).length;
  assert.ok(midway >= 5, `at least 5 kills landed mid-ingest, found ${midway} (progress at each kill: ${seen.join(', ')})`);
  await assertExactlyOnce('killed', n);
});

test('two sink processes sharing one group, one leaving mid-stream: every record exactly once', async () => {
  const prefix = uniqueName('skf');
  const group = uniqueName('g');
  const topic = await produceRange(prefix, 'shared', 0, 60_000);
  // Info logs: each process says when it committed, so `a` leaves only once it has taken part.
  const a = spawnSink(prefix, topic, group, 7000, 'info');
  const b = spawnSink(prefix, topic, group, 7000, 'info');
  try {
    const deadline = Date.now() + 60_000;
    while (((await progressOf('shared')) < 20_000n || !a.printed('"msg":"committed"')) && Date.now() < deadline) await sleep(200);
    await produceRange(prefix, 'shared', 60_000, 100_000);
    await running(a);
    a.process.kill('SIGTERM'); // a rebalance hands its partitions to b
    assert.equal(await a.exited, 0, a.output());
    await produceRange(prefix, 'shared', 100_000, 120_000);
    await waitCaughtUp(kafka, fixture.catalog, { namespace: ['faults'], name: 'shared' }, topic, 120_000);
    await running(b);
  } finally {
    b.process.kill('SIGTERM');
    a.process.kill('SIGKILL');
  }
  assert.equal(await b.exited, 0, b.output());
  const stats = [a.output(), b.output()].map((o) => JSON.parse(/sink stopped: (.*)/.exec(o)?.[1] ?? '{}') as { commits?: number });
  assert.ok(stats.every((s) => (s.commits ?? 0) > 0), `both sinks committed: ${JSON.stringify(stats)}`);
  await assertExactlyOnce('shared', 120_000);
});

test('a broker restart mid-stream: every record exactly once', async () => {
  const prefix = uniqueName('skf');
  const topic = await produceRange(prefix, 'restarted', 0, 60_000);
  const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic], flush: { intervalMs: 300, rows: 7000 }, sessionTimeoutMs: 6000 });
  try {
    const deadline = Date.now() + 60_000;
    while ((await progressOf('restarted')) < 10_000n && Date.now() < deadline) await sleep(100);
    await stackRestart(loadStackConfig(), () => undefined, 'kafka');
    await produceRange(prefix, 'restarted', 60_000, 90_000);
    await waitCaughtUp(kafka, fixture.catalog, { namespace: ['faults'], name: 'restarted' }, topic, 180_000);
  } finally {
    await sink.stop();
  }
  await assertExactlyOnce('restarted', 90_000);
});
