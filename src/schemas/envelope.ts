// The Debezium-style change envelope every DuckHouse topic carries: `before`, `after`, `op` (c/u/d/r, and t for a
// truncate), `source` {db, schema, table, lsn, txId, ts_ms, …} and `ts_ms`; a tombstone is a record whose value is
// null. Field names are Debezium's, so an event decoded from our Avro and one parsed from Debezium's JSON converter have
// the same shape. Values inside `before`/`after` are in Iceberg's in-memory form (see catalog/spec/conversions.ts):
// long/timestamps/time → bigint (µs), decimal → unscaled bigint, uuid → string, bytes → Uint8Array.
// PURE: no IO. Must never: invent field names that differ from Debezium's for the same meaning.
import { DataInvalidError } from '../shared/errors.js';

/** c = create, u = update, d = delete, r = read (snapshot row), t = truncate (no key, no before/after). */
export type ChangeOp = 'c' | 'u' | 'd' | 'r' | 't';
export const CHANGE_OPS: readonly ChangeOp[] = ['c', 'u', 'd', 'r', 't'];

export type Row = Record<string, unknown>;

/**
 * Where a change came from. Debezium's Postgres `source` block plus optional fields for CSV files. `lsn` is the change's
 * WAL position; `sequence` is a JSON array of decimal strings that orders events across transactions (see
 * sourcePosition); the sink drops streamed events at or below the position it already committed.
 */
export interface SourceInfo {
  version: string;
  /** `postgresql` (our CDC producer and Debezium), `csv` (the CSV producer). */
  connector: string;
  /** The logical server / producer name (Debezium's `topic.prefix`). */
  name: string;
  ts_ms: bigint;
  /** `true`, `first`, `last`, `false` (Debezium), or null when not part of a snapshot. */
  snapshot: string | null;
  db: string;
  sequence: string | null;
  schema: string | null;
  table: string | null;
  txId: bigint | null;
  lsn: bigint | null;
  xmin: bigint | null;
  /** CSV producer: the file's name, its SHA-256 and the line of the record (1-based, header included). */
  file: string | null;
  file_sha256: string | null;
  line: bigint | null;
}

export interface ChangeEvent<R extends Row = Row> {
  before: R | null;
  after: R | null;
  source: SourceInfo;
  op: ChangeOp;
  /** When DuckHouse (or Debezium) processed the event, ms since the epoch. */
  ts_ms: bigint | null;
  /**
   * Columns whose new value was not sent (Postgres unchanged TOASTed values without REPLICA IDENTITY FULL): `after`
   * holds null for them and the sink keeps the value the row already has. Debezium marks these with a placeholder
   * string instead; the JSON parser turns that into this list.
   */
  unavailable_columns: string[] | null;
}

/** Debezium's placeholder for an unchanged TOASTed value (`unavailable.value.placeholder`). */
export const DEBEZIUM_UNAVAILABLE_PLACEHOLDER = '__debezium_unavailable_value';

export const ENVELOPE_VERSION = '1';

/** The Avro schema of the `source` block (shared by every table's envelope). */
export const SOURCE_AVRO_SCHEMA = {
  type: 'record',
  name: 'Source',
  namespace: 'io.duckhouse.connector',
  fields: [
    { name: 'version', type: 'string' },
    { name: 'connector', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'ts_ms', type: 'long' },
    { name: 'snapshot', type: ['null', 'string'], default: null },
    { name: 'db', type: 'string' },
    { name: 'sequence', type: ['null', 'string'], default: null },
    { name: 'schema', type: ['null', 'string'], default: null },
    { name: 'table', type: ['null', 'string'], default: null },
    { name: 'txId', type: ['null', 'long'], default: null },
    { name: 'lsn', type: ['null', 'long'], default: null },
    { name: 'xmin', type: ['null', 'long'], default: null },
    { name: 'file', type: ['null', 'string'], default: null },
    { name: 'file_sha256', type: ['null', 'string'], default: null },
    { name: 'line', type: ['null', 'long'], default: null },
  ],
} as const;

export interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace?: string;
  doc?: string;
  fields: AvroFieldSchema[];
  [attribute: string]: unknown;
}

export interface AvroFieldSchema {
  name: string;
  type: unknown;
  default?: unknown;
  doc?: string;
  [attribute: string]: unknown;
}

/** The Avro namespace of a topic's records: Debezium uses `<prefix>.<schema>.<table>`; ours is the topic name. */
export function avroNamespace(topic: string): string {
  return topic
    .split('.')
    .map((part) => part.replace(/[^A-Za-z0-9_]/g, '_').replace(/^([0-9])/, '_$1'))
    .join('.');
}

/**
 * The envelope schema for a table whose row is `value` (an Avro record named `Value`). `before` and `after` are both
 * optional rows, as in Debezium.
 */
export function envelopeAvroSchema(value: AvroRecordSchema): AvroRecordSchema {
  const valueName = value.namespace ? `${value.namespace}.${value.name}` : value.name;
  return {
    type: 'record',
    name: 'Envelope',
    ...(value.namespace ? { namespace: value.namespace } : {}),
    'connect.name': `${valueName.replace(/\.Value$/, '')}.Envelope`,
    fields: [
      { name: 'before', type: ['null', value], default: null },
      { name: 'after', type: ['null', valueName], default: null },
      { name: 'source', type: SOURCE_AVRO_SCHEMA },
      { name: 'op', type: 'string' },
      { name: 'ts_ms', type: ['null', 'long'], default: null },
      { name: 'unavailable_columns', type: ['null', { type: 'array', items: 'string' }], default: null },
    ],
  };
}

/** Takes the row schema back out of an envelope schema (the `before` branch); throws when it is not an envelope. */
export function rowSchemaOfEnvelope(envelope: AvroRecordSchema, where: string): AvroRecordSchema {
  const before = envelope.fields.find((f) => f.name === 'before');
  const branch = Array.isArray(before?.type) ? (before.type as unknown[]).find((t) => typeof t === 'object' && t !== null && (t as { type?: unknown }).type === 'record') : undefined;
  if (!branch || !envelope.fields.some((f) => f.name === 'op') || !envelope.fields.some((f) => f.name === 'after')) {
    throw new DataInvalidError(`${where}: expected a change envelope (fields before, after, op, source), found record ${envelope.name} with fields ${envelope.fields.map((f) => f.name).join(', ')}`, { context: { where } });
  }
  return branch as AvroRecordSchema;
}

/** A `source` block with every optional field null; callers fill in what they know. */
export function emptySource(connector: string, name: string, db: string, tsMs: bigint): SourceInfo {
  return {
    version: ENVELOPE_VERSION,
    connector,
    name,
    ts_ms: tsMs,
    snapshot: null,
    db,
    sequence: null,
    schema: null,
    table: null,
    txId: null,
    lsn: null,
    xmin: null,
    file: null,
    file_sha256: null,
    line: null,
  };
}

/**
 * Checks the parts of an event the sink relies on: a known op, `after` for c/u/r, `before` for d (its key columns at
 * least), neither for t. Throws DataInvalidError saying what was found.
 */
export function validateChangeEvent(event: ChangeEvent, where: string | (() => string)): void {
  const op = event.op;
  const problem =
    !CHANGE_OPS.includes(op) ? `op must be one of ${CHANGE_OPS.join(', ')}, found ${JSON.stringify(op)}`
      : (op === 'c' || op === 'u' || op === 'r') && event.after === null ? `op "${op}" needs an "after" row, found null`
        : op === 'd' && event.before === null ? 'op "d" needs a "before" row (at least its key columns), found null'
          : op === 't' && (event.before !== null || event.after !== null) ? 'op "t" (truncate) carries no rows, found before/after'
            : undefined;
  if (problem === undefined) return;
  const at = typeof where === 'string' ? where : where();
  throw new DataInvalidError(`${at}: ${problem}`, { context: { where: at, op } });
}

/**
 * The position of an event in its source, for deduplication after a restart: [commit LSN, change LSN, index] for
 * Postgres. Debezium's `sequence` is `["<last commit lsn>","<lsn>"]`; DuckHouse's CDC producer adds a third element,
 * the event's index within one WAL change (a primary-key change is a delete at index 0 and a create at index 1), so
 * every event of a partition has its own position. Falls back to [lsn, lsn, 0]; null when the source has no order
 * (snapshot rows — every one shares the slot's LSN — and CSV lines are never dropped by position). Debezium's own
 * events can share a position (a key change's delete and create): the sink drops only events strictly below the
 * position it committed.
 */
export function sourcePosition(source: SourceInfo): [bigint, bigint, bigint] | null {
  if (source.snapshot !== null && source.snapshot !== 'false') return null;
  if (source.sequence) {
    try {
      const parsed = JSON.parse(source.sequence) as unknown;
      if (Array.isArray(parsed) && (parsed.length === 2 || parsed.length === 3)) {
        const [commit, lsn, index] = parsed.map((v) => (v === null || v === undefined ? null : BigInt(String(v))));
        if (lsn !== null && lsn !== undefined) return [commit ?? lsn, lsn, index ?? 0n];
      }
    } catch {
      // fall through to lsn
    }
  }
  return source.lsn === null ? null : [source.lsn, source.lsn, 0n];
}

/** Orders two positions from sourcePosition. */
export function comparePositions(a: readonly bigint[], b: readonly bigint[]): number {
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0n;
    const y = b[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
