// The timed work of bench/compaction.ts that runs in a child process of its own (so its CPU and peak RSS are its
// own, and no DuckDB instance or cache of the parent helps it): `compact` runs compactTable on one table of the
// bench's embedded catalog (rewrite only: no expiry, no orphan removal), `copy` is the baseline, a plain DuckDB
// `COPY (SELECT * FROM read_parquet([...])) TO … (FORMAT parquet, COMPRESSION zstd)` of the same data files (no
// deletes applied, no field ids, no stats); on an object-store warehouse it downloads the inputs through the same
// FileIO and uploads its output, as the compactor must. Clocks start after the child has loaded its modules.
// Must never: change a table other than the one it is told to compact, or leave its baseline output behind.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { EmbeddedCatalog } from '../src/catalog/catalogs/embedded-catalog.js';
import type { FileIO } from '../src/catalog/io/file-io.js';
import { LocalFileIO } from '../src/catalog/io/local-file-io.js';
import { localPathOf, locationScheme } from '../src/catalog/io/location.js';
import { S3FileIO } from '../src/catalog/io/s3-file-io.js';
import { mapLimit } from '../src/catalog/read/manifests.js';
import type { CompactionResult } from '../src/compactor/compaction/compact-table.js';
import { compactTable } from '../src/compactor/compaction/compact-table.js';
import { openDuckDB, quoteLiteral } from '../src/shared/duckdb.js';
import { createLogger } from '../src/shared/logger.js';
import { readEndpoints } from '../src/stack/config.js';

export interface ChildConfig {
  readonly mode: 'compact' | 'copy';
  readonly warehouse: string;
  readonly s3: boolean;
  /** A scratch folder of the parent's (the child makes its own temp dir inside). */
  readonly scratch: string;
  /** compact: the table. */
  readonly namespace?: string[];
  readonly table?: string;
  readonly targetFileSizeBytes?: number;
  /** copy: the data files (locations as in the manifests). */
  readonly inputs?: string[];
}

export interface ChildResult {
  readonly seconds: number;
  readonly cpu: number;
  /** Peak RSS of the child process (bytes). */
  readonly peakRss: number;
  readonly compaction?: CompactionResult;
  /** compact: seconds from the start to each progress message's first occurrence. */
  readonly phases?: { message: string; at: number }[];
  readonly copy?: { rows: number; bytesOut: number; downloadSeconds: number; copySeconds: number; uploadSeconds: number };
}

function ioFor(config: ChildConfig): FileIO {
  return config.s3 ? new S3FileIO({ clientOptions: readEndpoints().s3 }) : new LocalFileIO();
}

async function compact(config: ChildConfig): Promise<Omit<ChildResult, 'seconds' | 'cpu' | 'peakRss'>> {
  const catalog = new EmbeddedCatalog({ warehouse: config.warehouse, io: ioFor(config) });
  const phases: { message: string; at: number }[] = [{ message: 'load table + count files', at: 0 }];
  const names: Record<string, string> = { planning: 'plan', 'rewriting group': 'rewrite + commit (+ count files)', done: 'close' };
  const t0 = performance.now();
  try {
    const compaction = await compactTable({
      catalog,
      identifier: { namespace: config.namespace!, name: config.table! },
      logger: createLogger('bench-compaction', 'warn'),
      expire: false,
      removeOrphans: false,
      tempDir: config.scratch,
      ...(config.targetFileSizeBytes ? { policy: { targetFileSizeBytes: config.targetFileSizeBytes } } : {}),
      onProgress: (_percent, message) => {
        const key = message.replace(/ \(.*$/, '').replace(/group \d+\/\d+/, 'group');
        const kind = names[key] ?? key;
        if (!phases.some((p) => p.message === kind)) phases.push({ message: kind, at: (performance.now() - t0) / 1000 });
      },
    });
    return { compaction, phases };
  } finally {
    await catalog.close();
  }
}

async function copy(config: ChildConfig): Promise<Omit<ChildResult, 'seconds' | 'cpu' | 'peakRss'>> {
  const io = ioFor(config);
  const dir = await mkdtemp(path.join(config.scratch, 'baseline-'));
  const { instance, connection } = await openDuckDB();
  try {
    const inputs = config.inputs!;
    let t = performance.now();
    let locals: string[];
    if (inputs.every((l) => locationScheme(l) === 'file')) {
      locals = inputs.map(localPathOf);
    } else {
      locals = await mapLimit(inputs, 16, async (location) => {
        const local = path.join(dir, `${randomUUID()}.parquet`);
        await writeFile(local, await io.read(location));
        return local;
      });
    }
    const downloadSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const out = path.join(dir, 'out.parquet');
    const reader = await connection.runAndReadAll(`COPY (SELECT * FROM read_parquet([${locals.map(quoteLiteral).join(', ')}])) TO ${quoteLiteral(out)} (FORMAT parquet, COMPRESSION zstd)`);
    const copySeconds = (performance.now() - t) / 1000;
    const bytesOut = (await stat(out)).size;
    t = performance.now();
    if (config.s3) {
      const location = `${config.warehouse}/_bench_baseline/${randomUUID()}.parquet`;
      await io.upload(out, location);
      await io.deleteMany([location]);
    }
    const uploadSeconds = (performance.now() - t) / 1000;
    return { copy: { rows: reader.rowsChanged, bytesOut, downloadSeconds, copySeconds, uploadSeconds } };
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
    await io.close?.();
  }
}

/** The child's side: does the work, then sends its ChildResult to the parent. */
export async function childMain(config: ChildConfig): Promise<void> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const done = config.mode === 'compact' ? await compact(config) : await copy(config);
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  const result: ChildResult = { ...done, seconds, cpu: (used.user + used.system) / 1e6, peakRss: process.resourceUsage().maxRSS * 1024 };
  await new Promise<void>((resolve, reject) => process.send!(result, (error: Error | null) => (error ? reject(error) : resolve())));
}

/** Runs `entry --child <config>` with the parent's Node flags (tsx) and returns what the child sent. */
export function runInChild(entry: string, config: ChildConfig): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(entry), '--child', JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: ChildResult | undefined;
    child.on('message', (message) => (result = message as ChildResult));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result && code === 0) resolve(result);
      else reject(new Error(`bench child (${config.mode}) exited with ${signal ?? `code ${code}`} before reporting a result`));
    });
  });
}
