// The generated SQL, run against an in-memory DuckDB over small Parquet files written with Iceberg field ids.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { buildSchema } from '../../catalog/spec/schema.js';
import { decimal, fixed, primitive } from '../../catalog/spec/types.js';
import { openDuckDB, quoteLiteral } from '../../shared/duckdb.js';
import { DuckHouseError } from '../../shared/errors.js';
import { META_DDL, saveFilesSql } from './meta-store.js';
import type { TimeTravel, ViewNames } from './view-sql.js';
import { checkColumns, createObjectsSql, dropObjectsSql, qualified, viewColumnType, viewNames } from './view-sql.js';

// Schema 1: id, name, snapshot_id, ts. Schema 2: `name` renamed to `label`, `extra` added. The columns named like the
// macro parameters check that the parameters are never captured by a column.
const v1 = buildSchema([
  { name: 'id', type: primitive('long'), required: true },
  { name: 'name', type: primitive('string') },
  { name: 'snapshot_id', type: primitive('int') },
  { name: 'ts', type: primitive('string') },
]).schema;
const v2 = { ...v1, schemaId: 1, fields: [...v1.fields.map((f) => (f.name === 'name' ? { ...f, name: 'label' } : f)), { id: 5, name: 'extra', required: false, type: primitive('double') }] };

let dir = '';
let instance: DuckDBInstance;
let connection: DuckDBConnection;
const local = (name: string): string => path.join(dir, name);
const rows = async (sql: string): Promise<unknown[][]> => (await connection.runAndReadAll(sql)).getRowsJS();

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-view-sql-'));
  ({ instance, connection } = await openDuckDB());
  await connection.run(`COPY (SELECT i::BIGINT AS id, 'n' || i AS name, i::INT AS snapshot_id, 't' || i AS ts FROM range(3) r(i)) TO ${quoteLiteral(local('f1.parquet'))} (FORMAT parquet, FIELD_IDS {id: 1, name: 2, snapshot_id: 3, ts: 4})`);
  await connection.run(`COPY (SELECT (10 + i)::BIGINT AS id, 'l' || i AS label, 0 AS snapshot_id, 'u' AS ts, i * 1.5 AS extra FROM range(2) r(i)) TO ${quoteLiteral(local('f2.parquet'))} (FORMAT parquet, FIELD_IDS {id: 1, label: 2, snapshot_id: 3, ts: 4, extra: 5})`);
  await connection.run(`COPY (SELECT 's3://b/t/f1.parquet' AS file_path, 1::BIGINT AS pos) TO ${quoteLiteral(local('d1.parquet'))} (FORMAT parquet)`);
  for (const sql of META_DDL) await connection.run(sql);
});

after(async () => {
  connection.closeSync();
  instance.closeSync();
  await rm(dir, { recursive: true, force: true });
});

describe('view-sql', () => {
  it('names the objects of a table, and refuses the internal schema as a namespace', () => {
    const names = viewNames({ namespace: ['sales', 'eu'], name: 'orders' });
    assert.deepEqual(names, { tableName: 'sales.eu.orders', schema: 'sales.eu', view: 'orders', snapshots: 'orders$snapshots', history: 'orders$history', atSnapshot: 'orders$at_snapshot', asOf: 'orders$as_of' });
    assert.throws(() => viewNames({ namespace: ['_DuckHouse'], name: 't' }), /reserved/);
  });

  it('maps Iceberg types to DuckDB types, nested ones included', () => {
    const { schema } = buildSchema([
      { name: 's', type: { kind: 'struct', fields: [{ name: 'a b', type: primitive('int') }, { name: 'd', type: decimal(10, 2) }] } },
      { name: 'l', type: { kind: 'list', element: primitive('timestamptz') } },
      { name: 'm', type: { kind: 'map', key: primitive('string'), value: fixed(4) } },
    ]);
    assert.deepEqual(schema.fields.map((f) => viewColumnType(f.type, f.name)), ['STRUCT("a b" INTEGER, "d" DECIMAL(10,2))', 'TIMESTAMPTZ[]', 'MAP(VARCHAR, BLOB)']);
    assert.equal(viewColumnType(primitive('timestamptz_ns'), 'x'), 'TIMESTAMPTZ');
  });

  it('refuses columns the views cannot carry', () => {
    const clash = { ...v1, fields: [...v1.fields, { id: 9, name: '__duckhouse_file', required: false, type: primitive('string') }] };
    assert.throws(() => checkColumns('t', [clash], clash, false), /reserved/);
    const positions = { ...v1, fields: [...v1.fields, { id: 9, name: 'file_row_number', required: false, type: primitive('long') }] };
    assert.throws(() => checkColumns('t', [positions, v2], v2, true), (e: unknown) => e instanceof DuckHouseError && /schema 0 has a column named "file_row_number"/.test(e.message));
    checkColumns('t', [positions, v2], v2, false);
  });

  const names: ViewNames = viewNames({ namespace: ['we"ird'], name: "it's" });
  const q = (name: string): string => qualified(names.schema, name);
  const files = [
    { location: 's3://b/t/f1.parquet', localPath: local('f1.parquet'), content: 0 as const, firstOrdinal: 1n, lastOrdinal: null },
    { location: 's3://b/t/d1.parquet', localPath: local('d1.parquet'), content: 1 as const, firstOrdinal: 2n, lastOrdinal: null },
    { location: 's3://b/t/f2.parquet', localPath: local('f2.parquet'), content: 0 as const, firstOrdinal: 2n, lastOrdinal: null },
  ];
  const timeTravel = (): TimeTravel => ({
    tableName: names.tableName,
    fields: v2.fields,
    snapshots: [{ snapshotId: 100n, ordinal: 1n, committedAtMs: Date.UTC(2024, 0, 1) }, { snapshotId: 200n, ordinal: 2n, committedAtMs: Date.UTC(2024, 0, 2) }],
    files: files.map((f) => ({ ...f, localPath: local(path.basename(f.localPath)) })),
  });

  it('creates the views and macros of a table with quotes in its names; columns follow field ids; deletes apply', async () => {
    const tt = timeTravel();
    const statements = [
      ...saveFilesSql(names.tableName, { inserted: tt.files, ended: [], prunedBefore: undefined }, true, (l) => tt.files.find((f) => f.location === l)!.localPath),
      ...createObjectsSql(names, { current: { tableName: names.tableName, fields: v2.fields, dataFiles: [tt.files[0]!.localPath, tt.files[2]!.localPath], deleteFiles: [tt.files[1]!.localPath] }, timeTravel: tt }),
    ];
    for (const sql of statements) await connection.run(sql);
    assert.deepEqual(await rows(`SELECT * FROM ${q(names.view)} ORDER BY id`), [
      [0n, 'n0', 0, 't0', null], [2n, 'n2', 2, 't2', null], [10n, 'l0', 0, 'u', 0], [11n, 'l1', 0, 'u', 1.5],
    ]);
    assert.deepEqual(await rows(`SELECT id, label FROM ${q(names.atSnapshot)}(100) ORDER BY id`), [[0n, 'n0'], [1n, 'n1'], [2n, 'n2']]);
    assert.deepEqual(await rows(`SELECT id FROM ${q(names.atSnapshot)}(200) ORDER BY id`), [[0n], [2n], [10n], [11n]]);
    assert.deepEqual(await rows(`SELECT count(*) FROM ${q(names.asOf)}(TIMESTAMPTZ '2024-01-01 12:00:00+00')`), [[3n]]);
    assert.deepEqual(await rows(`SELECT count(*) FROM ${q(names.asOf)}('2024-01-05')`), [[4n]]);
    await assert.rejects(rows(`SELECT * FROM ${q(names.atSnapshot)}(300)`), /table we"ird\.it's has no snapshot 300 in its current history/);
    await assert.rejects(rows(`SELECT * FROM ${q(names.asOf)}('2023-12-31')`), /no snapshot in its current history committed at or before 2023-12-31/);
    for (const sql of dropObjectsSql(names)) await connection.run(sql);
    assert.deepEqual(await rows(`SELECT count(*) FROM duckdb_views() WHERE schema_name = 'we"ird'`), [[0n]]);
    assert.deepEqual(await rows(`SELECT count(*) FROM duckdb_functions() WHERE schema_name = 'we"ird'`), [[0n]]);
  });

  it('gives a table without data files the right columns and no rows; its macros still check the snapshot', async () => {
    const empty = viewNames({ namespace: ['e'], name: 't' });
    const tt: TimeTravel = { tableName: empty.tableName, fields: v2.fields, snapshots: [{ snapshotId: 7n, ordinal: 1n, committedAtMs: 0 }], files: [] };
    for (const sql of createObjectsSql(empty, { current: { tableName: empty.tableName, fields: v2.fields, dataFiles: [], deleteFiles: [] }, timeTravel: tt })) await connection.run(sql);
    assert.deepEqual(await rows(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'e' AND table_name = 't' ORDER BY ordinal_position`),
      [['id', 'BIGINT'], ['label', 'VARCHAR'], ['snapshot_id', 'INTEGER'], ['ts', 'VARCHAR'], ['extra', 'DOUBLE']]);
    assert.deepEqual(await rows('SELECT count(*) FROM "e"."t"'), [[0n]]);
    assert.deepEqual(await rows('SELECT count(*) FROM "e"."t$at_snapshot"(7)'), [[0n]]);
    await assert.rejects(rows('SELECT * FROM "e"."t$at_snapshot"(8)'), /has no snapshot 8/);
    const none: TimeTravel = { ...tt, snapshots: [] };
    for (const sql of createObjectsSql(empty, { current: { tableName: empty.tableName, fields: v2.fields, dataFiles: [], deleteFiles: [] }, timeTravel: none })) await connection.run(sql);
    await assert.rejects(rows(`SELECT * FROM "e"."t$as_of"(now())`), /no snapshot in its current history/);
  });
});
