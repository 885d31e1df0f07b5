// Benchmark: Arrow RecordBatches (the sink's format) → ZSTD Parquet with Iceberg field ids, by route, in one run.
// Prints rows/s, the ratio to a DuckDB-only baseline, peak RSS and file size per route, and checks every output
// (field ids on every column, MICROS timestamps, identical content). Never passes or fails on time.
//   node --import tsx bench/parquet-writer.ts [--rows N] [--batch-rows N] [--repeat N]
// Each route runs in its own child process so its peak RSS is its own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBDataChunk } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { DataType } from 'apache-arrow';
import { DateDay, Decimal, Field, Float64, Int32, Int64, List, makeData, RecordBatch, Schema, Struct, Table, tableToIPC, TimestampMicrosecond, Utf8, Bool, vectorFromArray } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm/node';
import { fillVector, planVector, stagingType } from '../src/catalog/writer/arrow-vectors.js';
import { duckdbSqlType, fieldIdsClause } from '../src/catalog/writer/duckdb-types.js';
import { closeWriterDuckDB, writeParquetFile } from '../src/catalog/writer/parquet-file.js';
import type { FieldSpec } from '../src/catalog/spec/schema.js';
import { buildSchema } from '../src/catalog/spec/schema.js';
import { benchColumns } from './iceberg-write-data.js';
import { openDuckDB, quoteIdent, quoteLiteral } from '../src/shared/duckdb.js';

const ROUTES = {
  'duckdb-table-function': 'DuckDB: table function streamed into COPY (the writer)',
  'duckdb-appender-chunks': 'DuckDB: appender fed data chunks → temp table → COPY',
  'parquet-wasm': 'parquet-wasm 0.8 (ZSTD, dictionary on)',
  'parquet-wasm-nodict': 'parquet-wasm 0.8 (ZSTD, dictionary off)',
  'duckdb-scan-only': 'DuckDB: table function into count(*) (Arrow → DuckDB copy cost alone)',
  baseline: 'baseline: DuckDB COPY (SELECT … FROM range(N)) TO parquet',
} as const;
type Route = keyof typeof ROUTES;

const FIELDS: FieldSpec[] = [
  { name: 'id', type: { kind: 'long' }, required: true },
  { name: 'qty', type: { kind: 'int' } },
  { name: 'price', type: { kind: 'double' } },
  { name: 'email', type: { kind: 'string' } },
  { name: 'flag', type: { kind: 'boolean' } },
  { name: 'day', type: { kind: 'date' } },
  { name: 'ts', type: { kind: 'timestamp' } },
  { name: 'amount', type: { kind: 'decimal', precision: 12, scale: 2 } },
  { name: 'status', type: { kind: 'string' } },
  { name: 'seq', type: { kind: 'long' } },
  { name: 'tags', type: { kind: 'list', element: { kind: 'string' } } },
];
const { schema } = buildSchema(FIELDS);

// The same data in SQL, for the baseline (and for the content check: every route must write exactly these rows).
const BASELINE_SELECT = `SELECT i::BIGINT AS id, (i % 1000)::INTEGER AS qty, (i % 100000) * 0.25::DOUBLE AS price,
  'customer-' || ((i * 7919) % 100000) || '@example.com' AS email, i % 3 = 0 AS flag,
  (DATE '2020-01-01' + (i % 2000)::INTEGER) AS day, TIMESTAMP '2024-01-01' + to_microseconds(i * 1000003) AS ts,
  ((((i * 7) % 2000000) - 1000000)::DECIMAL(18,0) * 0.01)::DECIMAL(12,2) AS amount,
  CASE WHEN i % 5 = 0 THEN NULL ELSE ['pending', 'paid', 'shipped', 'delivered'][(i % 4) + 1] END AS status,
  ((i * 31) % 1000003)::BIGINT AS seq,
  CASE WHEN i % 4 = 0 THEN []::VARCHAR[] ELSE ['t' || (i % 10), 'x' || (i % 7)] END AS tags
  FROM range(?) r(i)`;

function arrowField(name: string, type: DataType, id: number, nullable = true): Field {
  return new Field(name, type, nullable, new Map([['PARQUET:field_id', String(id)]]));
}

function makeBatches(rows: number, batchRows: number): RecordBatch[] {
  const ids = new Map(FIELDS.map((f, i) => [f.name, schema.fields[i]!.id]));
  const id = (name: string): number => ids.get(name)!;
  const tagsField = schema.fields.find((f) => f.name === 'tags')!;
  const elementId = tagsField.type.kind === 'list' ? tagsField.type.elementId : 0;
  const arrowSchema = new Schema([
    arrowField('id', new Int64(), id('id'), false), arrowField('qty', new Int32(), id('qty')), arrowField('price', new Float64(), id('price')),
    arrowField('email', new Utf8(), id('email')), arrowField('flag', new Bool(), id('flag')), arrowField('day', new DateDay(), id('day')),
    arrowField('ts', new TimestampMicrosecond(), id('ts')), arrowField('amount', new Decimal(2, 12, 128), id('amount')),
    arrowField('status', new Utf8(), id('status')), arrowField('seq', new Int64(), id('seq')),
    arrowField('tags', new List(arrowField('element', new Utf8(), elementId)), id('tags')),
  ]);
  const types = arrowSchema.fields.map((f) => f.type);
  const batches: RecordBatch[] = [];
  for (let begin = 0; begin < rows; begin += batchRows) {
    const n = Math.min(batchRows, rows - begin);
    const at = (k: number): number => begin + k;
    const columns = [
      ...benchColumns(begin, n, types),
      vectorFromArray(Array.from({ length: n }, (_, k) => (at(k) % 4 === 0 ? [] : [`t${at(k) % 10}`, `x${at(k) % 7}`])), types[10] as List).data[0]!,
    ];
    batches.push(new RecordBatch(arrowSchema, makeData({ type: new Struct(arrowSchema.fields), length: n, children: columns })));
  }
  return batches;
}

// ---- routes: each writes `file` from the same batches; the timing wraps the whole call ----

async function duckdbTableFunction(batches: RecordBatch[], file: string): Promise<void> {
  await writeParquetFile({ schema, batches, path: file });
}

async function duckdbAppenderChunks(batches: RecordBatch[], file: string): Promise<void> {
  const { instance, connection } = await openDuckDB();
  try {
    const columns = schema.fields.map((f) => `${quoteIdent(f.name)} ${stagingType(f.type).toString()}`);
    await connection.run(`CREATE TEMP TABLE staging (${columns.join(', ')})`);
    const appender = await connection.createAppender('staging');
    const types = schema.fields.map((f) => stagingType(f.type));
    for (const batch of batches) {
      const plans = schema.fields.map((f) => planVector(f.type, batch.schema.fields.find((a) => a.name === f.name)?.type, f.name, f.required, true));
      for (let row = 0; row < batch.numRows; row += 2048) {
        const count = Math.min(2048, batch.numRows - row);
        const chunk = DuckDBDataChunk.create(types, count);
        plans.forEach((plan, c) => fillVector(duckdb.data_chunk_get_vector(chunk.chunk, c), plan, batch.data.children[c], row, count));
        appender.appendDataChunk(chunk);
      }
    }
    appender.closeSync();
    const select = schema.fields.map((f) => `CAST(${quoteIdent(f.name)} AS ${duckdbSqlType(f.type)}) AS ${quoteIdent(f.name)}`).join(', ');
    await connection.run(`COPY (SELECT ${select} FROM staging) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${fieldIdsClause(schema.fields)}, RETURN_STATS)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function parquetWasm(dictionary: boolean) {
  return async (batches: RecordBatch[], file: string): Promise<void> => {
    const table = WasmTable.fromIPCStream(tableToIPC(new Table(batches), 'stream'));
    const properties = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).setDictionaryEnabled(dictionary).setMaxRowGroupSize(122_880).build();
    writeFileSync(file, writeParquet(table, properties));
  };
}

async function duckdbScanOnly(batches: RecordBatch[]): Promise<void> {
  // The writer's own scan, consumed by count(*): what the Arrow → DuckDB copy costs without Parquet encoding.
  const { registerSource, connectWriterDuckDB, SCAN_FUNCTION } = await import('../src/catalog/writer/arrow-scan.js');
  const { id, release } = registerSource(schema.fields, batches);
  const connection = await connectWriterDuckDB();
  try {
    await connection.run(`SELECT count(*) FROM (SELECT * FROM ${SCAN_FUNCTION}(${id}))`);
  } finally {
    release();
    connection.closeSync();
  }
}

async function baseline(rows: number, file: string): Promise<void> {
  const { instance, connection } = await openDuckDB();
  try {
    const sql = BASELINE_SELECT.replace('range(?)', `range(${rows})`);
    await connection.run(`COPY (${sql}) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${fieldIdsClause(schema.fields)}, RETURN_STATS)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

// ---- child: one route, timed ----

interface ChildResult {
  route: Route;
  seconds: number[];
  file?: string;
  bytes?: number;
  dataRssMb: number;
  peakRssMb: number;
}

async function runChild(route: Route, rows: number, batchRows: number, repeat: number, dir: string): Promise<ChildResult> {
  const batches = route === 'baseline' ? [] : makeBatches(rows, batchRows);
  const dataRssMb = process.memoryUsage().rss / 2 ** 20;
  const file = path.join(dir, `${route}.parquet`);
  const seconds: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const started = process.hrtime.bigint();
    if (route === 'duckdb-table-function') await duckdbTableFunction(batches, file);
    else if (route === 'duckdb-appender-chunks') await duckdbAppenderChunks(batches, file);
    else if (route === 'parquet-wasm') await parquetWasm(true)(batches, file);
    else if (route === 'parquet-wasm-nodict') await parquetWasm(false)(batches, file);
    else if (route === 'duckdb-scan-only') await duckdbScanOnly(batches);
    else await baseline(rows, file);
    seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  await closeWriterDuckDB();
  const written = route === 'duckdb-scan-only' ? {} : { file, bytes: statSync(file).size };
  return { route, seconds, ...written, dataRssMb, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

// ---- parent: run every route, verify, print ----

async function verify(results: ChildResult[], rows: number): Promise<Map<Route, string>> {
  const { instance, connection } = await openDuckDB();
  const notes = new Map<Route, string>();
  try {
    const expectedIds = [...new Set(FIELDS.flatMap((_, i) => collectIds(schema.fields[i]!)))].sort((a, b) => a - b);
    const reference = (await connection.runAndReadAll(`SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY id)) FROM (${BASELINE_SELECT.replace('range(?)', `range(${rows})`)}) t`)).getRows()[0]?.[0];
    for (const result of results) {
      if (!result.file) continue;
      const file = quoteLiteral(result.file);
      const schemaRows = (await connection.runAndReadAll(`SELECT name, field_id, num_children, logical_type FROM parquet_schema(${file})`)).getRowObjectsJson();
      const leavesWithoutId = schemaRows.filter((r) => r.num_children === null && r.field_id === null).map((r) => String(r.name));
      const ids = schemaRows.filter((r) => r.field_id !== null).map((r) => Number(r.field_id)).sort((a, b) => a - b);
      const ts = String(schemaRows.find((r) => r.name === 'ts')?.logical_type ?? '');
      const digest = (await connection.runAndReadAll(`SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY id)) FROM read_parquet(${file}) t`)).getRows()[0]?.[0];
      const problems = [
        ...(leavesWithoutId.length ? [`leaves without field_id: ${leavesWithoutId.join(', ')}`] : []),
        ...(JSON.stringify(ids) === JSON.stringify(expectedIds) ? [] : [`field ids ${ids.join(',')} ≠ ${expectedIds.join(',')}`]),
        ...(ts.includes('MICROS=MicroSeconds()') ? [] : [`ts logical type ${ts}`]),
        ...(digest === reference ? [] : ['content differs from the baseline']),
      ];
      notes.set(result.route, problems.length ? `PROBLEM: ${problems.join('; ')}` : 'field ids on all columns (nested too), MICROS, same rows');
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return notes;
}

function collectIds(field: { id: number; type: { kind: string } }): number[] {
  const type = field.type as { kind: string; elementId?: number };
  return type.kind === 'list' && type.elementId !== undefined ? [field.id, type.elementId] : [field.id];
}

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index < 0 ? fallback : Number(process.argv[index + 1]);
}

async function main(): Promise<void> {
  const rows = argument('--rows', 1_000_000);
  const batchRows = argument('--batch-rows', 65_536);
  const repeat = argument('--repeat', 3);
  const childRoute = process.argv[process.argv.indexOf('--child') + 1] as Route | undefined;
  if (process.argv.includes('--child') && childRoute) {
    const dir = process.argv[process.argv.indexOf('--dir') + 1] ?? tmpdir();
    process.stdout.write(JSON.stringify(await runChild(childRoute, rows, batchRows, repeat, dir)));
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'duckhouse-bench-'));
  const self = fileURLToPath(import.meta.url);
  try {
    console.log(`Arrow → ZSTD Parquet with field ids: ${rows.toLocaleString('en')} rows × ${FIELDS.length} columns (10 primitive + list<string>), batches of ${batchRows.toLocaleString('en')} rows, best of ${repeat}`);
    console.log(`${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start (other work on the machine widens the spread of runs)`);
    const results: ChildResult[] = [];
    for (const route of Object.keys(ROUTES) as Route[]) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', route, '--rows', String(rows), '--batch-rows', String(batchRows), '--repeat', String(repeat), '--dir', dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
      results.push(JSON.parse(out) as ChildResult);
    }
    const notes = await verify(results, rows);
    const best = (r: ChildResult): number => Math.min(...r.seconds);
    const median = (r: ChildResult): number => [...r.seconds].sort((a, b) => a - b)[Math.floor(r.seconds.length / 2)]!;
    const base = results.find((r) => r.route === 'baseline');
    const baseRate = base ? rows / best(base) : NaN;
    for (const r of results) {
      const rate = rows / best(r);
      console.log(`\n${ROUTES[r.route]}`);
      console.log(`  ${(rate / 1e6).toFixed(2)}M rows/s, ×${(rate / baseRate).toFixed(2)} of baseline (best ${best(r).toFixed(3)} s, median ${median(r).toFixed(3)} s; runs ${r.seconds.map((s) => s.toFixed(3)).join(' / ')})`);
      console.log(`  peak RSS ${r.peakRssMb.toFixed(0)} MB (after building the Arrow batches: ${r.dataRssMb.toFixed(0)} MB)${r.bytes === undefined ? '' : `  file ${(r.bytes / 2 ** 20).toFixed(2)} MB`}`);
      if (notes.has(r.route)) console.log(`  check: ${notes.get(r.route)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
