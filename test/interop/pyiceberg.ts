// Interop test support: a reference model of rows, Arrow batches for the test schema, and PyIceberg (the independent
// reader) reading a table through its SQL catalog and through StaticTable.from_metadata.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { DateDay, Float64, Int32, Int64, makeData, RecordBatch, TimestampMicrosecond, Utf8, vectorFromArray } from 'apache-arrow';
import type { Table } from '../../src/catalog/catalogs/catalog.js';
import { formatIdentifier } from '../../src/catalog/catalogs/catalog.js';
import type { DataFile } from '../../src/catalog/spec/manifest.js';
import { TableWriter } from '../../src/catalog/writer/table-writer.js';
import type { FieldSpec } from '../../src/catalog/spec/schema.js';
import { primitive } from '../../src/catalog/spec/types.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';
import type { CatalogFixture } from '../integration/catalog-fixtures.js';
import { endpoints } from '../integration/helpers.js';

const run = promisify(execFile);

export interface Row {
  id: bigint;
  name: string | null;
  qty: number | null;
  price: number | null;
  day: number | null;
  /** µs since the epoch, UTC. */
  ts: bigint | null;
}

export const TEST_FIELDS: FieldSpec[] = [
  { name: 'id', type: primitive('long'), required: true },
  { name: 'name', type: primitive('string') },
  { name: 'qty', type: primitive('int') },
  { name: 'price', type: primitive('double') },
  { name: 'day', type: primitive('date') },
  { name: 'ts', type: primitive('timestamptz') },
];

const BASE_MICROS = 1_700_000_000_000_000n;

/** Deterministic rows with ids [from, to): spread over years, months, days and hours; some nulls. */
export function makeRows(from: number, to: number, version = 0): Row[] {
  const rows: Row[] = [];
  for (let i = from; i < to; i++) {
    rows.push({
      id: BigInt(i),
      name: i % 7 === 3 ? null : `name-${i % 13}-v${version}`,
      qty: i % 5 === 0 ? null : (i * 37) % 1000,
      price: i % 11 === 0 ? null : (i % 100) / 4,
      day: 19_000 + ((i * 53) % 900) - 450,
      ts: BASE_MICROS + BigInt(i) * 358_912_345_678n * BigInt(version + 1) - 90n * 86_400_000_000n,
    });
  }
  return rows;
}

function mask(values: unknown[]): Uint8Array {
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null) bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return bitmap;
}

function nulls(values: unknown[]): number {
  return values.filter((v) => v === null).length;
}

/** An Arrow batch for rows of the test schema (columns limited to `columns` when given, for evolved schemas). */
export function toBatch(rows: Row[], columns: Record<string, keyof Row> = { id: 'id', name: 'name', qty: 'qty', price: 'price', day: 'day', ts: 'ts' }, options: { longQty?: boolean } = {}): RecordBatch {
  const children: Record<string, ReturnType<typeof makeData>> = {};
  for (const [column, key] of Object.entries(columns)) {
    const values = rows.map((r) => r[key]);
    const length = rows.length;
    const nullBitmap = mask(values);
    const nullCount = nulls(values);
    switch (key) {
      case 'id':
        children[column] = makeData({ type: new Int64(), length, data: BigInt64Array.from(values as bigint[]) });
        break;
      case 'name':
        children[column] = vectorFromArray(values as (string | null)[], new Utf8()).data[0]!;
        break;
      case 'qty':
        if (options.longQty) {
          children[column] = makeData({ type: new Int64(), length, nullCount, nullBitmap, data: BigInt64Array.from(values, (v) => BigInt((v as number | null) ?? 0)) });
          break;
        }
        children[column] = makeData({ type: new Int32(), length, nullCount, nullBitmap, data: Int32Array.from(values, (v) => (v as number | null) ?? 0) });
        break;
      case 'price':
        children[column] = makeData({ type: new Float64(), length, nullCount, nullBitmap, data: Float64Array.from(values, (v) => (v as number | null) ?? 0) });
        break;
      case 'day':
        children[column] = makeData({ type: new DateDay(), length, nullCount, nullBitmap, data: Int32Array.from(values, (v) => (v as number | null) ?? 0) });
        break;
      case 'ts':
        children[column] = makeData({ type: new TimestampMicrosecond('UTC'), length, nullCount, nullBitmap, data: BigInt64Array.from(values, (v) => (v as bigint | null) ?? 0n) });
        break;
    }
  }
  return new RecordBatch(children);
}

/** A row as PyIceberg's JSON shows it (see pyiceberg_read.py), limited to the columns the schema has. */
export function expected(row: Row, columns: Record<string, keyof Row> = { id: 'id', name: 'name', qty: 'qty', price: 'price', day: 'day', ts: 'ts' }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [column, key] of Object.entries(columns)) {
    const v = row[key];
    if (v === null) out[column] = null;
    else if (key === 'id') out[column] = Number(v);
    else if (key === 'day') out[column] = new Date((v as number) * 86_400_000).toISOString().slice(0, 10);
    else if (key === 'ts') {
      const micros = v as bigint;
      const ms = micros / 1000n;
      out[column] = `${new Date(Number(ms)).toISOString().slice(0, 19)}.${String(micros % 1_000_000n).padStart(6, '0')}`;
    } else out[column] = v;
  }
  return out;
}

/** Writes rows of the test schema (or some of its columns) as data files of the table, not yet committed. */
export async function writeRows(table: Table, rows: Row[], options: Parameters<typeof toBatch>[2] = {}, columns?: Parameters<typeof toBatch>[1]): Promise<DataFile[]> {
  const writer = new TableWriter(table);
  await writer.write(toBatch(rows, columns, options));
  return writer.close();
}

export function sortById(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return [...rows].sort((a, b) => Number(a.id) - Number(b.id));
}

export interface PyIcebergView {
  format_version: number;
  current_snapshot_id: string | null;
  schema: string;
  current: Record<string, unknown>[];
  snapshots: Record<string, Record<string, unknown>[]>;
  as_of: Record<string, string | null>;
  history: string[];
  /** Rows of each equality filter, in order (PyIceberg prunes by partition values and column bounds). */
  filtered: Record<string, unknown>[][];
  /** Data files PyIceberg plans for a scan of the current snapshot. */
  files: number;
}

/**
 * Reads the table with PyIceberg through the SQL catalog (when the fixture has one), from its metadata file, and
 * through a REST catalog when `rest` is given.
 */
export async function readWithPyIceberg(
  fx: CatalogFixture,
  table: Table,
  options: { snapshotIds?: bigint[]; asOfMs?: number[]; filters?: [string, unknown][]; rest?: { uri: string; token: string } } = {},
): Promise<Record<'sql' | 'static', PyIcebergView> & { rest?: PyIcebergView }> {
  const python = endpoints().python.python;
  const args = {
    modes: [...(fx.pyiceberg.uri ? ['sql', 'static'] : ['static']), ...(options.rest ? ['rest'] : [])],
    rest: options.rest,
    uri: fx.pyiceberg.uri,
    catalog: fx.pyiceberg.catalog,
    table: formatIdentifier(table.identifier),
    metadata_location: table.metadataLocation,
    snapshot_ids: (options.snapshotIds ?? []).map(String),
    as_of_ms: options.asOfMs ?? [],
    filters: options.filters ?? [],
    s3: fx.pyiceberg.s3 ?? {},
  };
  try {
    const { stdout } = await run(python, [path.join(PROJECT_ROOT, 'test/interop/pyiceberg_read.py'), JSON.stringify(args)], { maxBuffer: 256 * 1024 * 1024 });
    const parsed = JSON.parse(stdout) as Record<'sql' | 'static', PyIcebergView>;
    for (const view of Object.values(parsed)) {
      view.current = sortById(view.current);
      for (const key of Object.keys(view.snapshots)) view.snapshots[key] = sortById(view.snapshots[key]!);
      view.filtered = view.filtered.map(sortById);
    }
    return parsed;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`PyIceberg could not read ${formatIdentifier(table.identifier)} (${table.metadataLocation}):\n${stderr.slice(-3000)}`, { cause: error });
  }
}
