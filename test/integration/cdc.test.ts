// Postgres CDC against the real stack: snapshot + 1,000 mixed changes compared with a model of what was executed, a
// kill -9 mid-stream and restart (at-least-once, exactly once after dropping duplicates by position), schema evolution
// with stable field ids, and the refusals. Random table/slot/publication/topic names per test; everything is dropped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import kafkajs from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';
import pg from 'pg';
import { createKafka } from '../../src/producers/kafka/client.js';
import { type CdcOptions, startCdc } from '../../src/producers/postgres-cdc/cdc.js';
import { comparePositions, type ChangeEvent, sourcePosition } from '../../src/schemas/envelope.js';
import { createRegistry, SchemaCache } from '../../src/schemas/registry.js';
import { createLogger } from '../../src/shared/logger.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';
import { endpoints } from './helpers.js';

const stack = endpoints();
const { postgres } = stack;
const sourceUrl = `postgres://${encodeURIComponent(postgres.user)}:${encodeURIComponent(postgres.password)}@${postgres.host}:${postgres.port}/${postgres.database}`;
const kafka = createKafka({ brokers: stack.kafka.brokers, quiet: true });
const cache = new SchemaCache(createRegistry({ url: stack.schemaRegistry.url }));
const quiet = createLogger('cdc-test', 'warn');
// The kill test's child sends snappy batches; a reading process needs the codec too.
kafkajs.CompressionCodecs[kafkajs.CompressionTypes.Snappy] = SnappyCodec as unknown as (typeof kafkajs.CompressionCodecs)[kafkajs.CompressionTypes.Snappy];

type Row = Record<string, unknown>;
/** What a test compares: op (or "tombstone"), key, before, after, unavailable columns, in plain JS values. */
interface Seen {
  op: string;
  key: unknown;
  before: unknown;
  after: unknown;
  missing: string[] | null;
}
interface Received extends Seen {
  topic: string;
  partition: number;
  offset: bigint;
  event: ChangeEvent | null;
  valueSchemaId: number | null;
  keySchemaId: number | null;
}

/** Decoded Avro → plain values (records → objects, Buffers → "hex:…"), so models and messages compare with deepEqual. */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return `hex:${value.toString('hex')}`;
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

const seen = (r: Seen): Seen => ({ op: r.op, key: r.key, before: r.before, after: r.after, missing: r.missing });

/** Consumes topics from the beginning into `messages` until stopped. */
async function reader(n: Names, topics: string[]): Promise<{ messages: Received[]; waitFor(what: string, done: (m: Received[]) => boolean): Promise<void>; untilEnd(): Promise<void> }> {
  const messages: Received[] = [];
  const consumer = kafka.consumer({ groupId: `cdc-test-${randomBytes(5).toString('hex')}`, maxWaitTimeInMs: 100 });
  let crash: Error | undefined;
  consumer.on(consumer.events.CRASH, (event) => (crash = event.payload.error));
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const key = message.key ? await cache.decode(message.key, topic) : null;
      const value = message.value ? await cache.decode(message.value, topic) : null;
      const event = (value?.value ?? null) as ChangeEvent | null;
      messages.push({
        topic,
        partition,
        offset: BigInt(message.offset),
        op: event ? event.op : 'tombstone',
        key: plain(key?.value),
        before: plain(event?.before),
        after: plain(event?.after),
        missing: event?.unavailable_columns ?? null,
        event,
        valueSchemaId: value?.schema.id ?? null,
        keySchemaId: key?.schema.id ?? null,
      });
    },
  });
  n.defer(() => consumer.disconnect());
  const waitFor = async (what: string, done: (m: Received[]) => boolean): Promise<void> => {
    const deadline = Date.now() + 45_000;
    while (!done(messages)) {
      if (crash) throw crash;
      if (Date.now() > deadline) throw new Error(`waited 45 s for ${what}; have ${messages.length} messages`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const untilEnd = async (): Promise<void> => {
    const admin = kafka.admin();
    await admin.connect();
    const ends = new Map<string, bigint>();
    for (const topic of topics) ends.set(topic, (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + BigInt(p.high), 0n));
    await admin.disconnect();
    await waitFor('the end of the topics', (m) => topics.every((topic) => BigInt(m.filter((x) => x.topic === topic).length) >= ends.get(topic)!));
  };
  return { messages, waitFor, untilEnd };
}

interface Names {
  name: string;
  prefix: string;
  slot: string;
  table: (n: string) => string;
  db: pg.Client;
  /** Runs `close` after the test, before anything is dropped (latest first): producers, consumers, children. */
  defer: (close: () => Promise<unknown> | unknown) => void;
}

/** Random names, and everything they name dropped after the test (after what was deferred is closed). */
function names(t: TestContext, tag: string): Names {
  const id = randomBytes(4).toString('hex');
  const name = `${tag}_${id}`;
  const prefix = `cdc-${tag}-${id}`;
  const tables: string[] = [];
  const closers: (() => Promise<unknown> | unknown)[] = [];
  const db = new pg.Client({ ...postgres });
  t.after(async () => {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
    const slot = `duckhouse_${name}`;
    await db.query('select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null', [slot]);
    for (let i = 0; i < 40; i++) {
      const active = await db.query('select 1 from pg_replication_slots where slot_name = $1 and active', [slot]);
      if (active.rowCount === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await db.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1', [slot]);
    await db.query(`drop publication if exists "${slot}"`);
    for (const table of tables) await db.query(`drop table if exists "${table}"`);
    await db.end();
    const admin = kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((x) => x.startsWith(`${prefix}.`));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });
  return { name, prefix, slot: `duckhouse_${name}`, table: (n) => (tables.push(`${n}_${id}`), `${n}_${id}`), db, defer: (close) => void closers.push(close) };
}

const cdcOptions = (n: { name: string; prefix: string }, tables: string[], extra: Partial<CdcOptions> = {}): CdcOptions => ({
  source: sourceUrl,
  tables,
  name: n.name,
  topicPrefix: n.prefix,
  brokers: stack.kafka.brokers,
  registryUrl: stack.schemaRegistry.url,
  logger: quiet,
  progressIntervalMs: 0,
  ...extra,
});

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed. */
function rng(seed: number): { next(): number; int(n: number): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}

const pad = (n: number | bigint, w: number): string => String(n).padStart(w, '0');

/** timestamptz text for UTC µs `micros` as seen from a zone `offsetMinutes` east of UTC. */
function timestamptzText(micros: bigint, offsetMinutes: number): string {
  const local = micros + BigInt(offsetMinutes) * 60_000_000n;
  const d = new Date(Number(local / 1000n));
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(local % 1_000_000n, 6)}${sign}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
}

/** Table A (REPLICA IDENTITY DEFAULT, many types) and B (composite key, REPLICA IDENTITY FULL): SQL and model rows. */
function workload(seed: number) {
  const random = rng(seed);
  const big = (): string => Array.from({ length: 3000 }, () => String.fromCharCode(97 + random.int(26))).join('');
  const maybe = <T>(value: () => T): T | null => (random.next() < 0.15 ? null : value());
  const rowA = (id: number): { params: unknown[]; row: Row } => {
    const cents = maybe(() => BigInt(random.int(2_000_000) - 1_000_000));
    const at = maybe(() => BigInt(631_152_000 + random.int(1_262_304_000)) * 1_000_000n + BigInt(random.int(1_000_000)));
    const offset = [0, 330, -180, 585, -660][random.int(5)]!;
    const doc = maybe(() => `{"n": ${random.int(100)}, "s": "w${random.int(1000)}"}`);
    const uid = maybe(() => randomUUID());
    const tags = maybe(() => Array.from({ length: random.int(4) }, () => (random.next() < 0.2 ? null : random.int(2000) - 1000)));
    const blob = maybe(() => randomBytes(random.int(8)));
    const bigText = random.next() < 0.15 ? big() : null;
    const amountText = cents === null ? null : `${cents < 0n ? '-' : ''}${(cents < 0n ? -cents : cents) / 100n}.${pad((cents < 0n ? -cents : cents) % 100n, 2)}`;
    return {
      params: [id, `name-${random.int(1e6)}`, amountText, at === null ? null : timestamptzText(at, offset), doc, uid, tags === null ? null : `{${tags.map((x) => (x === null ? 'NULL' : x)).join(',')}}`, blob === null ? null : `\\x${blob.toString('hex')}`, bigText],
      row: { id, name: '', amount: cents, at, doc, uid, tags, blob: blob === null ? null : `hex:${blob.toString('hex')}`, big: bigText },
    };
  };
  return { random, big, rowA };
}

test('snapshot + 1,000 mixed changes on 2 tables leave exactly the modelled envelopes, in LSN order', async (t) => {
  const n = names(t, 'mix');
  await n.db.connect();
  const A = n.table('a');
  const B = n.table('b');
  await n.db.query(`create table "${A}" (id int primary key, name text not null, amount numeric(12,2), at timestamptz, doc jsonb, uid uuid, tags int[], blob bytea, big text)`);
  await n.db.query(`alter table "${A}" alter column big set storage external`);
  await n.db.query(`create table "${B}" (k1 text, k2 int, val bigint, note text, big text, primary key (k1, k2))`);
  await n.db.query(`alter table "${B}" alter column big set storage external, replica identity full`);
  const { random, big, rowA } = workload(20240601);
  const modelA = new Map<number, Row>();
  const modelB = new Map<string, Row>();
  const expectA: Seen[] = [];
  const expectB: Seen[] = [];
  const insertA = `insert into "${A}" values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
  let nextA = 1;
  let nextB = 1;
  const addA = async (record = true): Promise<Row> => {
    const { params, row } = rowA(nextA++);
    row.name = params[1];
    await n.db.query(insertA, params);
    if (record) modelA.set(row.id as number, row);
    return row;
  };
  const addB = async (record = true): Promise<Row> => {
    const row: Row = { k1: `k${random.int(3)}`, k2: nextB++, val: BigInt(random.int(1e9)) * 1000n, note: random.next() < 0.2 ? null : `n${random.int(100)}`, big: random.next() < 0.2 ? big() : null };
    await n.db.query(`insert into "${B}" values ($1, $2, $3, $4, $5)`, [row.k1, row.k2, row.val, row.note, row.big]);
    if (record) modelB.set(`${row.k1}/${row.k2}`, row);
    return row;
  };
  for (let i = 0; i < 15; i++) await addA();
  for (let i = 0; i < 15; i++) await addB();
  const snapshotA = [...modelA.values()].map((r) => ({ ...r }));
  const snapshotB = [...modelB.values()].map((r) => ({ ...r }));

  const started = Date.now();
  const handle = await startCdc(cdcOptions(n, [`public.${A}`, `public.${B}`]));
  n.defer(() => handle.stop());
  const startedIn = Date.now() - started;

  const keyA = (row: Row): Row => ({ id: row.id });
  const keyB = (row: Row): Row => ({ k1: row.k1, k2: row.k2 });
  const pick = <K, T>(m: Map<K, T>): T => [...m.values()][random.int(m.size)]!;
  let statements = 0;
  let toastA = 0;
  let toastB = 0;
  const streamStart = Date.now();
  while (statements < 1000) {
    if (random.next() < 0.03) {
      // A rolled-back transaction publishes nothing.
      await n.db.query('begin');
      await addA(false);
      await addB(false);
      await n.db.query('rollback');
    }
    await n.db.query('begin');
    const size = 1 + random.int(6);
    for (let s = 0; s < size && statements < 1000; s++, statements++) {
      const onA = random.next() < 0.55;
      const roll = random.next();
      if (statements === 400 || statements === 700) {
        await n.db.query(`truncate "${statements === 400 ? A : B}"`);
        (statements === 400 ? modelA : modelB).clear();
        (statements === 400 ? expectA : expectB).push({ op: 't', key: null, before: null, after: null, missing: null });
      } else if (onA) {
        if (modelA.size === 0 || roll < 0.35) {
          const row = await addA();
          expectA.push({ op: 'c', key: keyA(row), before: null, after: { ...row }, missing: null });
          continue;
        }
        const row = pick(modelA);
        // Postgres sends a TOASTed value that did not change as "unchanged": without REPLICA IDENTITY FULL it is unknown.
        const toasted = (after: Row): Seen['missing'] => (row.big !== null ? ((after.big = null), toastA++, ['big']) : null);
        if (roll < 0.7) {
          const name = `upd-${random.int(1e6)}`;
          const amount = random.next() < 0.2 ? null : BigInt(random.int(100000));
          await n.db.query(`update "${A}" set name = $1, amount = $2 where id = $3`, [name, amount === null ? null : `${amount / 100n}.${pad(amount % 100n, 2)}`, row.id]);
          Object.assign(row, { name, amount });
          const after = { ...row };
          expectA.push({ op: 'u', key: keyA(row), before: null, after, missing: toasted(after) });
        } else if (roll < 0.82) {
          const id = nextA++;
          await n.db.query(`update "${A}" set id = $1 where id = $2`, [id, row.id]);
          expectA.push({ op: 'd', key: keyA(row), before: { id: row.id, name: '', amount: null, at: null, doc: null, uid: null, tags: null, blob: null, big: null }, after: null, missing: null });
          expectA.push({ op: 'tombstone', key: keyA(row), before: null, after: null, missing: null });
          modelA.delete(row.id as number);
          row.id = id;
          modelA.set(id, row);
          const after = { ...row };
          expectA.push({ op: 'c', key: keyA(row), before: null, after, missing: toasted(after) });
        } else {
          await n.db.query(`delete from "${A}" where id = $1`, [row.id]);
          modelA.delete(row.id as number);
          expectA.push({ op: 'd', key: keyA(row), before: { id: row.id, name: '', amount: null, at: null, doc: null, uid: null, tags: null, blob: null, big: null }, after: null, missing: null });
          expectA.push({ op: 'tombstone', key: keyA(row), before: null, after: null, missing: null });
        }
      } else {
        if (modelB.size === 0 || roll < 0.35) {
          const row = await addB();
          expectB.push({ op: 'c', key: keyB(row), before: null, after: { ...row }, missing: null });
          continue;
        }
        const row = pick(modelB);
        const before = { ...row };
        if (row.big !== null) toastB++;
        if (roll < 0.7) {
          row.val = BigInt(random.int(1e6));
          row.note = random.next() < 0.3 ? null : `u${random.int(100)}`;
          await n.db.query(`update "${B}" set val = $1, note = $2 where k1 = $3 and k2 = $4`, [row.val, row.note, row.k1, row.k2]);
          expectB.push({ op: 'u', key: keyB(row), before, after: { ...row }, missing: null });
        } else if (roll < 0.82) {
          const k2 = nextB++;
          await n.db.query(`update "${B}" set k2 = $1 where k1 = $2 and k2 = $3`, [k2, row.k1, row.k2]);
          modelB.delete(`${row.k1}/${row.k2}`);
          expectB.push({ op: 'd', key: keyB(before), before, after: null, missing: null }, { op: 'tombstone', key: keyB(before), before: null, after: null, missing: null });
          row.k2 = k2;
          modelB.set(`${row.k1}/${k2}`, row);
          expectB.push({ op: 'c', key: keyB(row), before: null, after: { ...row }, missing: null });
        } else {
          await n.db.query(`delete from "${B}" where k1 = $1 and k2 = $2`, [row.k1, row.k2]);
          modelB.delete(`${row.k1}/${row.k2}`);
          expectB.push({ op: 'd', key: keyB(row), before, after: null, missing: null }, { op: 'tombstone', key: keyB(row), before: null, after: null, missing: null });
        }
      }
    }
    await n.db.query('commit');
  }
  const executedIn = Date.now() - streamStart;
  const topicA = `${n.prefix}.public.${A}`;
  const topicB = `${n.prefix}.public.${B}`;
  const streamed = expectA.length + expectB.length;
  const stats = handle.stats();
  const read = await reader(n, [topicA, topicB]);
  await read.waitFor('every modelled event', (m) => m.length >= snapshotA.length + snapshotB.length + streamed);
  const caughtUpIn = Date.now() - streamStart;
  const final = await handle.stop();
  await read.untilEnd();
  t.diagnostic(`start (snapshot of 30 rows) ${startedIn} ms; 1,000 statements executed in ${executedIn} ms, all ${streamed} events in Kafka after ${caughtUpIn} ms; toast-unchanged updates A=${toastA} B=${toastB}`);
  t.diagnostic(`stats during the run: ${stats.transactions} transactions, ${stats.events} events; final: ${JSON.stringify(final.tables)}`);
  assert.ok(toastA > 0 && toastB > 0, 'the workload exercised unchanged TOAST values on both tables');

  for (const [topic, snapshot, expected, key] of [[topicA, snapshotA, expectA, keyA], [topicB, snapshotB, expectB, keyB]] as const) {
    const messages = read.messages.filter((m) => m.topic === topic);
    const snapshotRows = messages.filter((m) => m.op === 'r');
    assert.equal(snapshotRows.length, snapshot.length, `${topic}: one r event per snapshot row`);
    const byKey = (rows: Seen[]): Seen[] => [...rows].sort((x, y) => JSON.stringify(x.key).localeCompare(JSON.stringify(y.key)));
    assert.deepEqual(byKey(snapshotRows.map(seen)), byKey(snapshot.map((row) => ({ op: 'r', key: plain(key(row)), before: null, after: plain(row), missing: null }))));
    assert.ok(snapshotRows.every((m) => m.event!.source.lsn === snapshotRows[0]!.event!.source.lsn && m.event!.source.sequence === null));
    const stream = messages.filter((m) => m.op !== 'r');
    assert.deepEqual(stream.map(seen), expected.map((e) => ({ ...e, key: plain(e.key), before: plain(e.before), after: plain(e.after) })), `${topic}: streamed events`);
    const positions = stream.filter((m) => m.event).map((m) => sourcePosition(m.event!.source)!);
    for (let i = 1; i < positions.length; i++) assert.ok(comparePositions(positions[i - 1]!, positions[i]!) < 0, `${topic}: positions increase (event ${i})`);
    const commitLsns = stream.filter((m) => m.event).map((m) => m.event!.source.lsn!);
    assert.ok(commitLsns.every((lsn) => lsn > snapshotRows[0]!.event!.source.lsn!), `${topic}: streamed changes come after the snapshot's consistent point`);
  }
  const lastMarks = read.messages.filter((m) => m.event?.source.snapshot === 'last');
  assert.deepEqual(lastMarks.map((m) => m.topic), [topicB], 'exactly one snapshot row is marked last: the final row of the last table');
});

/** Runs `duckhouse cdc` as a child process; resolves once it streams. */
async function runChild(n: Names, args: string[]): Promise<{ kill(signal: NodeJS.Signals): Promise<number | null>; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/cdc-child.ts', 'cdc', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DUCKHOUSE_CDC_SOURCE: sourceUrl, DUCKHOUSE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  n.defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  await Promise.race([
    new Promise<void>((resolve) => {
      const check = (): void => void (output.includes('"msg":"streaming changes"') && resolve());
      child.stdout.on('data', check);
      check();
    }),
    exited.then((code) => Promise.reject(new Error(`cdc child exited with ${code} before streaming:\n${output}`))),
  ]);
  return { kill: (signal) => (child.kill(signal), exited), output: () => output };
}

test('kill -9 mid-stream, restart: every change at least once; exactly once and in order after dropping duplicates by position', async (t) => {
  const n = names(t, 'kill');
  await n.db.connect();
  const K = n.table('k');
  await n.db.query(`create table "${K}" (id int primary key, v int not null, note text)`);
  for (let i = 1; i <= 20; i++) await n.db.query(`insert into "${K}" values ($1, $2, 'seed')`, [i, i]);
  const args = ['--tables', `public.${K}`, '--name', n.name, '--prefix', n.prefix, '--compression', 'snappy'];
  const first = await runChild(n, args);
  const topic = `${n.prefix}.public.${K}`;
  const read = await reader(n, [topic]);
  await read.waitFor('the snapshot', (m) => m.length >= 20);

  // The model: the events each statement must produce, in commit order.
  const random = rng(7);
  const rows = new Map<number, string | null>(Array.from({ length: 20 }, (_, i) => [i + 1, 'seed']));
  const expected: Seen[] = [];
  let nextId = 21;
  let killedAt = -1;
  const TOTAL = 1200;
  for (let i = 0; i < TOTAL; i++) {
    const roll = random.next();
    if (rows.size === 0 || roll < 0.4) {
      const id = nextId++;
      const v = random.int(1e6);
      await n.db.query(`insert into "${K}" (id, v) values ($1, $2)`, [id, v]);
      rows.set(id, null);
      expected.push({ op: 'c', key: { id }, before: null, after: { id, v, note: null }, missing: null });
    } else {
      const id = [...rows.keys()][random.int(rows.size)]!;
      if (roll < 0.8) {
        const v = random.int(1e6);
        await n.db.query(`update "${K}" set v = $1 where id = $2`, [v, id]);
        expected.push({ op: 'u', key: { id }, before: null, after: { id, v, note: rows.get(id) }, missing: null });
      } else {
        await n.db.query(`delete from "${K}" where id = $1`, [id]);
        rows.delete(id);
        expected.push({ op: 'd', key: { id }, before: { id, v: 0, note: null }, after: null, missing: null }, { op: 'tombstone', key: { id }, before: null, after: null, missing: null });
      }
    }
    if (killedAt < 0 && read.messages.length >= 20 + 300) {
      killedAt = i;
      assert.equal(await first.kill('SIGKILL'), null, 'killed by the signal');
    }
  }
  assert.ok(killedAt > 0 && killedAt < TOTAL - 100, `killed mid-stream (after statement ${killedAt} of ${TOTAL})`);
  const second = await runChild(n, args);
  assert.match(second.output(), /snapshot recorded complete: streaming from the slot/, 'the restart resumes from the slot, no new snapshot');
  const last = expected.filter((e) => e.op !== 'tombstone').at(-1)!;
  await read.waitFor('the last change after the restart', (m) => m.some((x) => x.op === last.op && JSON.stringify(x.after) === JSON.stringify(last.after) && JSON.stringify(x.key) === JSON.stringify(last.key)));
  assert.equal(await second.kill('SIGTERM'), 0, `SIGTERM exits 0 after flushing:\n${second.output()}`);
  assert.match(second.output(), /cdc stopped: /);
  await read.untilEnd();

  const messages = read.messages;
  assert.equal(messages.filter((m) => m.op === 'r').length, 20, 'the snapshot was sent once');
  // Drop replays: an event at or below the highest position already seen is a duplicate (and must equal the original).
  const firstAt = new Map<string, Received>();
  const kept: Received[] = [];
  let highest: [bigint, bigint, bigint] | null = null;
  let duplicates = 0;
  let pendingTombstone = false;
  for (const m of messages.filter((x) => x.op !== 'r')) {
    if (m.op === 'tombstone') {
      if (pendingTombstone) kept.push(m);
      pendingTombstone = false;
      continue;
    }
    const position = sourcePosition(m.event!.source)!;
    const id = position.join('/');
    if (highest && comparePositions(position, highest) <= 0) {
      duplicates++;
      assert.ok(firstAt.has(id), `a replayed event has a position seen before (${id})`);
      assert.deepEqual(seen(m), seen(firstAt.get(id)!), `replay of ${id} is identical`);
      pendingTombstone = false;
      continue;
    }
    highest = position;
    firstAt.set(id, m);
    kept.push(m);
    pendingTombstone = m.op === 'd';
  }
  t.diagnostic(`killed after statement ${killedAt}; ${messages.length} messages, ${duplicates} replayed duplicates dropped`);
  assert.deepEqual(kept.map(seen), expected.map((e) => ({ ...e, before: e.before, after: e.after })));
  const slot = await n.db.query<{ lsn: string }>('select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1', [n.slot]);
  const lastCommit = sourcePosition(kept.filter((m) => m.event).at(-1)!.event!.source)![0];
  const [hi, lo] = slot.rows[0]!.lsn.split('/');
  assert.ok((BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`) > lastCommit, 'after SIGTERM the slot is confirmed past the last commit');
});

test('a column added, dropped and retyped mid-stream flows on as new schema versions with stable field ids; an unconvertible value is dead-lettered', async (t) => {
  const n = names(t, 'evo');
  await n.db.connect();
  const C = n.table('c');
  await n.db.query(`create table "${C}" (id int primary key, a text, b int not null default 0, at timestamptz)`);
  const handle = await startCdc(cdcOptions(n, [`public.${C}`]));
  n.defer(() => handle.stop());
  for (const sql of [
    `insert into "${C}" values (1, 'one', 1)`,
    `alter table "${C}" add column extra int`,
    `insert into "${C}" values (2, 'two', 2, null, 20)`,
    `update "${C}" set extra = 10, a = 'uno' where id = 1`,
    `insert into "${C}" values (9, 'bad', 9, 'infinity', 9)`,
    `alter table "${C}" drop column a`,
    `insert into "${C}" values (3, 3, '2024-05-06 07:08:09.5+02', 30)`,
    `alter table "${C}" alter column extra type bigint`,
    `insert into "${C}" values (4, 4, null, 40)`,
  ]) {
    await n.db.query(sql);
  }
  const topic = `${n.prefix}.public.${C}`;
  const read = await reader(n, [topic]);
  await read.waitFor('5 events', (m) => m.length >= 5);
  const final = await handle.stop();
  await read.untilEnd();
  assert.deepEqual(read.messages.map(seen), [
    { op: 'c', key: { id: 1 }, before: null, after: { id: 1, a: 'one', b: 1, at: null }, missing: null },
    { op: 'c', key: { id: 2 }, before: null, after: { id: 2, a: 'two', b: 2, at: null, extra: 20 }, missing: null },
    { op: 'u', key: { id: 1 }, before: null, after: { id: 1, a: 'uno', b: 1, at: null, extra: 10 }, missing: null },
    { op: 'c', key: { id: 3 }, before: null, after: { id: 3, b: 3, at: BigInt(Date.UTC(2024, 4, 6, 5, 8, 9, 500)) * 1000n, extra: 30 }, missing: null },
    { op: 'c', key: { id: 4 }, before: null, after: { id: 4, b: 4, at: null, extra: 40n }, missing: null },
  ]);
  const ids = [...new Set(read.messages.map((m) => m.valueSchemaId!))];
  assert.equal(ids.length, 4, 'four value schema versions: initial, +extra, -a, extra int→bigint');
  assert.deepEqual(final.tables[`public.${C}`]?.schemaIds, ids);
  assert.equal(new Set(read.messages.map((m) => m.keySchemaId)).size, 1, 'one key schema throughout');
  const fields = await Promise.all(
    ids.map(async (id) => {
      const envelope = (await cache.get(id)).schema as { fields: { name: string; type: unknown }[] };
      const row = (envelope.fields[0]!.type as unknown[])[1] as { fields: { name: string; type: unknown; 'field-id': number }[] };
      return Object.fromEntries(row.fields.map((f) => [f.name, [f['field-id'], JSON.stringify(f.type)]]));
    }),
  );
  const at = [4, JSON.stringify(['null', { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true }])];
  assert.deepEqual(fields, [
    { id: [1, '"int"'], a: [2, '["null","string"]'], b: [3, '"int"'], at },
    { id: [1, '"int"'], a: [2, '["null","string"]'], b: [3, '"int"'], at, extra: [5, '["null","int"]'] },
    { id: [1, '"int"'], b: [3, '"int"'], at, extra: [5, '["null","int"]'] },
    { id: [1, '"int"'], b: [3, '"int"'], at, extra: [5, '["null","long"]'] },
  ]);

  // The infinity timestamp went to the dead-letter topic, with the reason, and the stream went on.
  const dlq = `${n.prefix}.dlq`;
  const letters: { value: Record<string, unknown>; headers: Record<string, string> }[] = [];
  const consumer = kafka.consumer({ groupId: `cdc-test-${randomBytes(5).toString('hex')}`, maxWaitTimeInMs: 100 });
  n.defer(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic: dlq, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void letters.push({ value: JSON.parse(String(message.value)) as Record<string, unknown>, headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) }) });
  while (letters.length === 0) await new Promise((r) => setTimeout(r, 50));
  const [letter] = letters;
  assert.equal(letters.length, 1);
  assert.deepEqual([letter!.value.kind, letter!.value.table, letter!.value.column, Buffer.from(String(letter!.value.raw_base64), 'base64').toString()], ['cdc-value', `public.${C}`, 'at', 'infinity']);
  assert.match(String(letter!.value.message), /column at \(timestamptz → timestamp-micros \(UTC\)\).*infinity has no Avro\/Iceberg timestamptz representation/);
  assert.match(letter!.headers['duckhouse.reason'] ?? '', /infinity/);
  assert.match(String(letter!.value.lsn), /^[0-9A-F]+\/[0-9A-F]+$/);
});

test('start decisions: a slot without a recorded snapshot is redone, a recorded one resumes, --resnapshot redoes; refusals say why', async (t) => {
  const n = names(t, 'start');
  await n.db.connect();
  const D = n.table('d');
  const F = n.table('f');
  const E = n.table('e');
  await n.db.query(`create table "${D}" (id int primary key, v text)`);
  await n.db.query(`create table "${F}" (id int primary key)`);
  await n.db.query(`create table "${E}" (x int)`);
  await n.db.query(`insert into "${D}" values (1, 'x'), (2, 'y')`);
  await n.db.query(`create publication "${n.slot}" for table "${D}"`);
  // A slot some earlier run created before it crashed: no snapshot is recorded for it, so it is dropped and redone.
  await n.db.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [n.slot]);
  const run = async (extra: Partial<CdcOptions> = {}): Promise<{ start: string; snapshot: number }> => {
    const handle = await startCdc(cdcOptions(n, [`public.${D}`], extra));
    const stats = await handle.stop();
    return { start: stats.start, snapshot: stats.tables[`public.${D}`]!.snapshot };
  };
  assert.deepEqual(await run(), { start: 'snapshot', snapshot: 2 });
  assert.deepEqual(await run(), { start: 'resume', snapshot: 0 });
  assert.deepEqual(await run({ resnapshot: true }), { start: 'snapshot', snapshot: 2 });

  const running = await startCdc(cdcOptions(n, [`public.${D}`]));
  n.defer(() => running.stop());
  await assert.rejects(startCdc(cdcOptions(n, [`public.${D}`], { slotWaitMs: 300 })), /replication slot .* is in use by another process \(backend pid \d+\)/);
  await running.stop();
  await assert.rejects(startCdc(cdcOptions(n, [`public.${D}`, `public.${F}`])), new RegExp(`table\\(s\\) public\\.${F} were not part of the initial snapshot.*--resnapshot`));
  await assert.rejects(startCdc(cdcOptions(n, [`public.${E}`])), new RegExp(`table public\\.${E} .* has no primary key`));
  await assert.rejects(startCdc(cdcOptions(n, [`public.${D.toUpperCase()}`])), new RegExp(`table public\\.${D.toUpperCase()} not found .*did you mean public\\.${D}\\?`));
  const badPort = sourceUrl.replace(`:${postgres.port}/`, ':1/');
  await assert.rejects(startCdc({ ...cdcOptions(n, [`public.${D}`]), source: badPort }), (error: Error) => /cannot connect to Postgres at 127\.0\.0\.1:1\/duckhouse/.test(error.message) && !error.message.includes(postgres.password));
});

test('a truncate reaches every partition after that partition\'s earlier events; idle tables still confirm the server position', async (t) => {
  const n = names(t, 'part');
  await n.db.connect();
  const P = n.table('p');
  const other = n.table('other');
  await n.db.query(`create table "${P}" (id int primary key)`);
  await n.db.query(`create table "${other}" (id int)`);
  const handle = await startCdc(cdcOptions(n, [`public.${P}`], { partitions: 3 }));
  n.defer(() => handle.stop());
  await n.db.query(`insert into "${P}" select generate_series(1, 12)`);
  await n.db.query(`truncate "${P}"`);
  await n.db.query(`insert into "${P}" values (100)`);
  const topic = `${n.prefix}.public.${P}`;
  const read = await reader(n, [topic]);
  await read.waitFor('12 inserts, 3 truncates and 1 insert', (m) => m.length >= 16);
  const truncates = read.messages.filter((m) => m.op === 't');
  assert.deepEqual(truncates.map((m) => m.partition).sort(), [0, 1, 2], 'one t per partition');
  assert.equal(new Set(truncates.map((m) => m.event!.source.sequence)).size, 1, 'the copies share one position');
  let before = 0;
  for (const partition of [0, 1, 2]) {
    const ops = read.messages.filter((m) => m.partition === partition).map((m) => m.op).join('');
    assert.match(ops, /^c*tc?$/, `partition ${partition}: the truncate follows that partition's earlier inserts`);
    before += ops.indexOf('t');
  }
  assert.equal(before, 12, 'every insert before the truncate is before one of its copies');
  // Changes to a table outside the publication produce nothing, but the slot still advances past them.
  await n.db.query(`insert into "${other}" values (1)`);
  const { rows } = await n.db.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
  const [hi, lo] = rows[0]!.lsn.split('/');
  const target = (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
  const confirmed = (): bigint => {
    const [h, l] = handle.stats().confirmedLsn!.split('/');
    return (BigInt(`0x${h}`) << 32n) + BigInt(`0x${l}`);
  };
  const deadline = Date.now() + 45_000;
  while (confirmed() < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(confirmed() >= target, `confirmed ${handle.stats().confirmedLsn} reaches the server position ${rows[0]!.lsn} after idle keepalives`);
});
