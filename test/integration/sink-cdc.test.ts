// The sink fed by the CDC producer: a Postgres table with a snapshot, then inserts, updates, deletes, a primary-key
// change and one key changed many times in a row, on a 3-partition topic; the Iceberg table as PyIceberg reads it must
// equal the Postgres table exactly. Then a column is added mid-stream (schema evolution) and the same holds.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test, type TestContext } from 'node:test';
import pg from 'pg';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../../src/producers/kafka/client.js';
import { startCdc } from '../../src/producers/postgres-cdc/cdc.js';
import { createRegistry, type SchemaRegistry } from '../../src/schemas/registry.js';
import { createLogger } from '../../src/shared/logger.js';
import { readWithPyIceberg } from '../interop/pyiceberg.js';
import type { CatalogFixture } from './catalog-fixtures.js';
import { catalogFixture } from './catalog-fixtures.js';
import { endpoints } from './helpers.js';
import { readTable, startTestSink } from './sink-fixtures.js';

const stack = endpoints();
const { postgres } = stack;
const sourceUrl = `postgres://${encodeURIComponent(postgres.user)}:${encodeURIComponent(postgres.password)}@${postgres.host}:${postgres.port}/${postgres.database}`;
let kafka: Kafka;
let registry: SchemaRegistry;
let fixture: CatalogFixture;
let db: pg.Client;

before(async () => {
  kafka = createKafka({ brokers: stack.kafka.brokers, quiet: true });
  registry = createRegistry({ url: stack.schemaRegistry.url });
  fixture = await catalogFixture('sql-local');
  db = new pg.Client({ ...postgres });
  await db.connect();
});

after(async () => {
  await db.end();
  await fixture.cleanup();
});

/** The Postgres table as PyIceberg's JSON shows rows (decimals as text, timestamps as UTC ISO without zone). */
async function sourceRows(table: string, extra = false): Promise<Record<string, unknown>[]> {
  const result = await db.query(`select id, name, qty, amount::text as amount, to_char(updated at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as updated${extra ? ', note' : ''} from "${table}" order by id`);
  return result.rows.map((r: Record<string, unknown>) => ({ ...r, id: Number(r.id) }));
}

/** Polls the table (our reader) until it has `count` rows with the source's ids, then leaves the exact check to PyIceberg. */
async function waitForRows(id: { namespace: string[]; name: string }, expected: Record<string, unknown>[], timeoutMs = 60_000): Promise<void> {
  const want = JSON.stringify(expected.map((r) => r.id));
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (await fixture.catalog.tableExists(id)) {
      const rows = await readTable(fixture.catalog, id);
      const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
      last = `${rows.length} rows`;
      if (JSON.stringify(ids) === want) return;
    }
    await sleep(300);
  }
  throw new Error(`the table did not reach the source's ${expected.length} rows in ${timeoutMs} ms (last: ${last})`);
}

/**
 * A fresh Postgres source table (random name) for one test, with its CDC names; after the test, `stops` run (latest
 * first), then the slot, the publication and the table are dropped.
 */
async function sourceTable(t: TestContext, tag: string): Promise<{ table: string; prefix: string; name: string; stops: (() => Promise<unknown>)[] }> {
  const id = randomBytes(4).toString('hex');
  const table = `${tag}_${id}`;
  const name = `${tag}_${id}`;
  await db.query(`create table "${table}" (id int primary key, name text not null, qty int, amount numeric(12,2), updated timestamptz not null default now())`);
  const stops: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await db.query(`select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null`, [`duckhouse_${name}`]);
    await sleep(300);
    await db.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1', [`duckhouse_${name}`]).catch(() => undefined);
    await db.query(`drop publication if exists "duckhouse_${name}"`);
    await db.query(`drop table if exists "${table}"`);
  });
  return { table, prefix: `${tag}-${id}`, name, stops };
}

test('CDC → sink: the Iceberg table equals the Postgres table (snapshot, updates, deletes, a key change, hot keys, a new column)', async (t) => {
  const { table, prefix, name, stops } = await sourceTable(t, 'skc');
  await db.query(`insert into "${table}" (id, name, qty, amount, updated) select g, 'snap ' || g, g % 7, (g * 1.25)::numeric(12,2), timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' from generate_series(1, 300) g`);

  const cdc = await startCdc({ source: sourceUrl, tables: [`public.${table}`], name, topicPrefix: prefix, partitions: 3, brokers: stack.kafka.brokers, registryUrl: stack.schemaRegistry.url, logger: createLogger('cdc', 'warn'), progressIntervalMs: 0 });
  stops.push(() => cdc.stop());
  const topic = `${prefix}.public.${table}`;
  const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic], flush: { intervalMs: 400 } });
  stops.push(() => sink.stop());
  const id = { namespace: ['public'], name: table };

  // Changes: inserts, updates, deletes, a key change, one key updated 50 times in one transaction and 20 more alone.
  await db.query(`insert into "${table}" (id, name, qty, amount) select g, 'new ' || g, null, null from generate_series(301, 400) g`);
  await db.query(`update "${table}" set qty = qty + 100, amount = amount * 2 where id % 5 = 0`);
  await db.query(`delete from "${table}" where id % 9 = 0`);
  await db.query(`update "${table}" set id = 100000 + id where id in (1, 2, 3)`);
  await db.query('begin');
  for (let i = 0; i < 50; i++) await db.query(`update "${table}" set qty = $1, name = $2 where id = 4`, [i, `hot ${i}`]);
  await db.query('commit');
  for (let i = 0; i < 20; i++) await db.query(`update "${table}" set qty = $1 where id = 5`, [1000 + i]);
  await db.query(`delete from "${table}" where id = 6`);
  await db.query(`insert into "${table}" (id, name, qty) values (6, 'reborn', 66)`);

  let expected = await sourceRows(table);
  await waitForRows(id, expected);
  let view = await readWithPyIceberg(fixture, await fixture.catalog.loadTable(id));
  assert.deepEqual(view.sql.current, expected, 'PyIceberg reads exactly the Postgres rows');

  // A column added mid-stream: the table evolves before the rows that carry it.
  await db.query(`alter table "${table}" add column note text`);
  await db.query(`update "${table}" set note = 'n' || id where id % 4 = 0`);
  await db.query(`insert into "${table}" (id, name, note) values (500, 'with note', 'hello')`);
  expected = await sourceRows(table, true);
  await waitForRows(id, expected);
  // The last change (id 500) lands with the note column; wait until the note values are in too.
  const deadline = Date.now() + 30_000;
  for (;;) {
    view = await readWithPyIceberg(fixture, await fixture.catalog.loadTable(id));
    if (JSON.stringify(view.sql.current) === JSON.stringify(expected) || Date.now() > deadline) break;
    await sleep(500);
  }
  assert.deepEqual(view.sql.current, expected, 'after the schema change too');
  const metadata = (await fixture.catalog.loadTable(id)).metadata;
  assert.ok(metadata.schemas.length >= 2, 'the table schema evolved');
  assert.equal(sink.sink.stats.deadLetters, 0);
});

test('CDC → sink: a truncate on a 3-partition topic empties the table, and rows written after it stay', async (t) => {
  const { table, prefix, name, stops } = await sourceTable(t, 'skt');
  await db.query(`insert into "${table}" (id, name, qty) select g, 'before ' || g, g from generate_series(1, 200) g`);
  const cdc = await startCdc({ source: sourceUrl, tables: [`public.${table}`], name, topicPrefix: prefix, partitions: 3, brokers: stack.kafka.brokers, registryUrl: stack.schemaRegistry.url, logger: createLogger('cdc', 'warn'), progressIntervalMs: 0 });
  stops.push(() => cdc.stop());
  const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [`${prefix}.public.${table}`], flush: { intervalMs: 300 } });
  stops.push(() => sink.stop());
  const id = { namespace: ['public'], name: table };
  await waitForRows(id, await sourceRows(table));
  await db.query(`truncate "${table}"`);
  await db.query(`insert into "${table}" (id, name, qty) select g, 'after ' || g, g from generate_series(150, 260) g`);
  await db.query(`update "${table}" set qty = -qty where id % 10 = 0`);
  const expected = await sourceRows(table);
  await waitForRows(id, expected);
  const view = await readWithPyIceberg(fixture, await fixture.catalog.loadTable(id));
  assert.deepEqual(view.sql.current, expected);
});
