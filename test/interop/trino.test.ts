// The Trino tier: DuckHouse builds a real table (CSV producer → Kafka → sink: inserts, then upserts and deletes by
// primary key, then a file with a new column that evolves the schema, then compaction), and after every stage Trino
// 476 — through Iceberg's JDBC catalog on the same Postgres rows and through DuckHouse's REST catalog server — must
// return exactly the rows PyIceberg returns (and the reference model holds), new column's nulls included.
// Needs `duckhouse stack up --with trino`; fails (never skips) when Trino is not up.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { startRestCatalogServer } from '../../src/catalog/catalogs/rest-server/server.js';
import { planFiles } from '../../src/catalog/read/plan-files.js';
import { compactTable } from '../../src/compactor/compaction/compact-table.js';
import { produceCsv } from '../../src/producers/csv/csv-producer.js';
import { prepareCsvInput } from '../../src/producers/csv/row-encoder.js';
import { createKafka } from '../../src/producers/kafka/client.js';
import { createRegistry } from '../../src/schemas/registry.js';
import { createLogger } from '../../src/shared/logger.js';
import { catalogFixture } from '../integration/catalog-fixtures.js';
import { endpoints, uniqueName } from '../integration/helpers.js';
import { startTestSink, waitCaughtUp } from '../integration/sink-fixtures.js';
import { readWithPyIceberg } from './pyiceberg.js';
import type { TrinoCatalog } from './trino.js';
import { assertTrinoUp, createJdbcCatalog, createRestCatalog, trinoQuery } from './trino.js';

const logger = createLogger('trino-test', process.env.DUCKHOUSE_TEST_LOG ?? 'warn');

/** One row of the reference model, in the canonical form both readers are compared in. */
type Canonical = Record<string, string | number | null>;

const DAY_MS = 86_400_000;
const BASE_MICROS = 1_700_000_000_000_000n;

/** Deterministic values for key `id` at `version`; `note` only once the column exists. */
function modelRow(id: number, version: number, note?: string | null): Canonical {
  const micros = BASE_MICROS + BigInt(id) * 3_598_765_432n + BigInt(version) * 1_000_001n;
  const ms = Number(micros / 1000n);
  const row: Canonical = {
    id: String(id),
    name: id % 7 === 3 ? null : `name ${id} v${version}`,
    qty: id % 5 === 0 ? null : (id * 37 + version) % 1000,
    price: id % 11 === 0 ? null : (id % 100) / 4 + version,
    day: new Date((19_000 + ((id * 53) % 900) - 450) * DAY_MS).toISOString().slice(0, 10),
    ts: `${new Date(ms).toISOString().slice(0, 19)}.${String(micros % 1_000_000n).padStart(6, '0')}`,
    amount: id % 13 === 0 ? null : `${id * 3 + version}.${String(id % 100).padStart(2, '0')}`,
  };
  if (note !== undefined) row.note = note;
  return row;
}

const COLUMNS_V1 = ['id', 'name', 'qty', 'price', 'day', 'ts', 'amount'];
const COLUMNS_V2 = [...COLUMNS_V1, 'note'];
const TYPES: Record<string, string> = { id: 'long', name: 'string', qty: 'int', price: 'double', day: 'date', ts: 'timestamptz', amount: 'decimal(10, 2)', note: 'string' };

/** The CSV line of a model row (timestamps with Z; null as the empty field). */
function csvLine(row: Canonical, columns: string[], op = ''): string {
  const cell = (column: string): string => {
    const value = row[column];
    if (value === null || value === undefined) return '';
    return column === 'ts' ? `${String(value).replace('T', ' ')}Z` : String(value);
  };
  return [...columns.map(cell), op].join(',');
}

/** Any reader's row in the canonical form: longs as strings, timestamptz as PyIceberg's UTC ISO text. */
function canonical(row: Record<string, unknown>): Canonical {
  const out: Canonical = {};
  for (const [key, value] of Object.entries(row)) {
    if (value === null || value === undefined) out[key] = null;
    else if (typeof value === 'bigint' || key === 'id') out[key] = String(value);
    else if (typeof value === 'string' && / UTC$/.test(value)) out[key] = value.replace(' UTC', '').replace(' ', 'T');
    else out[key] = value as string | number;
  }
  return out;
}

const sorted = (rows: Canonical[]): Canonical[] => [...rows].sort((a, b) => Number(a.id) - Number(b.id));
const modelView = (model: Map<number, Canonical>): Canonical[] => sorted([...model.values()]);

test('Trino reads DuckHouse tables through the JDBC and the REST catalog: the same rows as PyIceberg after inserts, upserts and deletes, a new column, and compaction', { timeout: 15 * 60_000 }, async (t) => {
  await assertTrinoUp();
  const kafka = createKafka({ brokers: endpoints().kafka.brokers, quiet: true });
  const registry = createRegistry({ url: endpoints().schemaRegistry.url });
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-trino-'));
  const fx = await catalogFixture('sql-s3');
  const namespace = uniqueName('trino').replace('-', '_');
  const id: TableIdentifier = { namespace: [namespace], name: 'items' };
  const prefix = uniqueName('tr').replace('-', '_');
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const jdbc = await createJdbcCatalog({ sqlCatalogName: fx.pyiceberg.catalog!, warehouse: fx.warehouse });
    cleanups.push(() => jdbc.drop());
    // DuckHouse's REST catalog server over the same SqlCatalog, on a random port, with an admin token of this test.
    const token = randomBytes(24).toString('hex');
    const server = await startRestCatalogServer({
      catalog: fx.catalog,
      authenticate: async (presented) => (presented === token ? { kind: 'admin', tokenId: 'trino-test' } : undefined),
      host: '127.0.0.1',
      port: 0,
    });
    cleanups.push(() => server.close());
    const rest = await createRestCatalog({ uri: server.url, token });
    cleanups.push(() => rest.drop());

    let file = 0;
    const produce = async (columns: string[], lines: string[]): Promise<string> => {
      const csv = path.join(dir, `stage-${++file}.csv`);
      const schema = path.join(dir, `schema-${file}.json`);
      await writeFile(csv, `${[[...columns, 'op'].join(','), ...lines].join('\n')}\n`);
      await writeFile(schema, JSON.stringify({ columns: columns.map((name) => ({ name, type: TYPES[name], required: name === 'id' })) }));
      const result = await produceCsv(kafka, registry, { input: await prepareCsvInput(csv), namespace, table: 'items', keyColumns: ['id'], opColumn: 'op', schemaFile: schema, topicPrefix: prefix, partitions: 2 });
      assert.equal(result.rejected, 0, `every line of ${csv} is valid`);
      return result.topic;
    };

    /** PyIceberg's rows must equal the model; Trino's rows (each catalog) must equal PyIceberg's. */
    const check = async (stage: string, model: Map<number, Canonical>, columns: string[]): Promise<void> => {
      const table = await fx.catalog.loadTable(id);
      const py = await readWithPyIceberg(fx, table);
      const pyRows = sorted(py.sql.current.map(canonical));
      assert.ok(pyRows.length > 0, `${stage}: the table has rows`);
      assert.deepEqual(pyRows, modelView(model), `${stage}: PyIceberg (SQL catalog) reads the model`);
      assert.deepEqual(sorted(py.static.current.map(canonical)), pyRows, `${stage}: PyIceberg (metadata file) agrees`);
      const viaTrino = async (catalog: TrinoCatalog): Promise<void> => {
        const result = await trinoQuery(`SELECT * FROM ${catalog.table(id.namespace, id.name)}`);
        assert.deepEqual(result.columns.map((c) => c.name), columns, `${stage}: Trino sees the table's columns`);
        assert.deepEqual(sorted(result.rows.map(canonical)), pyRows, `${stage}: Trino reads what PyIceberg reads`);
      };
      await t.test(`${stage}: Trino through the JDBC catalog`, () => viaTrino(jdbc));
      await t.test(`${stage}: Trino through the REST catalog`, () => viaTrino(rest));
    };

    const model = new Map<number, Canonical>();
    const put = (row: Canonical): string => {
      model.set(Number(row.id), row);
      return csvLine(row, COLUMNS_V1);
    };

    // Stage 1: inserts.
    const topic = await produce(COLUMNS_V1, Array.from({ length: 300 }, (_, i) => put(modelRow(i, 0))));
    const sink = await startTestSink(kafka, registry, fx.catalog, { prefix, topics: [topic], flush: { intervalMs: 400, rows: 120 } });
    let sinkRunning = true;
    cleanups.push(async () => (sinkRunning ? sink.stop() : undefined));
    await waitCaughtUp(kafka, fx.catalog, id, topic, 120_000);
    await check('inserts', model, COLUMNS_V1);

    // Stage 2: upserts (every third key), deletes (keys ending in 7), a key changed twice and one deleted then back,
    // and new keys; small batches spread one key's changes over several commits (position deletes across files).
    const lines: string[] = [];
    for (let i = 0; i < 300; i += 3) lines.push(put(modelRow(i, 1)));
    lines.push(put(modelRow(1, 1)), put(modelRow(1, 2)));
    for (let i = 7; i < 300; i += 10) {
      lines.push(csvLine(modelRow(i, 0), COLUMNS_V1, 'd'));
      model.delete(i);
    }
    lines.push(put(modelRow(17, 3)));
    for (let i = 300; i < 350; i++) lines.push(put(modelRow(i, 0)));
    await produce(COLUMNS_V1, lines);
    await waitCaughtUp(kafka, fx.catalog, id, topic, 120_000);
    const afterDeletes = (await fx.catalog.loadTable(id)).metadata;
    assert.ok(afterDeletes.snapshots.some((s) => Number(s.summary['added-position-deletes'] ?? 0) > 0), 'upserts and deletes became position deletes');
    await check('upserts and deletes', model, COLUMNS_V1);

    // Stage 3: a file with a new column `note`: the sink evolves the table; rows written before read it as null.
    for (const [key, row] of model) model.set(key, { ...row, note: null });
    const evolved: string[] = [];
    for (let i = 0; i < 350; i += 4) {
      if (!model.has(i)) continue;
      const row = modelRow(i, 4, i % 8 === 0 ? `note ${i}` : null);
      model.set(i, row);
      evolved.push(csvLine(row, COLUMNS_V2));
    }
    for (let i = 350; i < 380; i++) {
      const row = modelRow(i, 0, `new ${i}`);
      model.set(i, row);
      evolved.push(csvLine(row, COLUMNS_V2));
    }
    evolved.push(csvLine(modelRow(2, 0, null), COLUMNS_V2, 'd'));
    model.delete(2);
    await produce(COLUMNS_V2, evolved);
    await waitCaughtUp(kafka, fx.catalog, id, topic, 120_000);
    const evolvedMetadata = (await fx.catalog.loadTable(id)).metadata;
    assert.ok(evolvedMetadata.schemas.length >= 2, 'the table schema evolved');
    await check('a new column', model, COLUMNS_V2);
    sinkRunning = false;
    await sink.stop();

    // Stage 4: compaction rewrites the small files with their deletes applied.
    const before = await planFiles(await fx.catalog.loadTable(id));
    const result = await compactTable({ catalog: fx.catalog, identifier: id, logger, removeOrphans: false, policy: { minInputFiles: 2 } });
    const after = await planFiles(await fx.catalog.loadTable(id));
    assert.ok(result.rewrittenDataFiles > 0, `compaction rewrote files: ${JSON.stringify(result)}`);
    assert.ok(after.length < before.length, `fewer data files after compaction (${before.length} → ${after.length})`);
    assert.equal(after.flatMap((task) => task.deletes).length, 0, 'no delete files remain');
    await check('compaction', model, COLUMNS_V2);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => logger.warn({ err: error }, 'cleanup failed'));
    await fx.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
});
