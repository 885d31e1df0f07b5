// The table of the compaction benchmark (bench/compaction.ts), built as a streaming sink builds one: every commit
// appends one small data file (12 columns: ids, strings, doubles, µs timestamps, a nullable note), and every
// `updateEvery`-th commit also updates earlier rows the way the sink's upserts do (the new versions in that commit's
// data file, the old ones removed by ONE position delete file spanning the data files they sit in, committed with
// rowDelta). A model keeps where each id's live version is, so the views can be checked against it (one row per id,
// the right version). Also the queries timed on the view and the SQL that checks its content.
// Must never: make a row's values depend on anything but its id and version (the checks recompute them).
import { performance } from 'node:perf_hooks';
import type { Catalog, Table, TableIdentifier } from '../src/catalog/catalogs/catalog.js';
import type { DataFile } from '../src/catalog/spec/manifest.js';
import { buildSchema } from '../src/catalog/spec/schema.js';
import { primitive } from '../src/catalog/spec/types.js';
import { commitAction } from '../src/catalog/transaction/action.js';
import { rowDelta } from '../src/catalog/transaction/row-delta.js';
import type { PositionDelete } from '../src/catalog/writer/parquet-file.js';
import { TableWriter, writePositionDeletes } from '../src/catalog/writer/table-writer.js';
import { RowBatchBuilder } from '../src/schemas/row-batch.js';
import { quoteLiteral } from '../src/shared/duckdb.js';
import { random } from './measure.js';

export const { schema: SCHEMA, lastColumnId: LAST_COLUMN_ID } = buildSchema([
  { name: 'id', type: primitive('long'), required: true },
  { name: 'customer_id', type: primitive('long'), required: true },
  { name: 'status', type: primitive('string'), required: true },
  { name: 'region', type: primitive('string'), required: true },
  { name: 'product', type: primitive('string'), required: true },
  { name: 'qty', type: primitive('int'), required: true },
  { name: 'price', type: primitive('double'), required: true },
  { name: 'amount', type: primitive('double'), required: true },
  { name: 'created_at', type: primitive('timestamptz'), required: true },
  { name: 'updated_at', type: primitive('timestamptz'), required: true },
  { name: 'version', type: primitive('int'), required: true },
  { name: 'note', type: primitive('string') },
]);

const STATUS = ['new', 'paid', 'shipped', 'delivered', 'returned'];
const REGIONS = ['eu-west', 'eu-north', 'us-east', 'us-west', 'ap-south', 'ap-east', 'sa-east', 'af-south'];
/** 2024-01-01T00:00:00Z in µs; row `id` was created `id` seconds later. */
export const T0_US = 1_704_067_200_000_000n;

/** Row `id` at `version` in RowBatchBuilder's value form (longs and timestamps as bigint µs). */
export function eventRow(id: number, version: number): Record<string, unknown> {
  const qty = 1 + ((id + version) % 20);
  const price = ((id * 13) % 10_000) / 100;
  const created = T0_US + BigInt(id) * 1_000_000n;
  return {
    id: BigInt(id),
    customer_id: BigInt((id * 7919) % 50_000),
    status: STATUS[(id + version) % STATUS.length]!,
    region: REGIONS[id % REGIONS.length]!,
    product: `product-${(id * 31) % 500}`,
    qty,
    price,
    amount: qty * price,
    created_at: created,
    updated_at: created + BigInt(version) * 60_000_000n,
    version,
    note: id % 3 === 0 ? null : `note ${id % 997} v${version}`,
  };
}

export { random };

/** Where each id's live version sits (data file, row position) and which version it is. */
export class StreamModel {
  ids = 0;
  readonly files: string[] = [];
  private readonly fileOf: Int32Array;
  private readonly posOf: Int32Array;
  private readonly versionOf: Int32Array;

  constructor(capacity: number) {
    this.fileOf = new Int32Array(capacity);
    this.posOf = new Int32Array(capacity);
    this.versionOf = new Int32Array(capacity);
  }

  version(id: number): number {
    return this.versionOf[id]!;
  }

  at(id: number): PositionDelete {
    return { filePath: this.files[this.fileOf[id]!]!, pos: BigInt(this.posOf[id]!) };
  }

  place(id: number, version: number, file: number, pos: number): void {
    this.fileOf[id] = file;
    this.posOf[id] = pos;
    this.versionOf[id] = version;
  }

  /** Sum of the live versions (what `sum(version)` over the view must give). */
  versionSum(): number {
    let sum = 0;
    for (let id = 0; id < this.ids; id++) sum += this.versionOf[id]!;
    return sum;
  }
}

export interface BuildOptions {
  readonly catalog: Catalog;
  readonly id: TableIdentifier;
  /** New rows per commit. */
  readonly rows: number;
  /** Every n-th commit also updates `updates` earlier rows (0: never). */
  readonly updateEvery: number;
  readonly updates: number;
  readonly seed?: number;
}

export interface CommitTiming {
  readonly commit: number;
  /** Parquet files written (data and deletes), then the catalog commit, in ms. */
  readonly writeMs: number;
  readonly commitMs: number;
  readonly delta: boolean;
}

/** Appends commits to the table one at a time, keeping the model; single-threaded like one sink per table. */
export class StreamBuilder {
  private table: Table | undefined;
  private commits = 0;
  private readonly next: () => number;
  readonly model: StreamModel;
  readonly stats = { dataFiles: 0, deleteFiles: 0, rowsInserted: 0, rowsUpdated: 0, dataBytes: 0, deleteBytes: 0 };

  constructor(private readonly options: BuildOptions, capacityCommits: number) {
    this.model = new StreamModel(capacityCommits * options.rows);
    this.next = random(options.seed ?? 42);
  }

  async create(): Promise<void> {
    const { catalog, id } = this.options;
    if (!(await catalog.namespaceExists(id.namespace))) await catalog.createNamespace(id.namespace);
    this.table = await catalog.createTable(id, { schema: SCHEMA, lastColumnId: LAST_COLUMN_ID });
  }

  /** One more commit: `rows` new ids, plus updates of earlier ids every `updateEvery`-th commit. */
  async commit(): Promise<CommitTiming> {
    const table = this.table;
    if (!table) throw new Error('StreamBuilder: create() first');
    const { rows, updateEvery, updates } = this.options;
    const model = this.model;
    const number = ++this.commits;
    const started = performance.now();
    const builder = new RowBatchBuilder(SCHEMA);
    const first = model.ids;
    for (let id = first; id < first + rows; id++) builder.append(eventRow(id, 1));
    // Updates: distinct random earlier ids (uniform, like CDC over a key space), new versions after the inserts.
    const updated: number[] = [];
    if (updateEvery > 0 && number % updateEvery === 0 && first > 0) {
      const chosen = new Set<number>();
      const want = Math.min(updates, first);
      while (chosen.size < want) chosen.add(Math.floor(this.next() * first));
      updated.push(...chosen);
      for (const id of updated) builder.append(eventRow(id, model.version(id) + 1));
    }
    const writer = new TableWriter(table, { parallelism: 1 });
    await writer.write(builder.build());
    const written = await writer.close();
    if (written.length !== 1) throw new Error(`expected the writer to write one file for ${rows + updated.length} rows, it wrote ${written.length}`);
    const dataFile = written[0]!;
    const deletes = updated.map((id) => model.at(id));
    const deleteFiles: DataFile[] = deletes.length > 0 ? [await writePositionDeletes(table, deletes)] : [];
    const wrote = performance.now();
    // The sink's commit: a row-delta (which merges manifests as they pile up), deletes or not.
    const action = rowDelta({ dataFiles: written, deleteFiles, referencedDataFiles: [...new Set(deletes.map((d) => d.filePath))] });
    this.table = (await commitAction(this.options.catalog, this.options.id, action, { base: table })).table;
    const committed = performance.now();
    const fileIndex = model.files.push(dataFile.filePath) - 1;
    for (let i = 0; i < rows; i++) model.place(first + i, 1, fileIndex, i);
    updated.forEach((id, i) => model.place(id, model.version(id) + 1, fileIndex, rows + i));
    model.ids = first + rows;
    const s = this.stats;
    s.dataFiles++;
    s.deleteFiles += deleteFiles.length;
    s.rowsInserted += rows;
    s.rowsUpdated += updated.length;
    s.dataBytes += Number(dataFile.fileSizeInBytes);
    s.deleteBytes += deleteFiles.reduce((n, f) => n + Number(f.fileSizeInBytes), 0);
    return { commit: number, writeMs: wrote - started, commitMs: committed - wrote, delta: deletes.length > 0 };
  }
}

/** Content check of a view: rows, distinct ids, sum of versions, and an order-independent digest of every column. */
export function checkSql(view: string): string {
  return `SELECT count(*)::BIGINT AS "rows", count(DISTINCT id)::BIGINT AS ids, sum(version)::BIGINT AS versions,
    sum(hash(id, customer_id, status, region, product, qty, price, amount, created_at, updated_at, version, note)::HUGEINT)::VARCHAR AS digest
    FROM ${view}`;
}

export interface BenchQuery {
  readonly name: string;
  readonly sql: string;
}

/** The queries timed on the view before and after compaction (`ids` = ids in the table). */
export function benchQueries(view: string, ids: number): BenchQuery[] {
  const pointId = Math.floor(ids * 0.37);
  const recent = new Date(Number((T0_US + BigInt(Math.floor(ids * 0.9)) * 1_000_000n) / 1000n)).toISOString();
  return [
    { name: 'count(*)', sql: `SELECT count(*) FROM ${view}` },
    { name: 'GROUP BY region (4 aggregates)', sql: `SELECT region, count(*), sum(amount), avg(price), max(updated_at) FROM ${view} GROUP BY region ORDER BY region` },
    { name: 'top 10 customers (50k groups)', sql: `SELECT customer_id, sum(CAST(amount AS DECIMAL(18, 2))) AS total FROM ${view} GROUP BY customer_id ORDER BY total DESC, customer_id LIMIT 10` },
    { name: `point lookup id = ${pointId}`, sql: `SELECT * FROM ${view} WHERE id = ${pointId}` },
    { name: 'filtered scan (newest 10%, one status)', sql: `SELECT count(*), sum(amount) FROM ${view} WHERE status = 'shipped' AND created_at >= CAST(${quoteLiteral(recent)} AS TIMESTAMPTZ)` },
  ];
}
