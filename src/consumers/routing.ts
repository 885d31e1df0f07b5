// Which table a topic feeds and how a new table is partitioned: `<prefix>.<namespace>.<table>` → namespace.table
// (the producers' naming, and Debezium's `<topic.prefix>.<schema>.<table>`), unless an explicit mapping says
// otherwise; partition specs are written the way people write them in SQL (`day(created_at), bucket(16, id)`).
// PURE: no IO. Must never: guess a table for a topic it cannot map (the caller reports it instead).
import { DuckHouseError } from '../shared/errors.js';
import type { TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier, tableIdentifier } from '../catalog/catalogs/catalog.js';
import type { PartitionSpec } from '../catalog/spec/partition-spec.js';
import { PARTITION_FIELD_ID_START, transformApplies } from '../catalog/spec/partition-spec.js';
import type { Schema } from '../catalog/spec/schema.js';
import type { Transform } from '../catalog/spec/transforms.js';
import { transformToString } from '../catalog/spec/transforms.js';
import { typeToString } from '../catalog/spec/types.js';

export interface RoutingOptions {
  /** Topic prefix stripped before `<namespace>.<table>` (the producers' `--prefix`, Debezium's `topic.prefix`). */
  prefix: string;
  /** Explicit topic → `namespace.table` mappings; they win over the naming rule. */
  tables?: Readonly<Record<string, string>>;
}

/** The table a topic feeds, or an error saying why the topic cannot be mapped. */
export function tableForTopic(topic: string, options: RoutingOptions): TableIdentifier {
  const explicit = options.tables && Object.hasOwn(options.tables, topic) ? options.tables[topic] : undefined;
  if (explicit !== undefined) return tableIdentifier(explicit);
  const head = `${options.prefix}.`;
  const rest = topic.startsWith(head) ? topic.slice(head.length) : undefined;
  const parts = rest?.split('.');
  if (!parts || parts.length !== 2 || parts.some((p) => p === '')) {
    throw new DuckHouseError('config', `topic "${topic}" does not name a table: expected "${options.prefix}.<namespace>.<table>", or map it with --table-map ${topic}=<namespace>.<table>`);
  }
  return { namespace: [parts[0]!], name: parts[1]! };
}

const TRANSFORMS: Record<string, { args: number; suffix: string; make: (n?: number) => Transform }> = {
  identity: { args: 0, suffix: '', make: () => ({ kind: 'identity' }) },
  year: { args: 0, suffix: '_year', make: () => ({ kind: 'year' }) },
  years: { args: 0, suffix: '_year', make: () => ({ kind: 'year' }) },
  month: { args: 0, suffix: '_month', make: () => ({ kind: 'month' }) },
  months: { args: 0, suffix: '_month', make: () => ({ kind: 'month' }) },
  day: { args: 0, suffix: '_day', make: () => ({ kind: 'day' }) },
  days: { args: 0, suffix: '_day', make: () => ({ kind: 'day' }) },
  hour: { args: 0, suffix: '_hour', make: () => ({ kind: 'hour' }) },
  hours: { args: 0, suffix: '_hour', make: () => ({ kind: 'hour' }) },
  bucket: { args: 1, suffix: '_bucket', make: (n) => ({ kind: 'bucket', n: n! }) },
  truncate: { args: 1, suffix: '_trunc', make: (n) => ({ kind: 'truncate', width: n! }) },
};

/** Splits on commas that are not inside parentheses or double quotes. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/**
 * Parses `day(created_at), bucket(16, id), region` into a partition spec for `schema`: a bare column is identity;
 * year/month/day/hour(col), bucket(N, col) and truncate(W, col) as in Iceberg's SQL extensions. Field names follow
 * Iceberg's defaults (`created_at_day`, `id_bucket`, `region`).
 */
export function parsePartitionSpec(text: string, schema: Schema, table = 'table'): PartitionSpec {
  const fields = splitTop(text).map((item, index) => {
    const fail = (why: string): never => {
      throw new DuckHouseError('config', `partition spec of ${table}, item ${index + 1} "${item}": ${why}; expected a column, year|month|day|hour(column), bucket(N, column) or truncate(W, column)`);
    };
    const call = /^([A-Za-z_]+)\s*\((.*)\)$/.exec(item);
    const written = call ? call[1]! : 'identity';
    const name = written.toLowerCase();
    const args = call ? splitTop(call[2]!) : [item];
    const known = (Object.hasOwn(TRANSFORMS, name) ? TRANSFORMS[name] : undefined) ?? fail(`unknown transform "${written}"`);
    if (args.length !== known.args + 1) fail(`${name} takes ${known.args + 1} argument(s), found ${args.length}`);
    let n: number | undefined;
    if (known.args === 1) {
      n = Number(args[0]);
      if (!Number.isInteger(n) || n <= 0) fail(`expected a positive whole number, found "${args[0]}"`);
    }
    const column = args[known.args]!.replace(/^"(.*)"$/, '$1');
    const source = schema.fields.find((f) => f.name === column) ?? fail(`no top-level column "${column}"; columns: ${schema.fields.map((f) => f.name).join(', ')}`);
    const transform = known.make(n);
    if (!transformApplies(transform, source.type)) fail(`${transformToString(transform)} does not apply to ${typeToString(source.type)} column "${column}"`);
    return { sourceId: source.id, fieldId: PARTITION_FIELD_ID_START + index, name: `${column}${known.suffix}`, transform };
  });
  const names = new Set<string>();
  for (const f of fields) {
    if (names.has(f.name)) throw new DuckHouseError('config', `partition spec of ${table} has two fields named "${f.name}"`);
    names.add(f.name);
  }
  return { specId: 0, fields };
}

/** Parses `--partition-by ns.table=<spec>` options into a lookup by table name. */
export function partitionSpecsByTable(items: readonly string[]): Map<string, string> {
  const result = new Map<string, string>();
  for (const item of items) {
    const at = item.indexOf('=');
    if (at <= 0) throw new DuckHouseError('config', `--partition-by "${item}": expected <namespace>.<table>=<spec>, for example analytics.orders=day(created_at)`);
    result.set(formatIdentifier(tableIdentifier(item.slice(0, at).trim())), item.slice(at + 1));
  }
  return result;
}
