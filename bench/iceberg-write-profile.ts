// The breakdown part of bench/iceberg-write.ts: the pieces of a single-commit Iceberg write timed one at a time on the
// same rows, so the gap to the DuckDB baseline can be attributed (DuckDB's Parquet encoding at 1 vs all threads, the
// writer's COPY options, the Arrow → DuckDB copy, RETURN_STATS parsing) plus what-ifs: the writer's DuckDB pinned to
// one thread, and two files written at once. The what-ifs set `threads` on the writer's DuckDB in this process only.
// Must never: change what the writer does; it only calls the writer's public functions and DuckDB.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { RecordBatch } from 'apache-arrow';
import path from 'node:path';
import { DataFileContent } from '../src/catalog/spec/manifest.js';
import { connectWriterDuckDB, registerSource, SCAN_FUNCTION } from '../src/catalog/writer/arrow-scan.js';
import { dataFileFromStats, metricsModes } from '../src/catalog/writer/data-file.js';
import { fieldIdsClause, leafColumns } from '../src/catalog/writer/duckdb-types.js';
import { closeWriterDuckDB, writeParquetFile } from '../src/catalog/writer/parquet-file.js';
import { columnStatsByFieldId, parseCopyStatsRow } from '../src/catalog/writer/parquet-stats.js';
import { openDuckDB, quoteLiteral } from '../src/shared/duckdb.js';
import { makeBatches, SCHEMA, selectSql } from './iceberg-write-data.js';
import { timer } from './measure.js';

export interface ProfileOptions { rows: number; batchRows: number; repeat: number; dir: string }

export interface ProfileStep {
  label: string;
  /** Rows the step handles per run (0: not a per-row step, e.g. parsing one stats row). */
  rows: number;
  seconds: number[];
  cpu: number[];
}

/** The writer's COPY options (parquet-file.ts copySql), minus the source. */
const WRITER_OPTIONS = `FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880, FIELD_IDS ${fieldIdsClause(SCHEMA.fields)}, RETURN_STATS`;

async function timed(repeat: number, run: () => Promise<void>): Promise<{ seconds: number[]; cpu: number[] }> {
  const seconds: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const stop = timer();
    await run();
    const t = stop();
    seconds.push(t.wall);
    cpu.push(t.cpu);
  }
  return { seconds, cpu };
}

async function duckdbSteps(o: ProfileOptions, steps: ProfileStep[]): Promise<Record<string, unknown>> {
  const { instance, connection } = await openDuckDB();
  const file = quoteLiteral(path.join(o.dir, 'profile-duckdb.parquet'));
  let statsRow: Record<string, unknown> = {};
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    await connection.run(`CREATE TABLE t AS ${selectSql(o.rows)}`);
    const threads = String((await connection.runAndReadAll(`SELECT current_setting('threads') AS n`)).getRowObjectsJson()[0]?.n);
    await connection.run('SET threads = 1');
    steps.push({ label: 'DuckDB COPY from its table, threads = 1 (plain options, as the baseline)', rows: o.rows, ...(await timed(o.repeat, () => connection.run(`COPY (SELECT * FROM t) TO ${file} (FORMAT parquet, COMPRESSION zstd)`).then(() => undefined))) });
    steps.push({ label: "DuckDB COPY from its table, threads = 1, the writer's COPY options (FIELD_IDS, RETURN_STATS)", rows: o.rows, ...(await timed(o.repeat, async () => {
      statsRow = (await connection.runAndReadAll(`COPY (SELECT * FROM t) TO ${file} (${WRITER_OPTIONS})`)).getRowObjectsJson()[0] as Record<string, unknown>;
    })) });
    await connection.run(`SET threads = ${threads}`);
    steps.push({ label: `DuckDB COPY from its table, threads = ${threads}, the writer's COPY options`, rows: o.rows, ...(await timed(o.repeat, () => connection.run(`COPY (SELECT * FROM t) TO ${file} (${WRITER_OPTIONS})`).then(() => undefined))) });
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return statsRow;
}

/** The writer's shared DuckDB's `threads` setting (set first when `set` is given; this process only). */
async function writerThreads(set?: number): Promise<number> {
  const connection = await connectWriterDuckDB();
  try {
    if (set !== undefined) await connection.run(`SET GLOBAL threads = ${set}`);
    return Number((await connection.runAndReadAll(`SELECT current_setting('threads') AS n`)).getRowObjectsJson()[0]?.n);
  } finally {
    connection.closeSync();
  }
}

async function scanOnly(batches: RecordBatch[]): Promise<void> {
  const { id, release } = registerSource(SCHEMA.fields, batches);
  let connection: DuckDBConnection | undefined;
  try {
    connection = await connectWriterDuckDB();
    await connection.run(`SELECT count(*) FROM (SELECT * FROM ${SCAN_FUNCTION}(${id}))`);
  } finally {
    release();
    connection?.closeSync();
  }
}

export async function profileRoutes(o: ProfileOptions): Promise<ProfileStep[]> {
  const steps: ProfileStep[] = [];
  const statsRow = await duckdbSteps(o, steps);
  const batches = makeBatches(0, o.rows, o.batchRows);
  const write = async (label: string, parts: number): Promise<void> => {
    const per = Math.ceil(batches.length / parts);
    const slices = Array.from({ length: parts }, (_, k) => batches.slice(k * per, (k + 1) * per));
    const run = await timed(o.repeat, async () => {
      await Promise.all(slices.map((part, k) => writeParquetFile({ schema: SCHEMA, batches: part, path: path.join(o.dir, `profile-${parts}-${k}.parquet`) })));
    });
    steps.push({ label, rows: o.rows, ...run });
  };
  try {
    steps.push({ label: "Arrow → DuckDB only: the writer's scan (1 thread) into count(*)", rows: o.rows, ...(await timed(o.repeat, () => scanOnly(batches))) });
    const threads = await writerThreads();
    await write(`writeParquetFile as the writer runs it (writer DuckDB threads = ${threads}): scan → COPY + stats`, 1);
    await write(`what-if: 2 files written at once, half the rows each (threads = ${threads})`, 2);
    await writerThreads(1);
    await write('what-if: writeParquetFile with the writer DuckDB at threads = 1', 1);
    await write('what-if: 2 files at once, writer DuckDB at threads = 1', 2);
  } finally {
    await closeWriterDuckDB();
  }
  const calls = 1000;
  const parse = await timed(o.repeat, async () => {
    for (let i = 0; i < calls; i++) {
      const stats = parseCopyStatsRow(statsRow);
      dataFileFromStats({
        content: DataFileContent.DATA, path: 'x.parquet', specId: 0, partition: [], recordCount: stats.count, fileSizeInBytes: stats.fileSizeBytes,
        columns: columnStatsByFieldId(leafColumns(SCHEMA.fields), stats), schema: SCHEMA, metrics: metricsModes(SCHEMA, {}),
      });
    }
  });
  steps.push({ label: 'RETURN_STATS row → ColumnStats → DataFile (JS), per file', rows: 0, seconds: parse.seconds.map((s) => s / calls), cpu: parse.cpu.map((s) => s / calls) });
  return steps;
}
