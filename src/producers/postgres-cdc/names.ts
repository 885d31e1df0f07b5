// Names the CDC producer reads from its options and puts into SQL: the `schema.table` list, replication slot and
// publication names (validated, then always double-quoted in SQL), and the defaults derived from `--name`.
// PURE: no IO. Must never: put an unvalidated or unquoted name into SQL.
import { DuckHouseError } from '../../shared/errors.js';

export interface TableRef {
  schema: string;
  table: string;
}

/** Table and schema names: exact (case-sensitive) Postgres names that also fit a Kafka topic name part. */
const TABLE_PART = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Slot names are limited by Postgres to lower-case letters, digits and _; publications follow the same rule here. */
const SLOT_NAME = /^[a-z0-9_]{1,63}$/;
const PRODUCER_NAME = /^[A-Za-z0-9_-]{1,40}$/;

export const tableName = (ref: TableRef): string => `${ref.schema}.${ref.table}`;

/** `public.a,public.b` (or a list of such) → table refs; a name without a schema is in `public`. */
export function parseTableList(input: string | readonly string[]): TableRef[] {
  const items = (typeof input === 'string' ? [input] : input).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new DuckHouseError('config', '--tables: expected at least one schema.table, found none');
  const refs: TableRef[] = [];
  for (const item of items) {
    const parts = item.split('.');
    const [schema, table] = parts.length === 1 ? ['public', parts[0]!] : parts.length === 2 ? [parts[0]!, parts[1]!] : ['', ''];
    if (!TABLE_PART.test(schema) || !TABLE_PART.test(table)) {
      throw new DuckHouseError('config', `--tables: expected schema.table with letters, digits and _ (exact, case-sensitive Postgres names), found ${JSON.stringify(item)}`);
    }
    if (refs.some((r) => r.schema === schema && r.table === table)) throw new DuckHouseError('config', `--tables: ${schema}.${table} is listed twice`);
    refs.push({ schema, table });
  }
  return refs;
}

/** Checks a slot or publication name; `option` names the option for the message. */
export function checkSlotName(name: string, option: string): string {
  if (!SLOT_NAME.test(name)) throw new DuckHouseError('config', `${option}: expected 1-63 lower-case letters, digits or _, found ${JSON.stringify(name)}`);
  return name;
}

/** Slot and publication names derived from the producer's `--name` (`duckhouse_<name>`, `-` → `_`). */
export function defaultReplicationNames(name: string): { slot: string; publication: string } {
  if (!PRODUCER_NAME.test(name)) throw new DuckHouseError('config', `--name: expected 1-40 letters, digits, _ or -, found ${JSON.stringify(name)}`);
  const base = `duckhouse_${name.toLowerCase().replace(/-/g, '_')}`;
  return { slot: checkSlotName(base, '--name'), publication: checkSlotName(base, '--name') };
}

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."table"`. */
export function quoteTable(ref: TableRef): string {
  return `${quoteIdent(ref.schema)}.${quoteIdent(ref.table)}`;
}
