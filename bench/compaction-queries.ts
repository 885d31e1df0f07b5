// Timing bench/compaction.ts's queries on the view: read-only DuckDB sessions on views files, each opened while holding
// that file's writer lock (duckdb-file.ts) so no refresh changes it meanwhile. Before and after compaction are timed
// in the same minutes, interleaved (for each query, run i on the file made before compaction, then run i on the one
// refreshed after it), so both see the same machine load; the first run of each is the cold one (file footers not
// yet cached by DuckDB). Must never: write a DuckDB file.
import { performance } from 'node:perf_hooks';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '@duckdb/node-api';
import { withDuckDBFile } from '../src/compactor/duckdb-file.js';
import type { BenchQuery } from './compaction-data.js';
import { benchQueries, checkSql } from './compaction-data.js';

export interface QueryRun extends BenchQuery {
  /** Wall ms of each run, in order. */
  readonly ms: number[];
  /** The result of the last run (JSON-safe values), to compare before and after compaction. */
  readonly result: Record<string, unknown>[];
}

export interface QueryRuns {
  /** Opening the file read-only and connecting (DuckDB loads the catalog: views, and macros listing every file). */
  readonly openMs: number;
  readonly check: Record<string, unknown>;
  readonly queries: QueryRun[];
}

interface Session {
  readonly connection: DuckDBConnection;
  readonly openMs: number;
  close(): void;
}

async function openSession(databaseFile: string): Promise<Session> {
  const t0 = performance.now();
  const instance = await DuckDBInstance.create(databaseFile, { access_mode: 'READ_ONLY', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  await connection.runAndReadAll('SELECT 1');
  return { connection, openMs: performance.now() - t0, close: () => { connection.closeSync(); instance.closeSync(); } };
}

const rowsOf = async (session: Session, sql: string): Promise<Record<string, unknown>[]> => (await session.connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];

/** The content check of the view in `databaseFile` (checkSql). */
export function checkView(databaseFile: string, view: string): Promise<Record<string, unknown>> {
  return withDuckDBFile(databaseFile, async () => {
    const session = await openSession(databaseFile);
    try {
      return (await rowsOf(session, checkSql(view)))[0]!;
    } finally {
      session.close();
    }
  });
}

/** Each query `repeat` times on each file, interleaved run by run; the content check of each view first. */
export async function runQueriesInterleaved(files: { before: string; after: string }, view: string, ids: number, repeat: number): Promise<{ before: QueryRuns; after: QueryRuns }> {
  return withDuckDBFile(files.before, () => withDuckDBFile(files.after, async () => {
    const sessions = [await openSession(files.before), await openSession(files.after)] as const;
    try {
      const checks = [(await rowsOf(sessions[0], checkSql(view)))[0]!, (await rowsOf(sessions[1], checkSql(view)))[0]!];
      const runs: [QueryRun[], QueryRun[]] = [[], []];
      for (const query of benchQueries(view, ids)) {
        const ms: [number[], number[]] = [[], []];
        const results: [Record<string, unknown>[], Record<string, unknown>[]] = [[], []];
        for (let i = 0; i < repeat; i++) {
          for (const side of [0, 1] as const) {
            const t = performance.now();
            results[side] = await rowsOf(sessions[side], query.sql);
            ms[side].push(performance.now() - t);
          }
        }
        for (const side of [0, 1] as const) runs[side].push({ ...query, ms: ms[side], result: results[side] });
        console.log(`  ${query.name}: before ${ms[0].map((m) => m.toFixed(0)).join(', ')} ms; after ${ms[1].map((m) => m.toFixed(0)).join(', ')} ms`);
      }
      return {
        before: { openMs: sessions[0].openMs, check: checks[0]!, queries: runs[0] },
        after: { openMs: sessions[1].openMs, check: checks[1]!, queries: runs[1] },
      };
    } finally {
      for (const session of sessions) session.close();
    }
  }));
}

/** Where two results differ (numbers equal within 1e-9 relative: sums of doubles depend on the row order), or undefined. */
function difference(a: unknown, b: unknown, at: string): string | undefined {
  const numeric = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i.test(v) ? Number(v) : undefined);
  const x = numeric(a);
  const y = numeric(b);
  if (x !== undefined && y !== undefined) return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y)) ? undefined : `${at}: ${x} ≠ ${y}`;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const key of keys) {
      const found = difference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${at}.${key}`);
      if (found) return found;
    }
    return undefined;
  }
  return a === b ? undefined : `${at}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`;
}

/** Queries whose results differ between the two runs, as messages. */
export function compareResults(before: readonly QueryRun[], after: readonly QueryRun[]): string[] {
  return before.flatMap((q, i) => {
    const found = difference(q.result, after[i]?.result, 'rows');
    return found ? [`query "${q.name}" returned different results before and after compaction: ${found}`] : [];
  });
}
