// One CSV record → a keyed, Avro-encoded change envelope, or the reason it is rejected (wrong column count, a value
// that does not parse as its column type, an empty key column, an unknown op). Also where a CSV input comes from: a
// file, or stdin spooled to a temporary file, with its SHA-256 and size.
// Must never: coerce a value that does not parse (it is rejected), or send a keyed row without its key.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { typeToString } from '../../catalog/spec/types.js';
import type avro from 'avsc';
import { avroNumberLongCodec, encodeFramed } from '../../schemas/avro-codec.js';
import type { SourceInfo } from '../../schemas/envelope.js';
import type { CachedSchema } from '../../schemas/registry.js';
import type { DeadLetterKind } from '../dead-letter.js';
import type { CsvRecord } from './csv-reader.js';
import type { CsvSchema } from './csv-schema.js';

export interface CsvInput {
  /** The file read (a temporary copy for stdin). */
  path: string;
  /** How it is named in messages, dead letters and the ledger. */
  name: string;
  sha256: string;
  bytes: number;
}

/** Hashes a file, or spools stdin (`-`) to a temporary file while hashing it. */
export async function prepareCsvInput(fileOrDash: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<CsvInput> {
  const hash = createHash('sha256');
  if (fileOrDash === '-') {
    const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-stdin-'));
    const spool = path.join(dir, 'stdin.csv');
    const hasher = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(stdin, hasher, createWriteStream(spool));
    } catch (error) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
    return { path: spool, name: 'stdin', sha256: hash.digest('hex'), bytes: (await stat(spool)).size };
  }
  const info = await stat(fileOrDash);
  for await (const chunk of createReadStream(fileOrDash)) hash.update(chunk as Buffer);
  return { path: fileOrDash, name: path.basename(fileOrDash), sha256: hash.digest('hex'), bytes: info.size };
}

export type RowOutcome =
  | { ok: true; key: Buffer | null; value: Buffer; delete: boolean }
  | { ok: false; letter: { kind: DeadLetterKind; message: string; column?: string } };

const UPSERT_OPS = new Set(['', 'c', 'u', 'r', 'i', 'insert', 'update', 'upsert', 'create']);
const DELETE_OPS = new Set(['d', 'delete']);

const LONG_KINDS = new Set(['long', 'time', 'timestamp', 'timestamptz']);
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export class RowEncoder {
  private readonly width: number;
  private readonly absent: Record<string, null>;
  private readonly longColumns: Set<string>;
  /** Writers taking JS numbers for longs (fast); the exact bigint writers are in valueSchema/keySchema. */
  private readonly fastValue: avro.Type;
  private readonly fastKey: avro.Type | undefined;
  private readonly fastSource: Record<string, unknown>;

  constructor(
    private readonly schema: Pick<CsvSchema, 'columns' | 'keyColumns' | 'opColumn' | 'absent'>,
    private readonly valueSchema: CachedSchema,
    private readonly keySchema: CachedSchema | undefined,
    private readonly source: SourceInfo,
    private readonly nullValue: string,
  ) {
    this.width = schema.columns.length + (schema.opColumn ? 1 : 0);
    this.absent = Object.fromEntries(schema.absent.map((name) => [name, null]));
    this.longColumns = new Set(schema.columns.filter((c) => LONG_KINDS.has(c.type.kind)).map((c) => c.name));
    this.fastValue = avroNumberLongCodec(valueSchema.schema);
    this.fastKey = keySchema ? avroNumberLongCodec(keySchema.schema) : undefined;
    this.fastSource = Object.fromEntries(Object.entries(source).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
  }

  encode(record: CsvRecord): RowOutcome {
    const fields = record.fields;
    if (fields.length !== this.width) {
      return { ok: false, letter: { kind: 'csv-column-count', message: `expected ${this.width} columns (as in the header), found ${fields.length}` } };
    }
    let isDelete = false;
    if (this.schema.opColumn) {
      const op = (fields[this.schema.opColumn.index] ?? '').trim().toLowerCase();
      if (DELETE_OPS.has(op)) isDelete = true;
      else if (!UPSERT_OPS.has(op)) {
        return { ok: false, letter: { kind: 'csv-op', column: this.schema.opColumn.header, message: `op column "${this.schema.opColumn.header}": expected d/delete for a delete or c/u/insert/update/upsert (or empty) for an upsert, found ${JSON.stringify(op)}` } };
      }
    }
    const row: Record<string, unknown> = { ...this.absent };
    let exact = false;
    for (const column of this.schema.columns) {
      const text = fields[column.index]!;
      if (text === this.nullValue) {
        if (column.required) {
          const isKey = this.schema.keyColumns.includes(column);
          return { ok: false, letter: { kind: isKey ? 'csv-key-missing' : 'csv-value', column: column.header, message: `${isKey ? 'key ' : 'required '}column "${column.header}" is empty` } };
        }
        row[column.name] = null;
        continue;
      }
      const parsed = column.parse(text);
      if (!parsed.ok) {
        return { ok: false, letter: { kind: 'csv-value', column: column.header, message: `column "${column.header}" (${typeToString(column.type)}): ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)} ${parsed.reason}` } };
      }
      let value = parsed.value;
      if (this.longColumns.has(column.name)) {
        const long = value as bigint;
        if (long >= -SAFE && long <= SAFE) value = Number(long);
        else exact = true;
      }
      row[column.name] = value;
    }
    if (exact) for (const name of this.longColumns) if (typeof row[name] === 'number') row[name] = BigInt(row[name]);
    const now = Date.now();
    const event = {
      before: isDelete ? row : null,
      after: isDelete ? null : row,
      source: exact ? { ...this.source, line: BigInt(record.line) } : { ...this.fastSource, line: record.line },
      op: isDelete ? 'd' : 'c',
      ts_ms: exact ? BigInt(now) : now,
      unavailable_columns: null,
    };
    let key: Buffer | null = null;
    if (this.keySchema) {
      const keyValue: Record<string, unknown> = {};
      for (const column of this.schema.keyColumns) keyValue[column.name] = row[column.name];
      key = encodeFramed(exact ? this.keySchema.codec : this.fastKey!, this.keySchema.id, keyValue);
    }
    return { ok: true, key, value: encodeFramed(exact ? this.valueSchema.codec : this.fastValue, this.valueSchema.id, event), delete: isDelete };
  }
}
