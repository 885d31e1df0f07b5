// The DuckDB side of the Parquet writer: one shared in-memory DuckDB instance and a table function,
// `duckhouse_arrow_scan(id)`, that streams the Arrow RecordBatches registered under `id` into DuckDB in 2048-row
// chunks, so `COPY (SELECT … FROM duckhouse_arrow_scan(id)) TO …` writes them without a staging table.
// Must never block on the event loop: DuckDB calls the scan on the JS thread and waits, so sources must be synchronous.
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { BIGINT, DuckDBTableFunction } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { Data, RecordBatch, Schema as ArrowSchema } from 'apache-arrow';
import { RecordBatch as ArrowRecordBatch } from 'apache-arrow';
import { DataInvalidError } from '../../shared/errors.js';
import { openDuckDB } from '../../shared/duckdb.js';
import type { NestedField } from '../spec/types.js';
import type { VectorPlan } from './arrow-vectors.js';
import { fillVector, planVector, stagingType } from './arrow-vectors.js';

export const SCAN_FUNCTION = 'duckhouse_arrow_scan';
const CHUNK_ROWS = 2048;

interface CurrentBatch {
  readonly numRows: number;
  readonly plans: readonly VectorPlan[];
  readonly columns: readonly (Data | undefined)[];
  row: number;
}

/** A registered source: the Iceberg top-level fields (the scan's columns, in order) and the batches to stream. */
export interface ScanSource {
  readonly fields: readonly NestedField[];
  readonly batches: Iterator<RecordBatch>;
  /** The error a callback raised, rethrown by the writer in place of DuckDB's copy of its message. */
  error?: unknown;
  rows: number;
  current?: CurrentBatch;
  readonly plansBySchema: Map<ArrowSchema, readonly VectorPlan[]>;
}

const sources = new Map<number, ScanSource>();
let nextSourceId = 1;

/** Registers batches for one scan; the returned id goes into `duckhouse_arrow_scan(id)`. Call `release` after. */
export function registerSource(fields: readonly NestedField[], batches: Iterable<RecordBatch>): { id: number; source: ScanSource; release: () => void } {
  const id = nextSourceId++;
  const source: ScanSource = { fields, batches: batches[Symbol.iterator](), rows: 0, plansBySchema: new Map() };
  sources.set(id, source);
  return { id, source, release: () => sources.delete(id) };
}

let shared: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;

/** A new connection to the writer's DuckDB (created on first use: in memory, UTC session time zone, scan registered). */
export async function connectWriterDuckDB(): Promise<DuckDBConnection> {
  shared ??= (async () => {
    const opened = await openDuckDB();
    // RETURN_STATS prints TIMESTAMPTZ bounds in the session time zone: pin it so bounds parse the same everywhere.
    await opened.connection.run(`SET GLOBAL TimeZone = 'UTC'`);
    // The scan feeds one thread anyway (row order); more DuckDB threads burn CPU without speed (bench/iceberg-write.ts).
    // Parallelism comes from writing several files at once, each on its own connection (TableWriter).
    await opened.connection.run('SET GLOBAL threads = 1');
    opened.connection.registerTableFunction(scanFunction());
    return opened;
  })().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  const { instance } = await shared;
  return instance.connect();
}

/** Closes the shared DuckDB instance (at shutdown; a later write opens a new one). */
export async function closeWriterDuckDB(): Promise<void> {
  const current = shared;
  shared = undefined;
  if (!current) return;
  const { instance, connection } = await current;
  connection.closeSync();
  instance.closeSync();
}

function lookup(id: unknown): ScanSource {
  const source = sources.get(Number(id));
  if (!source) throw new DataInvalidError(`${SCAN_FUNCTION}(${String(id)}): no batches registered under that id`);
  return source;
}

function scanFunction(): DuckDBTableFunction {
  return DuckDBTableFunction.create({
    name: SCAN_FUNCTION,
    parameterTypes: [BIGINT],
    bindFunction: (info) => {
      const id = info.getParameter(0);
      try {
        const source = lookup(id);
        for (const field of source.fields) info.addResultColumn(field.name, stagingType(field.type));
        info.setBindData({ id: Number(id) });
      } catch (error) {
        info.setError(error instanceof Error ? error.message : String(error));
      }
    },
    initFunction: (info) => {
      info.setMaxThreads(1);
      info.setInitData({});
    },
    mainFunction: (info, output) => {
      const source = sources.get((info.bindData as { id: number }).id);
      try {
        if (!source) throw new DataInvalidError(`${SCAN_FUNCTION}: its batches were released while DuckDB was still reading`);
        const current = nextRows(source);
        if (!current) {
          output.rowCount = 0;
          return;
        }
        const count = Math.min(CHUNK_ROWS, current.numRows - current.row);
        output.rowCount = count;
        current.plans.forEach((plan, column) => {
          fillVector(duckdb.data_chunk_get_vector(output.chunk, column), plan, current.columns[column], current.row, count);
        });
        current.row += count;
        source.rows += count;
      } catch (error) {
        if (source) source.error = error;
        output.rowCount = 0;
        info.setError(error instanceof Error ? error.message : String(error));
      }
    },
  });
}

/** The batch to read the next chunk from, skipping empty batches; undefined at the end. */
function nextRows(source: ScanSource): CurrentBatch | undefined {
  while (!source.current || source.current.row >= source.current.numRows) {
    const next = source.batches.next();
    if (next.done) return undefined;
    source.current = prepareBatch(source, next.value);
  }
  return source.current;
}

function prepareBatch(source: ScanSource, batch: unknown): CurrentBatch {
  if (!(batch instanceof ArrowRecordBatch)) {
    throw new DataInvalidError(`expected Arrow RecordBatches, found ${describe(batch)} (pass table.batches for an Arrow Table)`);
  }
  const names = batch.schema.fields.map((f) => f.name);
  let plans = source.plansBySchema.get(batch.schema);
  if (!plans) {
    const unknown = names.filter((name) => !source.fields.some((f) => f.name === name));
    if (unknown.length > 0) {
      throw new DataInvalidError(`Arrow batch has columns that are not in the Iceberg schema: ${unknown.join(', ')}`, { context: { columns: unknown } });
    }
    plans = source.fields.map((f) => planVector(f.type, batch.schema.fields[names.indexOf(f.name)]?.type, f.name, f.required, true));
    source.plansBySchema.set(batch.schema, plans);
  }
  const columns = source.fields.map((f) => {
    const index = names.indexOf(f.name);
    return index < 0 ? undefined : batch.data.children[index];
  });
  return { numRows: batch.numRows, plans, columns, row: 0 };
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value);
  return value.constructor?.name ?? 'an object';
}
