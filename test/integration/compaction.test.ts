// The compactor against real Kafka, the registry, the Postgres catalog and a warehouse: 200 small files with position
// deletes compacted while the sink keeps writing (content unchanged, PyIceberg and the DuckDB view agree, the sink's offsets survive
// expiry), and expire-snapshots / orphan removal deleting only files nothing references.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { localPathOf } from '../../src/catalog/io/location.js';
import { manifestsOf } from '../../src/catalog/read/manifests.js';
import { planFiles } from '../../src/catalog/read/plan-files.js';
import { buildSchema } from '../../src/catalog/spec/schema.js';
import { currentSnapshot } from '../../src/catalog/spec/table-metadata.js';
import { commitAction } from '../../src/catalog/transaction/action.js';
import { fastAppend } from '../../src/catalog/transaction/fast-append.js';
import { allKnownFiles } from '../../src/catalog/read/reachable-files.js';
import { normalizeLocation } from '../../src/catalog/transaction/remove-orphan-files.js';
import { compactTable } from '../../src/compactor/compaction/compact-table.js';
import { ViewRefresher } from '../../src/compactor/views/refresher.js';
import { openDuckDB } from '../../src/shared/duckdb.js';
import { tableProgress } from '../../src/consumers/offsets.js';
import { produceCsv } from '../../src/producers/csv/csv-producer.js';
import { prepareCsvInput } from '../../src/producers/csv/row-encoder.js';
import { createKafka } from '../../src/producers/kafka/client.js';
import { createRegistry, type SchemaRegistry } from '../../src/schemas/registry.js';
import { createLogger } from '../../src/shared/logger.js';
import { makeRows, readWithPyIceberg, TEST_FIELDS, writeRows } from '../interop/pyiceberg.js';
import type { CatalogFixture } from './catalog-fixtures.js';
import { catalogFixture } from './catalog-fixtures.js';
import { endpoints, uniqueName } from './helpers.js';
import { endOffsets, readTable, startTestSink, waitCaughtUp } from './sink-fixtures.js';

let kafka: Kafka;
let registry: SchemaRegistry;
let dir: string;
let fixture: CatalogFixture;
const logger = createLogger('compaction-test', process.env.DUCKHOUSE_TEST_LOG ?? 'warn');

before(async () => {
  kafka = createKafka({ brokers: endpoints().kafka.brokers, quiet: true });
  registry = createRegistry({ url: endpoints().schemaRegistry.url });
  dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-compaction-'));
  fixture = await catalogFixture('sql-local');
});

after(async () => {
  await fixture.cleanup();
});

/** A change feed: inserts of new ids, updates and deletes of earlier ones; `model` keeps what the table must hold. */
function changes(model: Map<number, string>, from: number, count: number, seed: number): string[] {
  let state = seed;
  const random = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random(10);
    const existing = [...model.keys()];
    if (roll < 6 || existing.length === 0) {
      const id = from + i;
      model.set(id, `v${seed}-${i}`);
      lines.push(`${id},v${seed}-${i},`);
    } else if (roll < 9) {
      const id = existing[random(existing.length)]!;
      model.set(id, `u${seed}-${i}`);
      lines.push(`${id},u${seed}-${i},`);
    } else {
      const id = existing[random(existing.length)]!;
      model.delete(id);
      lines.push(`${id},,d`);
    }
  }
  return lines;
}

const plain = (rows: Record<string, unknown>[]): string[] => rows.map((r) => `${String(r.id)}=${String(r.v)}`).sort();
const modelRows = (model: Map<number, string>): string[] => [...model].map(([id, v]) => `${id}=${v}`).sort();

async function liveFileCount(id: TableIdentifier): Promise<{ data: number; deletes: number }> {
  const tasks = await planFiles(await fixture.catalog.loadTable(id));
  return { data: tasks.length, deletes: new Set(tasks.flatMap((t) => t.deletes.map((d) => d.filePath))).size };
}

describe('compaction', () => {
  test('200 small files with deletes are compacted while the sink keeps writing: far fewer files, the same rows', async () => {
    const prefix = uniqueName('cp').replace('-', '_');
    const id = { namespace: ['shop'], name: 'items' };
    const model = new Map<number, string>();
    const produce = async (lines: string[]): Promise<string> => {
      const file = path.join(dir, `${uniqueName('c')}.csv`);
      await writeFile(file, `${['id,v,op', ...lines].join('\n')}\n`);
      return (await produceCsv(kafka, registry, { input: await prepareCsvInput(file), namespace: 'shop', table: 'items', keyColumns: ['id'], opColumn: 'op', topicPrefix: prefix, partitions: 2 })).topic;
    };
    // 35 rows per commit: 8,000 changes make over 200 commits, each with a small data file and most with deletes.
    const topic = await produce(changes(model, 0, 8000, 1));
    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic], flush: { intervalMs: 1500, rows: 35 } });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, topic, 180_000);
      const before = await liveFileCount(id);
      assert.ok(before.data >= 200, `expected at least 200 small data files, found ${before.data}`);
      assert.ok(before.deletes > 20, `expected position delete files, found ${before.deletes}`);

      // The sink keeps writing (inserts, updates of compacted rows, deletes) while compactions run.
      const more = produce(changes(model, 100_000, 3000, 2));
      let conflicts = 0;
      let rewritten = 0;
      for (let round = 0; round < 3; round++) {
        const result = await compactTable({ catalog: fixture.catalog, identifier: id, logger, removeOrphans: false });
        conflicts += result.conflicts;
        rewritten += result.rewrittenDataFiles;
      }
      await more;
      await waitCaughtUp(kafka, fixture.catalog, id, topic, 180_000);
      const final = await compactTable({ catalog: fixture.catalog, identifier: id, logger, removeOrphans: false });
      rewritten += final.rewrittenDataFiles;
      const afterCount = await liveFileCount(id);
      assert.ok(rewritten >= 200, `rewrote ${rewritten} files`);
      assert.ok(afterCount.data <= 10, `expected far fewer files than ${before.data}, found ${afterCount.data} (${conflicts} conflicts along the way)`);
      assert.equal(afterCount.deletes, 0, 'every position delete was applied and dropped');

      const rows = await readTable(fixture.catalog, id);
      assert.deepEqual(plain(rows), modelRows(model), 'the table holds exactly the last change of every key');
      const table = await fixture.catalog.loadTable(id);
      const py = await readWithPyIceberg(fixture, table);
      assert.deepEqual(plain(py.sql.current), modelRows(model), 'PyIceberg reads the same rows');
      const databaseFile = path.join(dir, `${uniqueName('views')}.duckdb`);
      const refresher = new ViewRefresher({ catalog: fixture.catalog, databaseFile, cacheDir: path.join(dir, 'views-cache'), logger });
      await refresher.refresh(id);
      const { instance, connection } = await openDuckDB(databaseFile);
      try {
        const view = (await connection.runAndReadAll('SELECT id, v FROM shop.items')).getRowObjectsJson() as Record<string, unknown>[];
        assert.deepEqual(plain(view), modelRows(model), 'the DuckDB view shows the same rows');
      } finally {
        connection.closeSync();
        instance.closeSync();
      }

      // Expiring every older snapshot keeps the sink's offsets: the compaction snapshots carry them forward.
      await compactTable({ catalog: fixture.catalog, identifier: id, logger, removeOrphans: false, policy: { maxSnapshotAgeMs: 0 } });
      const expired = await fixture.catalog.loadTable(id);
      assert.equal(expired.metadata.snapshots.length, 1);
      assert.deepEqual(tableProgress(expired.metadata).offsets, await endOffsets(kafka, topic));
    } finally {
      await sink.stop();
    }
    // A sink started after expiry resumes from the carried offsets: it adds nothing.
    const again = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic] });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await again.stop();
    assert.deepEqual(plain(await readTable(fixture.catalog, id)), modelRows(model));
  });

  test('manifests piled up by fast appends (as other engines append) are merged; files, rows and history unchanged', async () => {
    const id = { namespace: [uniqueName('mf').replace('-', '_')], name: 'appends' };
    await fixture.catalog.createNamespace(id.namespace);
    // Data compaction off, so only the manifests are rewritten; merging from 5 manifests on.
    await fixture.catalog.createTable(id, { schema: buildSchema(TEST_FIELDS, { identifierFields: ['id'] }).schema, properties: { 'duckhouse.compaction.enabled': 'false', 'commit.manifest.min-count-to-merge': '5' } });
    const snapshots: bigint[] = [];
    for (let i = 0; i < 12; i++) {
      const table = await fixture.catalog.loadTable(id);
      const after = (await commitAction(fixture.catalog, id, fastAppend(await writeRows(table, makeRows(i * 20, i * 20 + 20))))).table;
      snapshots.push(after.metadata.currentSnapshotId!);
    }
    const before = await fixture.catalog.loadTable(id);
    const byId = (rows: Record<string, unknown>[]): Record<string, unknown>[] => rows.sort((a, b) => Number(a.id) - Number(b.id));
    const rowsBefore = byId(await readTable(fixture.catalog, id));
    const filesBefore = (await planFiles(before)).map((t) => [t.file.filePath, t.dataSequenceNumber]);
    assert.equal((await manifestsOf(before.io, currentSnapshot(before.metadata)!)).length, 12);

    const result = await compactTable({ catalog: fixture.catalog, identifier: id, logger, expire: false, removeOrphans: false });
    assert.equal(result.groups, 0, 'no data files rewritten');
    assert.equal(result.manifestsMerged, 12);
    const merged = await fixture.catalog.loadTable(id);
    const snapshot = currentSnapshot(merged.metadata)!;
    assert.equal(snapshot.summary.operation, 'replace');
    assert.equal(snapshot.summary['duckhouse.compaction'], 'manifests');
    assert.equal((await manifestsOf(merged.io, snapshot)).length, 1);
    assert.deepEqual((await planFiles(merged)).map((t) => [t.file.filePath, t.dataSequenceNumber]).sort(), filesBefore.sort());
    assert.deepEqual(byId(await readTable(fixture.catalog, id)), rowsBefore);
    assert.equal(rowsBefore.length, 240);
    const read = await readWithPyIceberg(fixture, merged, { snapshotIds: [snapshots[4]!] });
    for (const r of Object.values(read)) {
      assert.equal(r.current.length, 240);
      assert.equal(r.snapshots[String(snapshots[4])]!.length, 100, 'time travel to before the merge');
    }
    const again = await compactTable({ catalog: fixture.catalog, identifier: id, logger, expire: false, removeOrphans: false });
    assert.equal(again.manifestsMerged, 0, 'nothing piled up since');
    assert.equal((await fixture.catalog.loadTable(id)).metadata.currentSnapshotId, merged.metadata.currentSnapshotId);
  });

  test('expire-snapshots and orphan removal delete only files nothing references', async () => {
    const prefix = uniqueName('cx').replace('-', '_');
    const id = { namespace: ['shop'], name: 'ledger' };
    const model = new Map<number, string>();
    const file = path.join(dir, `${uniqueName('c')}.csv`);
    await writeFile(file, `${['id,v,op', ...changes(model, 0, 600, 3)].join('\n')}\n`);
    const topic = (await produceCsv(kafka, registry, { input: await prepareCsvInput(file), namespace: 'shop', table: 'ledger', keyColumns: ['id'], opColumn: 'op', topicPrefix: prefix, partitions: 1 })).topic;
    const sink = await startTestSink(kafka, registry, fixture.catalog, { prefix, topics: [topic], flush: { intervalMs: 1500, rows: 50 } });
    try {
      await waitCaughtUp(kafka, fixture.catalog, id, topic);
    } finally {
      await sink.stop();
    }
    // Compact first, so the older snapshots reference files the current one does not.
    await compactTable({ catalog: fixture.catalog, identifier: id, logger, expire: false, removeOrphans: false, policy: { minInputFiles: 2 } });
    const table = await fixture.catalog.loadTable(id);
    const dataDir = localPathOf(`${table.metadata.location}/data`);
    const oldOrphan = path.join(dataDir, 'crashed-writer.parquet');
    const youngOrphan = path.join(dataDir, 'in-flight.parquet');
    await writeFile(oldOrphan, 'not referenced');
    await writeFile(youngOrphan, 'not referenced yet');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(oldOrphan, twoDaysAgo, twoDaysAgo);
    const onDisk = async (): Promise<Set<string>> => new Set((await readdir(localPathOf(table.metadata.location), { recursive: true })).map((f) => path.join(localPathOf(table.metadata.location), f)));
    const beforeFiles = await onDisk();
    const known = new Set([...(await allKnownFiles(table))].map((f) => localPathOf(normalizeLocation(f))));

    const result = await compactTable({ catalog: fixture.catalog, identifier: id, logger, rewrite: false, removeOrphans: true, policy: { maxSnapshotAgeMs: 0, orphanMinAgeMs: 24 * 3600 * 1000 } });
    const expired = await fixture.catalog.loadTable(id);
    assert.equal(expired.metadata.snapshots.length, 1, 'only the current snapshot is kept');
    assert.ok(result.expiredSnapshots > 1 && result.expiredFiles > 0, JSON.stringify(result));
    assert.equal(result.orphansRemoved, 1);
    const stillKnown = new Set([...(await allKnownFiles(expired))].map((f) => localPathOf(normalizeLocation(f))));
    for (const f of stillKnown) await stat(f); // every file the table still references exists
    const afterFiles = await onDisk();
    for (const f of beforeFiles) {
      if (afterFiles.has(f) || (await stat(f).catch(() => undefined))?.isDirectory()) continue;
      assert.ok(!stillKnown.has(f), `${f} was deleted but is still referenced`);
      assert.ok(f === oldOrphan || known.has(f), `${f} was deleted but was neither an old orphan nor a file of an expired snapshot`);
    }
    assert.ok(!afterFiles.has(oldOrphan), 'the old orphan is gone');
    assert.ok(afterFiles.has(youngOrphan), 'a file younger than the safety window stays');
    assert.deepEqual(plain(await readTable(fixture.catalog, id)), modelRows(model));
  });
});
