// The dead-letter record every DuckHouse component writes to `<prefix>.dlq`: JSON, one record per rejected input, saying
// what was wrong (kind + message) and where (file/line for CSV, table/LSN for CDC, topic/partition/offset for the
// sink), with the raw input in base64 so nothing is lost and a fixed record can be replayed.
// Must never: drop the raw bytes, or put secrets (connection strings) in a message.
import type { IHeaders } from 'kafkajs';

export type DeadLetterKind =
  | 'csv-malformed'
  | 'csv-column-count'
  | 'csv-value'
  | 'csv-key-missing'
  | 'csv-op'
  | 'csv-encoding'
  | 'cdc-value'
  | 'decode'
  | 'schema'
  | 'constraint';

export interface DeadLetter {
  kind: DeadLetterKind;
  message: string;
  /** `namespace.table` the record was meant for. */
  table: string | null;
  /** Where the input was: any of these that apply. */
  file: string | null;
  file_sha256: string | null;
  line: number | null;
  column: string | null;
  topic: string | null;
  partition: number | null;
  offset: string | null;
  lsn: string | null;
  key_base64: string | null;
  raw_base64: string;
  /** ISO-8601 time the record was dead-lettered. */
  time: string;
}

export function deadLetter(fields: Partial<DeadLetter> & Pick<DeadLetter, 'kind' | 'message'> & { raw: Buffer | string }, now: Date = new Date()): DeadLetter {
  const { raw, ...rest } = fields;
  return {
    table: null,
    file: null,
    file_sha256: null,
    line: null,
    column: null,
    topic: null,
    partition: null,
    offset: null,
    lsn: null,
    key_base64: null,
    ...rest,
    raw_base64: (typeof raw === 'string' ? Buffer.from(raw) : raw).toString('base64'),
    time: now.toISOString(),
  };
}

/** The Kafka message of a dead letter: key = table, JSON value, headers for filtering without parsing. */
export function deadLetterMessage(letter: DeadLetter): { key: Buffer | null; value: Buffer; headers: IHeaders } {
  return {
    key: letter.table === null ? null : Buffer.from(letter.table),
    value: Buffer.from(JSON.stringify(letter)),
    headers: { 'duckhouse.error-kind': letter.kind, ...(letter.table ? { 'duckhouse.table': letter.table } : {}) },
  };
}
