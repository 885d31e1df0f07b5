// Compaction benchmark (issue: query time on a view after 1,000 small commits before and after compaction, goal ≥ 3×
// faster after; compaction throughput in MB/s; refreshing the views of a table with 1,000 files in ≤ 1 s).
//   node --import tsx bench/compaction.ts [--quick] [--commits 1000] [--rows 1500] [--update-every 3] [--updates 150]
//                                         [--repeat 3] [--query-repeat 5] [--incremental 3] [--target-mb N] [--s3] [--keep]
//                                         [--out <file.json>]
// --quick: 60 commits × 300 rows, --repeat 3, --query-repeat 3 (about 15 s on 2 cores).
// 1. Builds a table like a streaming sink does (compaction-data.ts): --commits commits of --rows new rows each (one
//    small data file per commit); every --update-every-th commit also updates --updates earlier rows (new versions +
//    one position delete file, rowDelta). Embedded catalog on a local temp warehouse (--s3: on the stack's MinIO).
// 2. Views refresh (ViewRefresher, one DuckDB file): cold (a new DuckDB file and cache) at the last commits, then the
//    last --incremental commits each followed by a refresh (what a refresh after one sink commit costs), a cold one at
//    the full table, and refreshes with nothing new.
// 3. The view's content is checked against the build's model (one row per id, at its last version; a digest of every
//    column), and the DuckDB file is copied: the copy's view keeps reading the pre-compaction files.
// 4. Compaction (compactTable, default policy, rewrite only), each run in its own child process, --repeat times: runs
//    before the last compact a copy of the table registered at the same metadata (same files), the last one the
//    table itself. Baseline in the same run, alternating with it: DuckDB COPY of the same data files (no deletes) to
//    one ZSTD Parquet file, also in a child process. MB/s = input data-file bytes (MB = 10^6 B) / wall seconds.
// 5. Views refreshed again (the replace snapshot, incrementally). Queries (count, GROUP BY, top-N over 50k groups,
//    point lookup, filtered scan) on read-only DuckDB sessions opened under the files' lock, --query-repeat runs each
//    on the copy from before and on the refreshed file, interleaved run by run so both see the same machine load;
//    median, min, max, results compared, per-query speedup and the geometric mean.
// Prints the numbers, the goals next to them, and writes bench/results/compaction-<time>[-quick].json, or with --out
// instead the section's figures (bench/report.ts SectionResult, section 'compaction') to that file for bench/run.ts:
// files before/after per compaction run, the geometric mean of the view queries per repetition before/after (and two
// of the queries on their own), compaction MB/s per run against the DuckDB COPY baseline. Must never:
// pass or fail on wall time (the exit code is non-zero only when content is wrong), or leave its tables behind
// (--keep keeps the warehouse and DuckDB file and prints where).
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { TableIdentifier } from '../src/catalog/catalogs/catalog.js';
import { planFiles } from '../src/catalog/read/plan-files.js';
import type { RefreshResult } from '../src/compactor/views/refresher.js';
import { ViewRefresher } from '../src/compactor/views/refresher.js';
import { withDuckDBFile } from '../src/compactor/duckdb-file.js';
import { quoteIdent } from '../src/shared/duckdb.js';
import { createLogger } from '../src/shared/logger.js';
import type { BenchCatalog } from './bench-catalogs.js';
import { benchCatalog, localCatalog } from './bench-catalogs.js';
import type { ChildConfig, ChildResult } from './compaction-child.js';
import { childMain, runInChild } from './compaction-child.js';
import type { CommitTiming } from './compaction-data.js';
import { StreamBuilder } from './compaction-data.js';
import type { QueryRun } from './compaction-queries.js';
import { checkView, compareResults, runQueriesInterleaved } from './compaction-queries.js';
import { median, percentile, printTable } from './measure.js';
import type { Figure, SectionResult } from './report.js';
import { writeSection } from './report.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    commits: { type: 'string' },
    rows: { type: 'string' },
    'update-every': { type: 'string', default: '3' },
    updates: { type: 'string' },
    repeat: { type: 'string' },
    'query-repeat': { type: 'string' },
    incremental: { type: 'string', default: '3' },
    'target-mb': { type: 'string' },
    s3: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    child: { type: 'string' },
    out: { type: 'string' },
  },
});

const MB = 1e6;
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const secs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const mbOf = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;
const geomean = (values: readonly number[]): number => Math.exp(values.reduce((a, v) => a + Math.log(v), 0) / values.length);

let wrong = false;
function fail(message: string): void {
  wrong = true;
  console.log(`  !!! MISMATCH: ${message}`);
}

async function main(): Promise<void> {
  const quick = args.quick!;
  const commits = Number(args.commits ?? (quick ? 60 : 1000));
  const rows = Number(args.rows ?? (quick ? 300 : 1500));
  const updateEvery = Number(args['update-every']);
  const updates = Number(args.updates ?? Math.max(1, Math.floor(rows / 10)));
  const repeat = Math.max(1, Number(args.repeat ?? 3));
  const queryRepeat = Math.max(1, Number(args['query-repeat'] ?? (quick ? 3 : 5)));
  const incremental = Math.max(0, Math.min(commits - 1, Number(args.incremental)));
  const targetFileSizeBytes = args['target-mb'] ? Math.round(Number(args['target-mb']) * 1024 * 1024) : undefined;
  const started = new Date();
  const startedMs = performance.now();
  console.log(`DuckHouse compaction benchmark: Node ${process.version}, ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (run on an otherwise idle machine)`);
  console.log(`  ${commits} commits × ${fmt(rows)} rows, every ${updateEvery}${updateEvery === 2 ? 'nd' : updateEvery === 3 ? 'rd' : 'th'} commit also updates ${fmt(updates)} earlier rows; ${args.s3 ? 'embedded catalog on MinIO' : 'embedded catalog on a local temp dir'}`);

  const setup: BenchCatalog = args.s3 ? await benchCatalog('embedded-s3') : await localCatalog();
  const work = await mkdtemp(path.join(tmpdir(), 'duckhouse-bench-compaction-'));
  const id: TableIdentifier = { namespace: ['bench'], name: 'events' };
  const view = `${quoteIdent('bench')}.${quoteIdent('events')}`;
  const logger = createLogger('bench-compaction', 'warn');
  const databaseFile = path.join(work, 'views.duckdb');
  const refresher = new ViewRefresher({ catalog: setup.catalog, databaseFile, cacheDir: path.join(work, 'cache'), logger });
  let scratchRefreshes = 0;
  /** A refresh into a new DuckDB file with a new cache (removed afterwards): nothing stored to start from. */
  const coldRefresh = async (): Promise<RefreshResult> => {
    const dir = path.join(work, `cold-${++scratchRefreshes}`);
    try {
      return await new ViewRefresher({ catalog: setup.catalog, databaseFile: path.join(dir, 'views.duckdb'), cacheDir: path.join(dir, 'cache'), logger }).refresh(id);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    // ---- 1. build ----
    const builder = new StreamBuilder({ catalog: setup.catalog, id, rows, updateEvery, updates }, commits);
    await builder.create();
    const timings: CommitTiming[] = [];
    const buildStart = performance.now();
    const every = Math.max(1, Math.round(commits / 10));
    const progress = (): void => {
      const last = timings.slice(-every);
      const deltas = last.filter((t) => t.delta);
      console.log(`  commit ${timings.length}/${commits}: ${((performance.now() - buildStart) / 1000).toFixed(1)} s; last ${last.length}: write p50 ${secs(median(last.map((t) => t.writeMs)))}, `
        + `commit p50 ${secs(median(last.filter((t) => !t.delta).map((t) => t.commitMs)))} (append) / ${deltas.length > 0 ? secs(median(deltas.map((t) => t.commitMs))) : '-'} (row delta)`);
    };
    console.log('1. building the table');
    for (let c = 1; c <= commits - incremental; c++) {
      timings.push(await builder.commit());
      if (c % every === 0) progress();
    }
    // ---- 2. views refresh ----
    console.log(`2. views refresh (${databaseFile})`);
    const refreshes: Record<string, RefreshResult[]> = { coldBefore: [], incremental: [], coldFull: [], unchanged: [] };
    refreshes.coldBefore!.push(await coldRefresh());
    refreshes.coldBefore!.push(await refresher.refresh(id));
    console.log(`  cold (new DuckDB file): ${refreshes.coldBefore!.map((r) => secs(r.durationMs)).join(', ')} at ${fmt(refreshes.coldBefore![0]!.dataFiles)} data + ${fmt(refreshes.coldBefore![0]!.deleteFiles)} delete files`);
    for (let i = 0; i < incremental; i++) {
      timings.push(await builder.commit());
      refreshes.incremental!.push(await refresher.refresh(id));
    }
    if (incremental > 0 || timings.length % every !== 0) progress();
    const built = builder.stats;
    console.log(`  built: ${fmt(built.dataFiles)} data files (${mbOf(built.dataBytes)}), ${fmt(built.deleteFiles)} delete files (${mbOf(built.deleteBytes)}), ${fmt(built.rowsInserted)} rows inserted + ${fmt(built.rowsUpdated)} updated; writing and committing took ${(timings.reduce((n, t) => n + t.writeMs + t.commitMs, 0) / 1000).toFixed(1)} s`);
    if (incremental > 0) console.log(`  after each of the last ${incremental} commits (incremental): ${refreshes.incremental!.map((r) => secs(r.durationMs)).join(', ')}`);
    setup.io.reset();
    refreshes.coldFull!.push(await coldRefresh());
    const ioTotals = Object.fromEntries(setup.io.totals);
    for (let i = 0; i < 3; i++) refreshes.unchanged!.push(await refresher.refresh(id));
    const full = refreshes.coldFull![0]!;
    console.log(`  cold at ${fmt(full.dataFiles)} data + ${fmt(full.deleteFiles)} delete files: ${secs(full.durationMs)} (FileIO: ${Object.entries(ioTotals).map(([op, t]) => `${t.calls} ${op} ${secs(t.ms)}`).join(', ')})`);
    console.log(`  nothing new since the last refresh: ${refreshes.unchanged!.map((r) => secs(r.durationMs)).join(', ')}`);

    // ---- 3. the view before ----
    const model = builder.model;
    const expected = { rows: model.ids, ids: model.ids, versions: model.versionSum() };
    const checkBefore = await checkView(databaseFile, view);
    if (Number(checkBefore.rows) !== expected.rows || Number(checkBefore.ids) !== expected.ids || Number(checkBefore.versions) !== expected.versions) {
      fail(`the view before compaction has ${checkBefore.rows} rows, ${checkBefore.ids} ids, version sum ${checkBefore.versions}; the model has ${expected.rows}, ${expected.ids}, ${expected.versions}`);
    } else {
      console.log(`3. the view: ${fmt(expected.rows)} rows, one per id at its last version (as the model), digest ${String(checkBefore.digest)}`);
    }
    // A copy of the views as they are now: its view keeps reading the pre-compaction files (nothing expires or
    // removes them here), so before and after can be queried side by side once the table is compacted.
    const beforeFile = path.join(work, 'views-before-compaction.duckdb');
    await withDuckDBFile(databaseFile, async () => {
      await copyFile(databaseFile, beforeFile);
      if (existsSync(`${databaseFile}.wal`)) await copyFile(`${databaseFile}.wal`, `${beforeFile}.wal`);
    });

    // ---- 4. compaction vs baseline ----
    const pre = await setup.catalog.loadTable(id);
    const tasks = await planFiles(pre);
    const inputs = tasks.map((t) => t.file.filePath);
    const inputBytes = tasks.reduce((n, t) => n + Number(t.file.fileSizeInBytes), 0);
    console.log(`4. compaction: ${fmt(inputs.length)} data files (${mbOf(inputBytes)}) and ${fmt(new Set(tasks.flatMap((t) => t.deletes.map((d) => d.filePath))).size)} delete files; ${repeat} runs, each in a child process, alternating with the baseline`);
    const childBase = { warehouse: setup.warehouse, s3: args.s3!, scratch: work };
    const compactions: ChildResult[] = [];
    const baselines: ChildResult[] = [];
    for (let r = 1; r <= repeat; r++) {
      const baseline = await runInChild(import.meta.url, { ...childBase, mode: 'copy', inputs } satisfies ChildConfig);
      baselines.push(baseline);
      const c = baseline.copy!;
      if (c.rows !== built.rowsInserted + built.rowsUpdated) fail(`the baseline copied ${c.rows} rows, the data files hold ${built.rowsInserted + built.rowsUpdated}`);
      console.log(`  #${r} baseline DuckDB COPY: ${baseline.seconds.toFixed(2)} s = ${fmt(inputBytes / MB / baseline.seconds, 1)} MB/s${args.s3 ? ` (download ${c.downloadSeconds.toFixed(2)} s, copy ${c.copySeconds.toFixed(2)} s, upload ${c.uploadSeconds.toFixed(2)} s)` : ''}, ${fmt(c.rows)} rows → ${mbOf(c.bytesOut)}, ${baseline.cpu.toFixed(1)} s CPU, peak RSS ${mbOf(baseline.peakRss)} (load ${loadavg()[0]!.toFixed(1)})`);
      const name = r < repeat ? `events_copy${r}` : id.name;
      if (r < repeat) await setup.catalog.registerTable({ namespace: id.namespace, name }, pre.metadataLocation);
      const run = await runInChild(import.meta.url, { ...childBase, mode: 'compact', namespace: [...id.namespace], table: name, ...(targetFileSizeBytes ? { targetFileSizeBytes } : {}) } satisfies ChildConfig);
      compactions.push(run);
      const result = run.compaction!;
      if (result.rowsRewritten !== expected.rows) fail(`compaction #${r} rewrote ${result.rowsRewritten} live rows, the table has ${expected.rows}`);
      const phases = run.phases!.map((p, i, all) => `${p.message} ${((all[i + 1]?.at ?? run.seconds) - p.at).toFixed(2)} s`).join(', ');
      console.log(`  #${r} compactTable (${name}): ${(result.durationMs / 1000).toFixed(2)} s = ${fmt(result.bytesRead / MB / (result.durationMs / 1000), 1)} MB/s; files ${result.filesBefore.data} + ${result.filesBefore.deletes} deletes → ${result.filesAfter.data} + ${result.filesAfter.deletes}, `
        + `${result.groups} group(s), ${mbOf(result.bytesRead)} → ${mbOf(result.bytesWritten)}, ${fmt(result.rowsDeleted)} deleted rows dropped, ${run.cpu.toFixed(1)} s CPU, peak RSS ${mbOf(run.peakRss)} (load ${loadavg()[0]!.toFixed(1)})`);
      console.log(`     phases: ${phases}`);
    }

    // ---- 5. after ----
    console.log('5. views refresh and queries after compaction');
    const afterRefresh = await refresher.refresh(id);
    const coldAfter = await coldRefresh();
    console.log(`  refresh over the replace snapshot (incremental): ${secs(afterRefresh.durationMs)}, cold: ${secs(coldAfter.durationMs)}; the view reads ${afterRefresh.dataFiles} data + ${afterRefresh.deleteFiles} delete files`);
    console.log(`  queries, ${queryRepeat} runs each on the views before (a copy made before compaction) and after, interleaved:`);
    const { before, after } = await runQueriesInterleaved({ before: beforeFile, after: databaseFile }, view, model.ids, queryRepeat);
    if (before.check.digest !== checkBefore.digest) fail(`the copy of the views made before compaction reads digest ${String(before.check.digest)}, the views read ${String(checkBefore.digest)} then`);
    for (const key of ['rows', 'ids', 'versions', 'digest'] as const) {
      if (String(after.check[key]) !== String(checkBefore[key])) fail(`${key} of the view: ${String(checkBefore[key])} before compaction, ${String(after.check[key])} after`);
    }
    if (!wrong) console.log(`  content: the same ${fmt(Number(after.check.rows))} rows and digest as before compaction`);
    for (const difference of compareResults(before.queries, after.queries)) fail(difference);

    // ---- 6. report ----
    const stats = (q: QueryRun): string => `${secs(median(q.ms))} (${secs(Math.min(...q.ms))}–${secs(Math.max(...q.ms))})`;
    const speedups = before.queries.map((q, i) => median(q.ms) / median(after.queries[i]!.ms));
    console.log('');
    printTable(['query on the view (median, min–max)', `before (${full.dataFiles} files)`, `after (${afterRefresh.dataFiles} file${afterRefresh.dataFiles === 1 ? '' : 's'})`, 'speedup'], [
      ['open the DuckDB file (read-only)', secs(before.openMs), secs(after.openMs), (before.openMs / after.openMs).toFixed(2)],
      ...before.queries.map((q, i) => [q.name, stats(q), stats(after.queries[i]!), `${speedups[i]!.toFixed(2)}×`]),
    ], '  ');
    const gm = geomean(speedups);
    const baseMbs = baselines.map((b) => inputBytes / MB / b.seconds);
    const compMbs = compactions.map((c) => c.compaction!.bytesRead / MB / (c.compaction!.durationMs / 1000));
    const ratio = median(compMbs) / median(baseMbs);
    const ms = (list: RefreshResult[]): string => list.map((r) => secs(r.durationMs)).join(', ');
    console.log('');
    console.log('summary (goals printed for reference; nothing passes or fails on time):');
    const tail = timings.slice(-every);
    const tailMs = (delta: boolean): string => {
      const ms = tail.filter((t) => t.delta === delta).map((t) => t.commitMs);
      return ms.length > 0 ? secs(median(ms)) : '-';
    };
    printTable(['measure', 'value', 'goal'], [
      [`build: commit p50 over the last ${tail.length} commits (append / row delta)`, `${tailMs(false)} / ${tailMs(true)}`, '-'],
      [`views refresh, ${full.dataFiles} data + ${full.deleteFiles} delete files, cold`, ms(refreshes.coldFull!), '≤ 1 s'],
      ['views refresh after one more commit (incremental)', incremental > 0 ? `${secs(median(refreshes.incremental!.map((r) => r.durationMs)))} (median of ${incremental})` : '-', '≤ 1 s'],
      ['views refresh, nothing new', ms(refreshes.unchanged!), '-'],
      ['query speedup after compaction, geometric mean', `${gm.toFixed(2)}× (${speedups.map((s) => s.toFixed(1)).join(', ')})`, '≥ 3×'],
      ['the same without count(*) (answered from Parquet footers after)', before.queries.length > 1 ? `${geomean(speedups.slice(1)).toFixed(2)}×` : '-', '-'],
      ['compaction MB/s (input data bytes / wall s, median)', `${fmt(median(compMbs), 1)} (${compMbs.map((v) => fmt(v, 1)).join(', ')})`, '-'],
      ['baseline DuckDB COPY MB/s (median)', `${fmt(median(baseMbs), 1)} (${baseMbs.map((v) => fmt(v, 1)).join(', ')})`, '-'],
      ['ratio compaction / baseline', ratio.toFixed(2), '-'],
      ['compaction peak RSS (highest run)', mbOf(Math.max(...compactions.map((c) => c.peakRss))), '-'],
      ['content checks', wrong ? 'MISMATCH (see above)' : 'view = model before and after; query results equal', 'exact'],
    ], '  ');

    console.log('\nmarkdown:\n');
    console.log(`| ${commits} commits, ${fmt(full.dataFiles)} data + ${fmt(full.deleteFiles)} delete files | before compaction | after | speedup |\n|---|---|---|---|`);
    for (const [i, q] of before.queries.entries()) console.log(`| ${q.name} | ${secs(median(q.ms))} | ${secs(median(after.queries[i]!.ms))} | ${speedups[i]!.toFixed(1)}× |`);
    console.log(`| **geometric mean** (without count(*)) | | | **${gm.toFixed(1)}×** (${before.queries.length > 1 ? geomean(speedups.slice(1)).toFixed(1) : '-'}×) |`);
    console.log(`\n| Compaction of ${fmt(inputs.length)} files (${mbOf(inputBytes)}) | MB/s (median of ${repeat}) | × baseline | peak RSS |\n|---|---|---|---|`);
    console.log(`| baseline: DuckDB COPY of the same files (no deletes) | ${fmt(median(baseMbs), 1)} | 1.00 | ${mbOf(Math.max(...baselines.map((b) => b.peakRss)))} |`);
    console.log(`| compactTable (deletes applied, field ids, stats, commit) | ${fmt(median(compMbs), 1)} | ${ratio.toFixed(2)} | ${mbOf(Math.max(...compactions.map((c) => c.peakRss)))} |`);
    console.log(`\n| Views refresh | time |\n|---|---|`);
    console.log(`| cold, ${fmt(full.dataFiles)} data + ${fmt(full.deleteFiles)} delete files | ${secs(full.durationMs)} |`);
    if (incremental > 0) console.log(`| after one more commit (median of ${incremental}) | ${secs(median(refreshes.incremental!.map((r) => r.durationMs)))} |`);
    console.log(`| nothing new (median of ${refreshes.unchanged!.length}) | ${secs(median(refreshes.unchanged!.map((r) => r.durationMs)))} |`);
    console.log(`| after compaction (the replace snapshot) | ${secs(afterRefresh.durationMs)} |`);

    if (args.out) {
      const section: SectionResult = {
        section: 'compaction',
        title: `Compaction of a table after ${fmt(commits)} small commits`,
        options: { commits, rows, updateEvery, updates, repeat, queryRepeat, incremental, targetFileSizeBytes: targetFileSizeBytes ?? null, warehouse: args.s3 ? 's3 (MinIO)' : 'local', quick },
        figures: sectionFigures({ commits, before: full, after: afterRefresh, beforeQueries: before.queries, afterQueries: after.queries, compactions, baseMbs, compMbs }),
        contentOk: !wrong,
        notes: [
          `table built like a streaming sink: ${fmt(commits)} commits × ${fmt(rows)} new rows (one data file each), 1 in ${updateEvery} also updating ${fmt(updates)} earlier rows (position deletes, rowDelta): ${fmt(built.dataFiles)} data files (${mbOf(built.dataBytes)}) + ${fmt(built.deleteFiles)} delete files; embedded catalog, ${args.s3 ? 'MinIO' : 'local'} warehouse; ${availableParallelism()} cores, load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}.`,
          `compaction: compactTable (default policy, rewrite only) ${repeat}× in a child process each (runs before the last on a registered copy at the same metadata), alternating with the baseline, DuckDB COPY of the same ${fmt(inputs.length)} data files (no deletes applied) to one ZSTD Parquet file; MB/s = input data MB (10^6 B) / wall s.`,
          `queries (${before.queries.map((q) => q.name).join('; ')}): ${queryRepeat} runs each on the views file copied before compaction and on the refreshed one, interleaved; the first run of each is cold. count(*) is answered from Parquet footers after compaction (geometric mean of the speedups without it: ${before.queries.length > 1 ? geomean(speedups.slice(1)).toFixed(2) : '-'}×).`,
          `views refresh: cold at ${fmt(full.dataFiles)} data + ${fmt(full.deleteFiles)} delete files ${secs(full.durationMs)}${incremental > 0 ? `, after one more commit ${secs(median(refreshes.incremental!.map((r) => r.durationMs)))} (median of ${incremental})` : ''}, after compaction ${secs(afterRefresh.durationMs)} (goal ≤ 1 s; no baseline, not a figure).`,
          `content: ${wrong ? 'MISMATCH (see the log)' : 'the view equals the build\'s model before and after compaction; every query returned the same result before and after'}.`,
        ],
        seconds: (performance.now() - startedMs) / 1000,
      };
      await writeSection(args.out, section);
      console.log(`\nsection written to ${args.out}`);
      return;
    }
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `compaction-${started.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-')}${quick ? '-quick' : ''}${args.s3 ? '-s3' : ''}.json`);
    const commitMs = (delta: boolean): { p50: number; p99: number } => {
      const sorted = timings.filter((t) => t.delta === delta).map((t) => t.commitMs).sort((a, b) => a - b);
      return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
    };
    await writeFile(file, `${JSON.stringify({
      benchmark: 'compaction', startedAt: started.toISOString(), node: process.version, cores: availableParallelism(), loadAverage: loadavg(), warehouse: args.s3 ? 's3 (MinIO)' : 'local',
      options: { commits, rows, updateEvery, updates, repeat, queryRepeat, incremental, targetFileSizeBytes: targetFileSizeBytes ?? null },
      build: { ...built, seconds: timings.reduce((n, t) => n + t.writeMs + t.commitMs, 0) / 1000, appendCommitMs: commitMs(false), rowDeltaCommitMs: commitMs(true) },
      refresh: { ...refreshes, coldFullFileIO: ioTotals, afterCompaction: afterRefresh, coldAfterCompaction: coldAfter },
      queries: before.queries.map((q, i) => ({ name: q.name, sql: q.sql, beforeMs: q.ms, afterMs: after.queries[i]!.ms, speedup: speedups[i] })),
      openMs: { before: before.openMs, after: after.openMs },
      speedupGeomean: gm,
      speedupGeomeanWithoutCount: before.queries.length > 1 ? geomean(speedups.slice(1)) : null,
      compaction: { inputFiles: inputs.length, inputBytes, runs: compactions, mbPerSecond: compMbs },
      baseline: { runs: baselines, mbPerSecond: baseMbs },
      ratio,
      contentOk: !wrong,
    }, null, 2)}\n`);
    console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
  } finally {
    if (args.keep) {
      console.log(`kept: warehouse ${setup.warehouse}, DuckDB file ${databaseFile}`);
      await setup.catalog.close();
    } else {
      await setup.cleanup();
      await rm(work, { recursive: true, force: true });
    }
  }
}

interface FigureInputs {
  commits: number;
  before: RefreshResult;
  after: RefreshResult;
  beforeQueries: readonly QueryRun[];
  afterQueries: readonly QueryRun[];
  compactions: readonly ChildResult[];
  baseMbs: number[];
  compMbs: number[];
}

const filesOf = (r: { data: number; deletes: number }): number => r.data + r.deletes;

/** The queries that get a figure of their own besides the geometric mean (a full-scan aggregate, a point lookup). */
const OWN_FIGURES = [
  { prefix: 'GROUP BY region', id: 'compaction.query.group_by_region_ms', title: 'Compaction: view query GROUP BY region, 4 aggregates, after vs before' },
  { prefix: 'point lookup', id: 'compaction.query.point_lookup_ms', title: 'Compaction: view query point lookup by id, after vs before' },
];

function sectionFigures(f: FigureInputs): Figure[] {
  const beforeLabel = `before compaction (${fmt(f.commits)} commits: ${fmt(f.before.dataFiles)} data + ${fmt(f.before.deleteFiles)} delete files)`;
  const afterLabel = `after compaction (${fmt(f.after.dataFiles)} data + ${fmt(f.after.deleteFiles)} delete files)`;
  const runs = Math.min(...f.beforeQueries.map((q) => q.ms.length), ...f.afterQueries.map((q) => q.ms.length));
  const geomeanPerRun = (queries: readonly QueryRun[]): number[] => Array.from({ length: runs }, (_, r) => geomean(queries.map((q) => q.ms[r]!)));
  const figures: Figure[] = [
    {
      id: 'compaction.files', title: 'Compaction: data + delete files of the table, after vs before', unit: 'files', better: 'lower',
      subject: { label: 'after compactTable', runs: f.compactions.map((c) => filesOf(c.compaction!.filesAfter)) },
      baseline: { label: `before compaction (${fmt(f.commits)} commits)`, runs: f.compactions.map((c) => filesOf(c.compaction!.filesBefore)) },
    },
    {
      id: 'compaction.view_query_ms', title: `Compaction: view query time, geometric mean of ${f.beforeQueries.length} queries, after vs before`, unit: 'ms', better: 'lower',
      subject: { label: afterLabel, runs: geomeanPerRun(f.afterQueries) },
      baseline: { label: beforeLabel, runs: geomeanPerRun(f.beforeQueries) },
      note: 'one value per repetition: the geometric mean over the queries of that repetition; the first is cold',
    },
  ];
  for (const own of OWN_FIGURES) {
    const i = f.beforeQueries.findIndex((q) => q.name.startsWith(own.prefix));
    if (i < 0 || !f.afterQueries[i]) continue;
    figures.push({
      id: own.id, title: own.title, unit: 'ms', better: 'lower',
      subject: { label: afterLabel, runs: f.afterQueries[i]!.ms }, baseline: { label: beforeLabel, runs: f.beforeQueries[i]!.ms },
    });
  }
  figures.push({
    id: 'compaction.mb_per_s', title: 'Compaction throughput (MB/s of input data files)', unit: 'MB/s', better: 'higher',
    subject: { label: 'compactTable (deletes applied, field ids, stats, commit)', runs: f.compMbs },
    baseline: { label: 'DuckDB COPY of the same data files to one ZSTD Parquet file (no deletes applied)', runs: f.baseMbs },
  });
  return figures;
}

if (args.child) {
  await childMain(JSON.parse(args.child) as ChildConfig);
  process.disconnect?.();
} else {
  await main();
  if (wrong) process.exitCode = 1;
}
