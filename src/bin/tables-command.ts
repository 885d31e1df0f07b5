// `duckhouse tables list | describe | history | snapshots | query`: what is in the lake, read straight from the Iceberg
// catalog (no views or workers needed). `query` is time travel: a table's rows at a snapshot id or as of a time, with
// the position deletes of that snapshot applied. Tables print as aligned columns, or JSON with --json.
// Must never: print credentials, or read more rows than --limit asks for (it stops scanning there).
import { Command } from 'commander';
import type { Catalog, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier, tableIdentifier, tablesUnder } from '../catalog/catalogs/catalog.js';
import { displayRow } from '../catalog/read/display-value.js';
import { scanRows } from '../catalog/read/scan-table.js';
import { currentSchema, schemaById } from '../catalog/spec/table-metadata.js';
import type { TableOverview } from '../catalog/read/table-info.js';
import { describeTable, liveRows, resolveSnapshot, tableHistory, tableOverview, tableSnapshots } from '../catalog/read/table-info.js';
import { DuckHouseError } from '../shared/errors.js';
import { readEndpoints } from '../stack/config.js';
import type { CatalogFlags } from './catalog-options.js';
import { addCatalogOptions, openCatalog } from './catalog-options.js';
import { addJsonOption, parseSnapshotId, parseTime, positiveInt } from './common-options.js';
import type { Output } from './output.js';
import { age, columns, num, plural, size, toJson } from './output.js';

interface TablesFlags extends CatalogFlags {
  json: boolean;
  limit?: number;
}

interface QueryFlags extends TablesFlags {
  snapshot?: bigint;
  asOf?: Date;
  columns?: string;
}

async function withCatalog<T>(flags: CatalogFlags, fn: (catalog: Catalog) => Promise<T>): Promise<T> {
  const catalog = openCatalog(flags, readEndpoints());
  try {
    return await fn(catalog);
  } finally {
    await catalog.close().catch(() => undefined);
  }
}

function parseTable(text: string): TableIdentifier {
  try {
    return tableIdentifier(text);
  } catch (error) {
    throw new DuckHouseError('config', `${JSON.stringify(text)} is not a table name: expected <namespace>.<table>, e.g. sales.orders (${(error as Error).message})`);
  }
}

/** A cell of a row read from a table, as text. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `0x${Buffer.from(value.subarray(0, 32)).toString('hex')}${value.length > 32 ? '…' : ''}`;
  if (typeof value === 'string') return value.length > 80 ? `${value.slice(0, 79)}…` : value;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function overviewRows(tables: readonly TableOverview[]): string[][] {
  return [
    ['TABLE', 'ROWS', 'DATA FILES', 'DELETE FILES', 'SIZE', 'SNAPSHOTS', 'LAST COMMIT'],
    ...tables.map((t) => [t.table, num(t.rows), num(t.dataFiles), num(t.deleteFiles), size(t.sizeBytes), String(t.snapshots), t.lastCommitAt ? `${age(t.secondsSinceCommit)} ago (${t.lastCommitAt})` : 'never']),
  ];
}

export function tablesCommand(out: Output = process.stdout): Command {
  const tables = new Command('tables').description('the Iceberg tables: list, describe, history, snapshots, and time-travel queries');

  const list = new Command('list')
    .description('every table (or those in one namespace): rows, files, size, snapshots, last commit')
    .argument('[namespace]', 'only this namespace and the ones below it (e.g. sales)');
  addJsonOption(list);
  addCatalogOptions(list).action(async (namespace: string | undefined, flags: TablesFlags) =>
    withCatalog(flags, async (catalog) => {
      const ids = await tablesUnder(catalog, namespace ? namespace.split('.') : []);
      const now = Date.now();
      const rows: TableOverview[] = [];
      for (const id of ids) rows.push(tableOverview(id, (await catalog.loadTable(id)).metadata, now));
      if (flags.json) return void out.write(toJson(rows));
      if (rows.length > 0) out.write(`${columns(overviewRows(rows))}\n`);
      out.write(`${plural(rows.length, 'table')}${namespace ? ` in ${namespace}` : ''} (catalog ${catalog.name})\n`);
    }),
  );

  const describe = new Command('describe').description('columns (with key columns), partitioning, sort order, properties and current state of a table').argument('<table>', 'namespace.table');
  addJsonOption(describe);
  addCatalogOptions(describe).action(async (name: string, flags: TablesFlags) =>
    withCatalog(flags, async (catalog) => {
      const id = parseTable(name);
      const d = describeTable(id, (await catalog.loadTable(id)).metadata, Date.now());
      if (flags.json) return void out.write(toJson(d));
      const lines = [
        `${d.table}  (format v${d.formatVersion}, uuid ${d.tableUuid})`,
        `location   ${d.location}`,
        `rows       ${num(d.rows)} in ${plural(d.dataFiles ?? 0, 'data file')} and ${plural(d.deleteFiles ?? 0, 'delete file')} (${size(d.sizeBytes)})`,
        `snapshot   ${d.snapshotId ?? 'none'}${d.lastCommitAt ? ` (${d.lastOperation}, ${age(d.secondsSinceCommit)} ago, ${d.lastCommitAt}); ${plural(d.snapshots, 'snapshot')} retained` : ''}`,
        `partition  ${d.partitionBy.length === 0 ? 'none' : d.partitionBy.map((p) => `${p.transform}(${p.source})`).join(', ')}`,
        `sort       ${d.sortOrder.length === 0 ? 'none' : d.sortOrder.map((s) => `${s.transform}(${s.source}) ${s.direction} ${s.nullOrder}`).join(', ')}`,
        '',
        columns([['ID', 'COLUMN', 'TYPE', 'NULLABLE', 'KEY', 'DOC'], ...d.columns.map((c) => [String(c.id), c.name, c.type, c.required ? 'no' : 'yes', c.key ? 'key' : '', c.doc ?? ''])]),
      ];
      const props = Object.entries(d.properties).sort(([a], [b]) => a.localeCompare(b));
      if (props.length > 0) lines.push('', columns([['PROPERTY', 'VALUE'], ...props]));
      out.write(`${lines.join('\n')}\n`);
    }),
  );

  const history = new Command('history').description('when each snapshot became current, newest first (marks those no longer in the current line after a rollback)').argument('<table>', 'namespace.table').option('--limit <n>', 'at most this many entries', positiveInt);
  addJsonOption(history);
  addCatalogOptions(history).action(async (name: string, flags: TablesFlags) =>
    withCatalog(flags, async (catalog) => {
      const id = parseTable(name);
      const entries = tableHistory((await catalog.loadTable(id)).metadata).slice(0, flags.limit);
      if (flags.json) return void out.write(toJson(entries));
      out.write(`${columns([['MADE CURRENT AT', 'SNAPSHOT', 'PARENT', 'OPERATION', 'IN CURRENT LINE'], ...entries.map((e) => [e.madeCurrentAt, e.snapshotId, e.parentId ?? '-', e.operation ?? '(expired)', e.isCurrentAncestor ? 'yes' : 'no'])])}\n`);
    }),
  );

  const snapshots = new Command('snapshots').description('every retained snapshot, newest first: operation, rows and files added and removed, totals').argument('<table>', 'namespace.table').option('--limit <n>', 'at most this many snapshots', positiveInt);
  addJsonOption(snapshots);
  addCatalogOptions(snapshots).action(async (name: string, flags: TablesFlags) =>
    withCatalog(flags, async (catalog) => {
      const id = parseTable(name);
      const list = tableSnapshots((await catalog.loadTable(id)).metadata).slice(0, flags.limit);
      if (flags.json) return void out.write(toJson(list));
      const header = ['COMMITTED AT', 'SNAPSHOT', 'OPERATION', '+ROWS', '-ROWS', 'ROWS', '+FILES', '+DELETE FILES', 'CURRENT'];
      out.write(`${columns([header, ...list.map((s) => [s.committedAt, s.snapshotId, s.operation, num(s.addedRows), num(s.deletedRows), num(s.totalRows), num(s.addedDataFiles), num(s.addedDeleteFiles), s.isCurrent ? '*' : ''])])}\n`);
    }),
  );

  const query = new Command('query')
    .description('time travel: the rows of a table at a snapshot or as of a time (the current snapshot without either), deletes applied')
    .argument('<table>', 'namespace.table')
    .option('--snapshot <id>', 'read this snapshot (ids: `duckhouse tables snapshots <table>`)', parseSnapshotId)
    .option('--as-of <time>', 'read the snapshot that was current at this ISO time', parseTime)
    .option('--columns <list>', 'only these columns, comma-separated')
    .option('--limit <n>', 'print at most this many rows (the scan stops there)', positiveInt, 20);
  addJsonOption(query, 'print the rows as a JSON array');
  addCatalogOptions(query).action(async (name: string, flags: QueryFlags) =>
    withCatalog(flags, async (catalog) => {
      if (flags.snapshot !== undefined && flags.asOf !== undefined) throw new DuckHouseError('config', 'give --snapshot or --as-of, not both');
      const id = parseTable(name);
      const table = await catalog.loadTable(id);
      const snapshot = resolveSnapshot(id, table.metadata, { ...(flags.snapshot !== undefined ? { snapshotId: flags.snapshot } : {}), ...(flags.asOf ? { asOf: flags.asOf } : {}) });
      const limit = flags.limit ?? 20;
      const rows: Record<string, unknown>[] = [];
      const wanted = flags.columns?.split(',').map((c) => c.trim()).filter(Boolean);
      const fields = (snapshot.schemaId === undefined ? currentSchema(table.metadata) : schemaById(table.metadata, snapshot.schemaId)).fields;
      for await (const chunk of scanRows(table, { snapshotId: snapshot.snapshotId, ...(wanted ? { columns: wanted } : {}) })) {
        rows.push(...chunk.slice(0, limit - rows.length).map((row) => displayRow(fields, row)));
        if (rows.length >= limit) break;
      }
      if (flags.json) return void out.write(toJson(rows));
      const names = rows.length > 0 ? Object.keys(rows[0]!) : (wanted ?? []);
      if (rows.length > 0) out.write(`${columns([names, ...rows.map((r) => names.map((n) => cell(r[n])))])}\n`);
      const total = liveRows(snapshot.summary);
      const more = total !== null && total > rows.length ? ` of ${total.toLocaleString('en-US')} (--limit)` : '';
      out.write(`${plural(rows.length, 'row')}${more} of ${formatIdentifier(id)} at snapshot ${snapshot.snapshotId} (${new Date(snapshot.timestampMs).toISOString()})\n`);
    }),
  );

  for (const command of [list, describe, history, snapshots, query]) tables.addCommand(command);
  return tables;
}
