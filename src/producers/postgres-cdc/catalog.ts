// Postgres side of the CDC producer, outside the replication stream: connections (with the session settings the text
// parsers rely on, and errors that say host:port but never the password), the wal_level check, table descriptions
// (columns, NOT NULL, primary key, replica identity), replication slot status, dropping a slot, and the publication.
// Must never: print the source URL's password; put a name into SQL that names.ts did not validate and quote.
import pg from 'pg';
import { DuckHouseError } from '../../shared/errors.js';
import { parseLsn } from './lsn.js';
import { quoteIdent, quoteTable, type TableRef, tableName } from './names.js';
import type { PgColumn, TableShape } from './row-schema.js';

/** Session settings every connection gets, so values arrive in the text forms pg-text.ts parses (UTC, ISO, hex). */
export const SESSION_OPTIONS = '-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres -c bytea_output=hex -c extra_float_digits=3';

export interface PgSource {
  /** Client config for a regular connection (add `replication: 'database'` for a replication one). */
  config: pg.ClientConfig;
  /** `host:port/database as user`, for messages: never the password. */
  where: string;
}

/** Reads a `postgres://user:password@host:port/db` URL; the password is only ever handed to pg. */
export function pgSource(url: string): PgSource {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DuckHouseError('config', '--source: expected a URL like postgres://user:password@host:5432/database, found something that is not a URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new DuckHouseError('config', `--source: expected a postgres:// or postgresql:// URL, found protocol ${parsed.protocol}`);
  }
  const user = decodeURIComponent(parsed.username) || '(default user)';
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || user;
  return {
    config: { connectionString: url, options: SESSION_OPTIONS, application_name: 'duckhouse-cdc', connectionTimeoutMillis: 15_000 },
    where: `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}/${database} as ${user}`,
  };
}

export interface ConnectOptions {
  replication?: boolean;
  /** Return every value as Postgres's text (no pg type parsing): what the snapshot reader needs. */
  rawText?: boolean;
  /** Called on errors of the idle connection (a lost server), which pg would otherwise throw from an event. */
  onError?: (error: Error) => void;
}

const rawTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** Opens a connection; failures say where (host:port/database as user) and why, never the password. */
export async function connect(source: PgSource, options: ConnectOptions = {}): Promise<pg.Client> {
  const client = new pg.Client({ ...source.config, ...(options.replication ? { replication: 'database' } : {}), ...(options.rawText ? { types: rawTypes } : {}) });
  client.on('error', (error) => options.onError?.(error));
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectionError(source, error);
  }
  return client;
}

/** A DuckHouseError for a failed connection, with the server's reason. */
export function connectionError(source: PgSource, error: unknown): DuckHouseError {
  const code = (error as { code?: string }).code;
  const reason = error instanceof Error ? error.message : String(error);
  const config = code === '28P01' || code === '28000' || code === '3D000';
  return new DuckHouseError(config ? 'config' : 'io', `cannot connect to Postgres at ${source.where}: ${reason}`, { cause: error, retriable: !config });
}

export async function checkWalLevel(client: pg.Client, source: PgSource): Promise<void> {
  const level = (await client.query<{ wal_level: string }>('show wal_level')).rows[0]?.wal_level;
  if (level !== 'logical') {
    throw new DuckHouseError('config', `Postgres at ${source.where} has wal_level=${level}; CDC needs wal_level=logical (set it in postgresql.conf or with ALTER SYSTEM, then restart Postgres)`);
  }
}

export interface TableDescription {
  ref: TableRef;
  oid: number;
  /** pg_class.relreplident: d (default: the primary key), f (full), i (an index), n (nothing). */
  replicaIdentity: string;
  shape: TableShape;
}

/** Columns, NOT NULL and primary key of a table as the current snapshot of `client` sees them. */
export async function describeTable(client: pg.Client, ref: TableRef, source: PgSource): Promise<TableDescription> {
  const found = await client.query<{ oid: number | string; relkind: string; relreplident: string }>(
    'select c.oid::int as oid, c.relkind, c.relreplident from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2',
    [ref.schema, ref.table],
  );
  const row = found.rows[0];
  if (!row) {
    const similar = await client.query<{ name: string }>(
      "select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where lower(n.nspname) = lower($1) and lower(c.relname) = lower($2) and c.relkind in ('r', 'p')",
      [ref.schema, ref.table],
    );
    const hint = similar.rows[0] ? ` (names are case-sensitive: did you mean ${similar.rows[0].name}?)` : '';
    throw new DuckHouseError('not-found', `table ${tableName(ref)} not found in Postgres at ${source.where}${hint}`);
  }
  if (row.relkind !== 'r') {
    throw new DuckHouseError('config', `${tableName(ref)} in Postgres at ${source.where}: expected an ordinary table, found relkind '${row.relkind}' (partitioned tables, views and foreign tables are not supported)`);
  }
  const oid = Number(row.oid);
  const columns = await tableColumns(client, oid);
  return { ref, oid, replicaIdentity: row.relreplident, shape: { columns, primaryKey: await primaryKey(client, oid) } };
}

/** Columns in attnum order. Generated columns are left out: pgoutput does not send them. */
export async function tableColumns(client: pg.Client, oid: number): Promise<PgColumn[]> {
  const result = await client.query<{ name: string; type_oid: number | string; typmod: number | string; not_null: boolean | string }>(
    "select a.attname as name, a.atttypid::int as type_oid, a.atttypmod as typmod, a.attnotnull as not_null from pg_attribute a where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped and a.attgenerated = '' order by a.attnum",
    [oid],
  );
  // Values may arrive as text (the snapshot reader's connection does no type parsing): convert explicitly.
  return result.rows.map((r) => ({ name: r.name, typeOid: Number(r.type_oid), typeMod: Number(r.typmod), notNull: r.not_null === true || String(r.not_null) === 't' }));
}

export async function primaryKey(client: pg.Client, oid: number): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    'select a.attname as name from pg_index i cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord) join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum where i.indrelid = $1 and i.indisprimary order by k.ord',
    [oid],
  );
  return result.rows.map((r) => r.name);
}

/** Refuses tables the producer cannot key: no primary key, or a replica identity that does not send the key. */
export function checkCdcTable(table: TableDescription, source: PgSource): void {
  const name = tableName(table.ref);
  if (table.shape.primaryKey.length === 0) {
    throw new DuckHouseError('config', `table ${name} in Postgres at ${source.where} has no primary key; DuckHouse CDC keys every topic by primary key (add one: ALTER TABLE ${quoteTable(table.ref)} ADD PRIMARY KEY (…))`);
  }
  if (table.replicaIdentity === 'n' || table.replicaIdentity === 'i') {
    const found = table.replicaIdentity === 'n' ? 'NOTHING' : 'USING INDEX';
    throw new DuckHouseError('config', `table ${name} has REPLICA IDENTITY ${found}; DuckHouse CDC needs DEFAULT (the primary key) or FULL (ALTER TABLE ${quoteTable(table.ref)} REPLICA IDENTITY DEFAULT)`);
  }
}

export interface SlotInfo {
  plugin: string;
  slotType: string;
  database: string | null;
  active: boolean;
  activePid: number | null;
  confirmedFlushLsn: bigint | null;
}

export async function slotInfo(client: pg.Client, slot: string): Promise<SlotInfo | undefined> {
  const result = await client.query<{ plugin: string | null; slot_type: string; database: string | null; active: boolean; active_pid: number | null; confirmed_flush_lsn: string | null }>(
    'select plugin, slot_type, database, active, active_pid, confirmed_flush_lsn::text from pg_replication_slots where slot_name = $1',
    [slot],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    plugin: row.plugin ?? '',
    slotType: row.slot_type,
    database: row.database,
    active: row.active,
    activePid: row.active_pid,
    confirmedFlushLsn: row.confirmed_flush_lsn === null ? null : parseLsn(row.confirmed_flush_lsn, `slot ${slot} confirmed_flush_lsn`),
  };
}

export function slotInUseError(slot: string, pid: number | null | string, source: PgSource): DuckHouseError {
  return new DuckHouseError('config', `replication slot ${slot} in Postgres at ${source.where} is in use by another process (backend pid ${pid ?? 'unknown'}): is another \`duckhouse cdc\` running with this --name/--slot?`);
}

export async function dropSlot(client: pg.Client, slot: string, source: PgSource): Promise<void> {
  try {
    await client.query('select pg_drop_replication_slot($1) from pg_replication_slots where slot_name = $1', [slot]);
  } catch (error) {
    if ((error as { code?: string }).code === '55006') throw slotInUseError(slot, /PID (\d+)/.exec(String((error as Error).message))?.[1] ?? null, source);
    throw error;
  }
}

/** Creates the publication for `tables`, or makes an existing one publish exactly them (and every kind of change). */
export async function ensurePublication(client: pg.Client, publication: string, tables: readonly TableRef[]): Promise<'created' | 'updated' | 'unchanged'> {
  const list = tables.map(quoteTable).join(', ');
  const existing = await client.query<{ puballtables: boolean; pubinsert: boolean; pubupdate: boolean; pubdelete: boolean; pubtruncate: boolean }>(
    'select puballtables, pubinsert, pubupdate, pubdelete, pubtruncate from pg_publication where pubname = $1',
    [publication],
  );
  const pub = existing.rows[0];
  if (!pub) {
    await client.query(`CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${list} WITH (publish = 'insert, update, delete, truncate')`);
    return 'created';
  }
  let changed = false;
  if (!(pub.pubinsert && pub.pubupdate && pub.pubdelete && pub.pubtruncate)) {
    await client.query(`ALTER PUBLICATION ${quoteIdent(publication)} SET (publish = 'insert, update, delete, truncate')`);
    changed = true;
  }
  if (!pub.puballtables) {
    const current = await client.query<{ schemaname: string; tablename: string }>('select schemaname, tablename from pg_publication_tables where pubname = $1', [publication]);
    const have = new Set(current.rows.map((r) => `${r.schemaname}.${r.tablename}`));
    if (have.size !== tables.length || tables.some((t) => !have.has(tableName(t)))) {
      await client.query(`ALTER PUBLICATION ${quoteIdent(publication)} SET TABLE ${list}`);
      changed = true;
    }
  }
  return changed ? 'updated' : 'unchanged';
}

export async function currentWalLsn(client: pg.Client): Promise<bigint> {
  const row = (await client.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0];
  return parseLsn(row?.lsn ?? '', 'pg_current_wal_lsn()');
}
