// Benchmark: writing Iceberg tables, measured against a DuckDB-only baseline in the same run. Never passes or fails.
//   node --import tsx bench/iceberg-write.ts [--rows 1000000] [--commits 100] [--samples 50] [--batch-rows N]
//                                            [--repeat 3] [--rounds 2] [--only throughput|latency|all] [--no-profile]
//                                            [--quick] [--out <file.json>]
// Throughput routes run --repeat times per child process, in --rounds rounds that interleave the routes.
// --quick: 100,000 rows, 10 commits, --repeat 3 --rounds 1, throughput only, no breakdown (well under a minute).
// --out: also writes the section's figures (bench/report.ts SectionResult, section 'iceberg-write') for bench/run.ts:
//    rows/s of every run of the 1-commit and the C-commit routes, and the 1-commit route's peak RSS per run, each
//    against the baseline's runs. With --out and no --only, only the throughput part runs (the commit latency has no
//    baseline); `--only all` or `--only latency` adds the latencies as figures without a baseline.
// 1. Throughput: N rows × 10 columns of Arrow batches into an unpartitioned table on a local warehouse (embedded
//    catalog, temp dir) as one commit and as --commits commits; baseline: DuckDB COPY of the same rows, already in a
//    DuckDB table, to ZSTD Parquet (only the COPY is timed). Rows/s, × baseline, cores used, peak RSS, a content check,
//    and where the single commit's time goes. Each route runs in its own child process, so peak RSS is its own.
// 2. Commit latency of commitAction(fastAppend([one small file])) on the embedded catalog (local disk, MinIO) and
//    the SQL catalog (Postgres + MinIO), with the snapshot count it grew to. Uses the running stack (`stack up`).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Table, TableIdentifier } from '../src/catalog/catalogs/catalog.js';
import { localPathOf } from '../src/catalog/io/location.js';
import { manifestsOf } from '../src/catalog/read/manifests.js';
import type { DataFile } from '../src/catalog/spec/manifest.js';
import { DataFileContent } from '../src/catalog/spec/manifest.js';
import { currentSnapshot } from '../src/catalog/spec/table-metadata.js';
import { commitAction } from '../src/catalog/transaction/action.js';
import { fastAppend } from '../src/catalog/transaction/fast-append.js';
import { dataFileFromStats, metricsModes } from '../src/catalog/writer/data-file.js';
import { closeWriterDuckDB, writeParquetFile } from '../src/catalog/writer/parquet-file.js';
import { TableWriter, dataLocation } from '../src/catalog/writer/table-writer.js';
import { openDuckDB, quoteLiteral } from '../src/shared/duckdb.js';
import type { BenchCatalogKind } from './bench-catalogs.js';
import { BENCH_CATALOG_LABELS, benchCatalog, localCatalog } from './bench-catalogs.js';
import { SCHEMA, digestSql, makeBatches, selectSql } from './iceberg-write-data.js';
import type { ProfileStep } from './iceberg-write-profile.js';
import { profileRoutes } from './iceberg-write-profile.js';
import { mean, median, percentile, printTable, processMemory, timer } from './measure.js';
import type { Figure, SectionResult } from './report.js';
import { writeSection } from './report.js';

const TABLE_ROUTES = {
  baseline: 'baseline: DuckDB COPY (SELECT * FROM t) TO parquet (ZSTD)',
  single: 'Iceberg, 1 commit: TableWriter over all batches + 1 fastAppend',
  many: 'Iceberg, C commits: TableWriter + fastAppend per commit',
} as const;
type Route = keyof typeof TABLE_ROUTES | 'profile';

interface Options { rows: number; commits: number; samples: number; batchRows: number; repeat: number; rounds: number; dir: string }

interface RunResult {
  route: Route;
  /** Wall seconds per repetition, and process CPU seconds (user + system, all threads) over the same span. */
  seconds: number[];
  cpu: number[];
  /** Seconds per phase per repetition (e.g. parquet write vs commit). */
  phases: Record<string, number[]>;
  dataRssMb: number;
  peakRssMb: number;
  /** Peak RSS (MB) during each repetition (the process's high-water mark reset before it); empty where Linux's reset is unavailable. */
  runPeakRssMb: number[];
  files: number;
  bytes: number;
  digest: string;
  notes: string[];
  threads?: number;
  profile?: ProfileStep[];
}

async function digestOf(files: readonly string[]): Promise<string> {
  const { instance, connection } = await openDuckDB();
  try {
    const list = `read_parquet([${files.map(quoteLiteral).join(', ')}])`;
    return String((await connection.runAndReadAll(digestSql(list))).getRowObjectsJson()[0]?.digest);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function leavesWithoutFieldId(file: string): Promise<number> {
  const { instance, connection } = await openDuckDB();
  try {
    const rows = (await connection.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM parquet_schema(${quoteLiteral(file)}) WHERE num_children IS NULL AND field_id IS NULL`)).getRowObjectsJson();
    return Number(rows[0]?.n);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

// ---- child: one route ----

async function baseline(o: Options): Promise<RunResult> {
  const { instance, connection } = await openDuckDB();
  const file = path.join(o.dir, 'baseline.parquet');
  const result = emptyResult('baseline');
  try {
    await connection.run(`CREATE TABLE t AS ${selectSql(o.rows)}`);
    result.dataRssMb = rssMb();
    result.threads = Number((await connection.runAndReadAll(`SELECT current_setting('threads') AS n`)).getRowObjectsJson()[0]?.n);
    for (let i = 0; i < o.repeat; i++) {
      const peak = startPeak();
      const stop = timer();
      await connection.run(`COPY (SELECT * FROM t) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION zstd)`);
      record(result, stop(), {}, peak());
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  result.files = 1;
  result.bytes = statSync(file).size;
  result.digest = await digestOf([file]);
  return result;
}

async function icebergSingle(o: Options): Promise<RunResult> {
  const batches = makeBatches(0, o.rows, o.batchRows);
  const result = emptyResult('single');
  result.dataRssMb = rssMb();
  const setup = await localCatalog(path.join(o.dir, 'wh-single'));
  let files: DataFile[] = [];
  try {
    await setup.catalog.createNamespace(['bench']);
    for (let i = 0; i < o.repeat; i++) {
      const id: TableIdentifier = { namespace: ['bench'], name: `single_${i}` };
      const table = await setup.catalog.createTable(id, { schema: SCHEMA });
      const peak = startPeak();
      const stop = timer();
      const writer = new TableWriter(table);
      for (const batch of batches) await writer.write(batch);
      const buffered = stop().wall;
      files = await writer.close();
      const written = stop().wall;
      await commitAction(setup.catalog, id, fastAppend(files), { base: table });
      const total = stop();
      record(result, total, { 'write() calls (buffering)': buffered, 'close(): Parquet write + stats → DataFile': written - buffered, 'commitAction(fastAppend): manifest, list, metadata, pointer': total.wall - written }, peak());
    }
  } finally {
    await closeWriterDuckDB();
  }
  const local = files.map((f) => localPathOf(f.filePath));
  result.files = files.length;
  result.bytes = files.reduce((sum, f) => sum + Number(f.fileSizeInBytes), 0);
  result.digest = await digestOf(local);
  const missing = local.length > 0 ? await leavesWithoutFieldId(local[0]!) : -1;
  result.notes.push(missing === 0 ? 'every Parquet column carries its field id' : `PROBLEM: ${missing} column(s) without a field id`);
  await setup.cleanup();
  return result;
}

async function icebergMany(o: Options): Promise<RunResult> {
  const perCommit = Math.ceil(o.rows / o.commits);
  const groups: ReturnType<typeof makeBatches>[] = [];
  for (let from = 0; from < o.rows; from += perCommit) groups.push(makeBatches(from, Math.min(o.rows, from + perCommit), o.batchRows));
  const result = emptyResult('many');
  result.dataRssMb = rssMb();
  const setup = await localCatalog(path.join(o.dir, 'wh-many'));
  let files: DataFile[] = [];
  try {
    await setup.catalog.createNamespace(['bench']);
    for (let i = 0; i < o.repeat; i++) {
      const id: TableIdentifier = { namespace: ['bench'], name: `many_${i}` };
      let table: Table = await setup.catalog.createTable(id, { schema: SCHEMA });
      files = [];
      let writing = 0;
      const peak = startPeak();
      const stop = timer();
      for (const group of groups) {
        const before = stop().wall;
        const writer = new TableWriter(table);
        for (const batch of group) await writer.write(batch);
        const added = await writer.close();
        writing += stop().wall - before;
        table = (await commitAction(setup.catalog, id, fastAppend(added), { base: table })).table;
        files.push(...added);
      }
      const total = stop();
      record(result, total, { 'TableWriter (write + close), all commits': writing, 'commitAction(fastAppend), all commits': total.wall - writing }, peak());
      if (i === o.repeat - 1) result.notes.push(`${table.metadata.snapshots.length} snapshots in the table at the end`);
    }
  } finally {
    await closeWriterDuckDB();
  }
  result.files = files.length;
  result.bytes = files.reduce((sum, f) => sum + Number(f.fileSizeInBytes), 0);
  result.digest = await digestOf(files.map((f) => localPathOf(f.filePath)));
  await setup.cleanup();
  return result;
}

function emptyResult(route: Route): RunResult {
  return { route, seconds: [], cpu: [], phases: {}, dataRssMb: 0, peakRssMb: 0, runPeakRssMb: [], files: 0, bytes: 0, digest: '', notes: [] };
}

function record(result: RunResult, time: { wall: number; cpu: number }, phases: Record<string, number> = {}, peakMb?: number): void {
  result.seconds.push(time.wall);
  result.cpu.push(time.cpu);
  for (const [name, seconds] of Object.entries(phases)) (result.phases[name] ??= []).push(seconds);
  if (peakMb !== undefined) result.runPeakRssMb.push(peakMb);
}

/** This process's RSS high-water mark (VmHWM) in MB, or undefined off Linux. */
function highWaterMb(): number | undefined {
  const peak = processMemory()?.peak;
  return peak === undefined ? undefined : peak / 1048576;
}

/** The highest RSS high-water mark seen before a reset, so the process's own peak RSS survives the resets. */
let peakBeforeResetsMb = 0;

/**
 * Resets the process's RSS high-water mark to its current RSS (Linux: `5` into /proc/self/clear_refs); the result
 * gives the peak RSS in MB since then, or undefined where the reset is unavailable.
 */
function startPeak(): () => number | undefined {
  peakBeforeResetsMb = Math.max(peakBeforeResetsMb, highWaterMb() ?? 0);
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    return () => undefined;
  }
  return highWaterMb;
}

/** One result from the same route's rounds: all runs, the highest peak RSS, the last round's files and notes. */
function mergeRounds(results: RunResult[]): RunResult {
  const last = results[results.length - 1]!;
  const phases: Record<string, number[]> = {};
  for (const r of results) for (const [name, seconds] of Object.entries(r.phases)) (phases[name] ??= []).push(...seconds);
  const profile = last.profile?.map((step, i) => ({ ...step, seconds: results.flatMap((r) => r.profile?.[i]?.seconds ?? []), cpu: results.flatMap((r) => r.profile?.[i]?.cpu ?? []) }));
  const digests = new Set(results.map((r) => r.digest));
  return {
    ...last,
    seconds: results.flatMap((r) => r.seconds),
    cpu: results.flatMap((r) => r.cpu),
    phases,
    peakRssMb: Math.max(...results.map((r) => r.peakRssMb)),
    runPeakRssMb: results.flatMap((r) => r.runPeakRssMb),
    dataRssMb: Math.max(...results.map((r) => r.dataRssMb)),
    digest: digests.size === 1 ? last.digest : `differs between rounds: ${[...digests].join(' / ')}`,
    ...(profile ? { profile } : {}),
  };
}

const rssMb = (): number => process.memoryUsage().rss / 2 ** 20;

async function runChild(route: Route, o: Options): Promise<RunResult> {
  const result = route === 'baseline' ? await baseline(o) : route === 'single' ? await icebergSingle(o) : route === 'many' ? await icebergMany(o) : { ...emptyResult('profile'), profile: await profileRoutes(o) };
  // getrusage's maxRSS follows the high-water mark, which startPeak resets: the process's peak is the larger of the two.
  result.peakRssMb = Math.max(process.resourceUsage().maxRSS / 1024, peakBeforeResetsMb);
  return result;
}

// ---- commit latency ----

interface Latency {
  kind: BenchCatalogKind;
  ms: number[];
  warmupMs: number;
  snapshots: number;
  manifests: number;
  metadataKb: number;
  /** Commit attempts beyond the first, over the timed commits (conflicts; there is no other writer). */
  retries: number;
  /** FileIO calls and milliseconds per operation, summed over the timed commits (uploads excluded: not timed). */
  io: [string, { calls: number; ms: number }][];
}

async function commitLatency(kind: BenchCatalogKind, samples: number, tiny: { local: string; file: DataFile }): Promise<Latency> {
  const setup = await benchCatalog(kind);
  try {
    const id: TableIdentifier = { namespace: ['bench'], name: 'latency' };
    await setup.catalog.createNamespace(['bench']);
    let table = await setup.catalog.createTable(id, { schema: SCHEMA });
    const ms: number[] = [];
    let warmupMs = 0;
    let retries = 0;
    for (let i = 0; i <= samples; i++) {
      // A real file per commit: the same small Parquet file put under a new path first (not timed).
      const location = `${dataLocation(table)}/latency-${String(i).padStart(5, '0')}-${randomUUID()}.parquet`;
      await table.io.upload(tiny.local, location, { ifNoneMatch: true });
      if (i === 1) setup.io.reset(); // count the timed commits only (the warm-up is i = 0)
      const stop = timer();
      const result = await commitAction(setup.catalog, id, fastAppend([{ ...tiny.file, filePath: location }]));
      const elapsed = stop().wall * 1000;
      table = result.table;
      if (i > 0) retries += result.attempts - 1;
      if (i === 0) warmupMs = elapsed;
      else ms.push(elapsed);
    }
    const io = [...setup.io.totals.entries()].filter(([operation]) => operation !== 'upload'); // uploads precede the timer
    const snapshot = currentSnapshot(table.metadata);
    const manifests = snapshot ? (await manifestsOf(table.io, snapshot)).length : 0;
    const metadataKb = (await table.io.read(table.metadataLocation)).byteLength / 1024;
    return { kind, ms, warmupMs, snapshots: table.metadata.snapshots.length, manifests, metadataKb, io, retries };
  } finally {
    await setup.cleanup();
  }
}

async function tinyFile(dir: string): Promise<{ local: string; file: DataFile }> {
  const local = path.join(dir, 'tiny.parquet');
  const written = await writeParquetFile({ schema: SCHEMA, batches: makeBatches(0, 100, 100), path: local });
  const file = dataFileFromStats({
    content: DataFileContent.DATA, path: local, specId: 0, partition: [], recordCount: written.recordCount, fileSizeInBytes: written.fileSizeInBytes,
    columns: written.columns, schema: SCHEMA, metrics: metricsModes(SCHEMA, {}), sortOrderId: 0,
  });
  return { local, file };
}

// ---- parent: run, check, print ----

const best = (values: readonly number[]): number => Math.min(...values);
const rate = (rows: number, seconds: number): string => `${(rows / seconds / 1e6).toFixed(2)}M`;

function printThroughput(o: Options, results: RunResult[]): void {
  const base = results.find((r) => r.route === 'baseline')!;
  const baseRate = o.rows / best(base.seconds);
  const labels: Record<string, string> = { ...TABLE_ROUTES, many: TABLE_ROUTES.many.replace('C commits', `${o.commits} commits`) };
  console.log(`\n1. Throughput (${o.rounds} rounds × ${o.repeat} runs each; rates from the best run; "cores" = process CPU time / wall time of that run)`);
  printTable(
    ['route', 'best s', 'median s', 'rows/s', '× baseline', 'cores', 'peak RSS', 'files', 'MB', 'same rows as baseline'],
    results.filter((r) => r.route !== 'profile').map((r) => {
      const i = r.seconds.indexOf(best(r.seconds));
      return [labels[r.route] ?? r.route, best(r.seconds).toFixed(3), median(r.seconds).toFixed(3), rate(o.rows, best(r.seconds)), (o.rows / best(r.seconds) / baseRate).toFixed(2),
        ((r.cpu[i] ?? NaN) / best(r.seconds)).toFixed(2), `${r.peakRssMb.toFixed(0)} MB`, String(r.files), (r.bytes / 2 ** 20).toFixed(1),
        r.route === 'baseline' ? '(reference)' : r.digest === base.digest ? 'yes' : `NO (${r.digest} vs ${base.digest})`];
    }),
  );
  console.log(`   baseline: the ${o.rows.toLocaleString('en')} rows were generated with range() into an in-memory DuckDB table first (not timed); DuckDB threads = ${base.threads}.`);
  console.log(`   Iceberg routes: Arrow batches of ≤ ${o.batchRows.toLocaleString('en')} rows built before timing; timed from new TableWriter to the committed snapshot.`);
  console.log(`   peak RSS is each child process's own (after building its input: ${results.filter((r) => r.route !== 'profile').map((r) => `${r.route} ${r.dataRssMb.toFixed(0)} MB`).join(', ')}).`);
  for (const r of results.filter((x) => Object.keys(x.phases).length > 0 || x.notes.length > 0)) {
    const i = r.seconds.indexOf(best(r.seconds));
    console.log(`   ${labels[r.route] ?? r.route}:`);
    for (const [name, seconds] of Object.entries(r.phases)) console.log(`     ${name}: ${(seconds[i] ?? NaN).toFixed(3)} s (${((100 * (seconds[i] ?? NaN)) / best(r.seconds)).toFixed(0)}%)`);
    for (const note of r.notes) console.log(`     ${note}`);
  }
  const profile = results.find((r) => r.route === 'profile')?.profile ?? [];
  if (profile.length === 0) return;
  console.log(`\n   Where the single commit's time goes (same rows, ${o.rounds} × ${o.repeat} runs each; × = best rows/s relative to the baseline):`);
  printTable(['step', 'best s', 'median s', 'rows/s', '× baseline', 'cores'], profile.map((p) => {
    const i = p.seconds.indexOf(best(p.seconds));
    const seconds = (v: number): string => (p.rows === 0 ? `${(v * 1e6).toFixed(0)} µs` : v.toFixed(3));
    return [p.label, seconds(best(p.seconds)), seconds(median(p.seconds)), p.rows === o.rows ? rate(o.rows, best(p.seconds)) : '', p.rows === o.rows ? (o.rows / best(p.seconds) / baseRate).toFixed(2) : '', ((p.cpu[i] ?? NaN) / best(p.seconds)).toFixed(2)];
  }), '   ');
}

function printLatency(results: Latency[], samples: number): void {
  console.log(`\n2. Commit latency: commitAction(catalog, id, fastAppend([1 small data file])), ${samples} samples after 1 warm-up commit`);
  printTable(['catalog', 'mean ms', 'p50 ms', 'p99 ms', 'min ms', 'max ms', 'p50 first 10', 'p50 last 10', 'warm-up ms', 'retries', 'snapshots', 'manifests', 'metadata.json'],
    results.map((l) => {
      const sorted = [...l.ms].sort((a, b) => a - b);
      return [BENCH_CATALOG_LABELS[l.kind], mean(l.ms).toFixed(1), percentile(sorted, 0.5).toFixed(1), percentile(sorted, 0.99).toFixed(1), sorted[0]!.toFixed(1), sorted[sorted.length - 1]!.toFixed(1),
        median(l.ms.slice(0, 10)).toFixed(1), median(l.ms.slice(-10)).toFixed(1), l.warmupMs.toFixed(1), String(l.retries), String(l.snapshots), String(l.manifests), `${l.metadataKb.toFixed(0)} KB`];
    }));
  console.log(`   FileIO per timed commit (calls × mean ms; the rest of a commit is CPU, and for the SQL catalog, Postgres):`);
  for (const l of results) {
    const n = l.ms.length;
    const parts = l.io.map(([operation, t]) => `${operation} ${(t.calls / n).toFixed(1)} × ${(t.ms / t.calls).toFixed(2)} ms`);
    const total = l.io.reduce((sum, [, t]) => sum + t.ms, 0) / n;
    console.log(`     ${BENCH_CATALOG_LABELS[l.kind]}: ${total.toFixed(1)} ms of ${mean(l.ms).toFixed(1)} ms: ${parts.join(', ')}`);
  }
  console.log('   Each commit appends one real 100-row Parquet file (the same bytes put under a new path before the commit, not timed).');
  console.log('   Timed: load the table, write a manifest, read the parent manifest list, write the new list, write metadata.json, swap the pointer.');
  console.log(`   Latency grows with the snapshot count (the manifest list gains one entry per fast append; metadata.json one snapshot). p99 of ${samples} samples is the ${Math.ceil(0.99 * samples)}th smallest.`);
}

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index < 0 ? fallback : Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name}: expected a positive integer, found ${process.argv[index + 1]}`);
  return value;
}

function stringArgument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  if (index < 0) return undefined;
  const value = process.argv[index + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name}: expected a value`);
  return value;
}

// ---- the section for bench/run.ts (--out) ----

const BASELINE_LABEL = 'DuckDB COPY of the same rows (already in a DuckDB table) to ZSTD Parquet';

/** True when every route wrote the baseline's rows (digest) and every Parquet column carries its field id. */
function contentOk(results: readonly RunResult[]): boolean {
  const routes = results.filter((r) => r.route !== 'profile');
  const base = routes.find((r) => r.route === 'baseline');
  if (!base || base.digest.startsWith('differs')) return false;
  return routes.every((r) => r.digest === base.digest && !r.notes.some((n) => n.startsWith('PROBLEM')));
}

function throughputFigures(o: Options, results: readonly RunResult[]): Figure[] {
  const of = (route: Route): RunResult => results.find((r) => r.route === route)!;
  const base = of('baseline');
  const rowsPerSecond = (r: RunResult): number[] => r.seconds.map((s) => o.rows / s);
  const baseline = { label: BASELINE_LABEL, runs: rowsPerSecond(base) };
  const figures: Figure[] = [
    {
      id: 'iceberg_write.single.rows_per_s', title: `Iceberg writer, ${o.rows.toLocaleString('en-US')} rows × 10 columns, 1 commit`, unit: 'rows/s', better: 'higher',
      subject: { label: TABLE_ROUTES.single, runs: rowsPerSecond(of('single')) }, baseline,
    },
    {
      id: 'iceberg_write.many.rows_per_s', title: `Iceberg writer, ${o.rows.toLocaleString('en-US')} rows × 10 columns, ${o.commits} commits`, unit: 'rows/s', better: 'higher',
      subject: { label: TABLE_ROUTES.many.replace('C commits', `${o.commits} commits`), runs: rowsPerSecond(of('many')) }, baseline,
    },
  ];
  const single = of('single');
  if (single.runPeakRssMb.length > 0 && base.runPeakRssMb.length > 0) {
    figures.push({
      id: 'iceberg_write.single.peak_rss_mb', title: 'Iceberg writer, 1 commit: peak RSS during a run (MB)', unit: 'MB', better: 'lower',
      subject: { label: `${TABLE_ROUTES.single} (input: Arrow batches in memory)`, runs: single.runPeakRssMb },
      baseline: { label: `${BASELINE_LABEL} (input: the DuckDB table in memory)`, runs: base.runPeakRssMb },
      note: 'the process RSS high-water mark, reset before each run; includes the input held in memory',
    });
  }
  return figures;
}

function latencyFigures(latencies: readonly Latency[], samples: number): Figure[] {
  return latencies.map((l) => ({
    id: `iceberg_write.commit_latency.${l.kind}.ms`, title: `Commit latency, fastAppend of 1 small file, ${BENCH_CATALOG_LABELS[l.kind]} (ms)`, unit: 'ms', better: 'lower' as const,
    subject: { label: 'commitAction(fastAppend([1 file]))', runs: l.ms },
    note: `no baseline (nothing else commits to this catalog); ${samples} commits after 1 warm-up, the table growing to ${l.snapshots} snapshots`,
  }));
}

function throughputNotes(o: Options, results: readonly RunResult[], profile: boolean): string[] {
  const base = results.find((r) => r.route === 'baseline')!;
  const many = results.find((r) => r.route === 'many')!;
  const ok = contentOk(results);
  const perRoute = o.rounds * o.repeat;
  return [
    `${o.rows.toLocaleString('en')} rows × 10 columns into an unpartitioned table, embedded catalog on a local temp dir; each route in a child process of its own per round, ${o.rounds} round(s) × ${o.repeat} runs (${perRoute} per route), the routes interleaved round by round.`,
    `Iceberg routes timed from new TableWriter to the committed snapshot (Arrow batches of ≤ ${o.batchRows.toLocaleString('en')} rows built before timing); the ${o.commits}-commit route runs TableWriter + fastAppend once per ${Math.ceil(o.rows / o.commits).toLocaleString('en')} rows.`,
    `Baseline: DuckDB COPY (SELECT * FROM t) TO Parquet (ZSTD), the rows generated into an in-memory DuckDB table first (not timed), DuckDB threads = ${base.threads}; rows/s = rows / wall seconds of each run.`,
    ...(perRoute < 3 ? [`only ${perRoute} run(s) per route: raise --repeat or --rounds for at least 3`] : []),
    `content: ${ok ? 'each route\'s files hold the same rows as the baseline (digest), every Parquet column carries its field id' : 'MISMATCH: a route\'s rows differ from the baseline or a column lacks its field id (see the log)'}; ${many.notes.filter((n) => n.includes('snapshots')).join('; ')}.`,
    ...(profile ? [] : ['the breakdown of the single commit (profile) was not run']),
  ];
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const out = stringArgument('--out');
  const rows = argument('--rows', quick ? 100_000 : 1_000_000);
  const commits = argument('--commits', quick ? 10 : 100);
  const options: Options = {
    rows, commits, samples: argument('--samples', 50), repeat: argument('--repeat', 3), rounds: argument('--rounds', quick ? 1 : 2),
    batchRows: argument('--batch-rows', Math.min(10_000, Math.ceil(rows / commits))), dir: '',
  };
  if (process.argv.includes('--child')) {
    const route = process.argv[process.argv.indexOf('--child') + 1] as Route;
    const dir = process.argv[process.argv.indexOf('--dir') + 1]!;
    process.stdout.write(JSON.stringify(await runChild(route, { ...options, dir })));
    return;
  }
  const only = stringArgument('--only') ?? (quick || out ? 'throughput' : 'all');
  if (!['throughput', 'latency', 'all'].includes(only)) throw new Error(`--only: expected throughput, latency or all, found ${only}`);
  const profile = !quick && !process.argv.includes('--no-profile');
  const started = performance.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'duckhouse-bench-iceberg-'));
  const self = fileURLToPath(import.meta.url);
  const figures: Figure[] = [];
  const notes: string[] = [];
  let ok = true;
  try {
    console.log(`Iceberg write benchmark: ${rows.toLocaleString('en')} rows × 10 columns (long, int, double, string, boolean, date, timestamptz, decimal(18,2), nullable string, long), unpartitioned`);
    const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' / ');
    console.log(`machine: ${availableParallelism()} cores, Node ${process.version}; load average (1/5/15 min) at start ${load()}: other busy processes skew the 1-thread vs multi-thread ratios`);
    notes.push(`machine: ${availableParallelism()} cores, load average at start ${load()}`);
    if (only !== 'latency') {
      // Rounds interleave the routes, so a burst of load from elsewhere cannot land on one route only.
      const routes: Route[] = profile ? ['baseline', 'single', 'many', 'profile'] : ['baseline', 'single', 'many'];
      const rounds: RunResult[][] = [];
      for (let round = 0; round < options.rounds; round++) {
        rounds.push(routes.map((route) => {
          const args = ['--import', 'tsx', self, '--child', route, '--dir', dir, ...['--rows', rows, '--commits', commits, '--batch-rows', options.batchRows, '--repeat', options.repeat].map(String)];
          return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] })) as RunResult;
        }));
      }
      const results = rounds[0]!.map((_, i) => mergeRounds(rounds.map((r) => r[i]!)));
      printThroughput(options, results);
      console.log(`   load average after the throughput part: ${load()}`);
      ok = contentOk(results);
      figures.push(...throughputFigures(options, results));
      notes.push(...throughputNotes(options, results, profile));
    }
    if (only !== 'throughput') {
      const tiny = await tinyFile(dir);
      await closeWriterDuckDB();
      const latencies: Latency[] = [];
      for (const kind of ['embedded-local', 'embedded-s3', 'sql-s3'] as BenchCatalogKind[]) latencies.push(await commitLatency(kind, options.samples, tiny));
      printLatency(latencies, options.samples);
      figures.push(...latencyFigures(latencies, options.samples));
      notes.push(`commit latency: commitAction(fastAppend([1 small file])) on ${latencies.map((l) => BENCH_CATALOG_LABELS[l.kind]).join('; ')}; ${options.samples} commits each after 1 warm-up; no baseline.`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (out) {
    const section: SectionResult = {
      section: 'iceberg-write',
      title: 'Iceberg writer throughput',
      options: {
        quick, parts: only,
        ...(only !== 'latency' ? { rows, columns: 10, commits, batchRows: options.batchRows, repeat: options.repeat, rounds: options.rounds, profile } : {}),
        ...(only !== 'throughput' ? { samples: options.samples } : {}),
      },
      figures,
      contentOk: ok,
      notes,
      seconds: (performance.now() - started) / 1000,
    };
    await writeSection(out, section);
    console.log(`\nsection written to ${out}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
