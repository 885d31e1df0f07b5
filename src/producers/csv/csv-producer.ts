// `duckhouse produce csv`: streams a CSV file into the table's Kafka topic as Debezium-style envelopes (op c, or d from
// an op column), keyed by the key columns and Avro-encoded through the schema registry, in bounded memory. Bad rows go
// to the dead-letter topic with file, line and reason; the file's SHA-256 is recorded in the file ledger so a re-run
// skips a completed file and resumes an interrupted one after its last acknowledged line.
// Must never: lose a good row because of a bad one, or checkpoint a line before Kafka acknowledged it.
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { typeToString } from '../../catalog/spec/types.js';
import type { Kafka } from 'kafkajs';
import { type AvroRecordSchema, avroNamespace, emptySource, envelopeAvroSchema, rowSchemaOfEnvelope } from '../../schemas/envelope.js';
import { keySubject, latestAvro, SchemaCache, valueSubject } from '../../schemas/registry.js';
import { DataInvalidError, DuckHouseError } from '../../shared/errors.js';
import { producerAcked } from '../../shared/metrics.js';
import { type DeadLetter, deadLetterMessage } from '../dead-letter.js';
import { createProducer, dlqTopic, ensureTopic, tableTopic } from '../kafka/client.js';
import { type Compression, KafkaSender } from '../kafka/sender.js';
import { readCsv } from './csv-reader.js';
import { encodeInWorker, type EncodeJob, ITEM_DEAD_LETTER, ITEM_DELETE } from './encode-worker.js';
import { csvSchema } from './csv-schema.js';
import { FileLedger, type FileLedgerEntry, ledgerKey, ledgerTopic } from './file-ledger.js';
import type { CsvInput } from './row-encoder.js';

export interface CsvProduceOptions {
  input: CsvInput;
  namespace: string;
  table: string;
  keyColumns?: string[];
  delimiter?: string;
  schemaFile?: string;
  opColumn?: string;
  /** Text that means null (default: the empty string). */
  nullValue?: string;
  topicPrefix?: string;
  /** Partitions of a new table topic (default 4). */
  partitions?: number;
  /** Rows read to infer column types (default 10,000). */
  sampleRows?: number;
  compression?: Compression;
  /** Send the file again even when the ledger says it was completed. */
  force?: boolean;
  /** Called about once a second while rows flow, and once at the end. */
  onProgress?: (progress: CsvProgress) => void;
  /** Called for each reject (for logs); it is also on the dead-letter topic. */
  onReject?: (letter: DeadLetter) => void;
  now?: () => Date;
}

export interface CsvProgress {
  rows: number;
  sent: number;
  rejected: number;
  bytesRead: number;
  totalBytes: number;
  seconds: number;
}

export interface CsvProduceResult {
  topic: string;
  sha256: string;
  status: 'completed' | 'already-completed';
  /** Data rows read (header excluded), sent (upserts + deletes), rejected, skipped because an earlier run sent them. */
  rows: number;
  sent: number;
  deletes: number;
  rejected: number;
  resumedAfterLine: number;
  bytes: number;
  seconds: number;
  valueSchemaId: number | undefined;
  keySchemaId: number | undefined;
  columns: { name: string; type: string; origin: string }[];
  previous?: FileLedgerEntry;
}

const CHECKPOINT_MS = 2000;

export async function produceCsv(kafka: Kafka, registry: SchemaRegistry, options: CsvProduceOptions): Promise<CsvProduceResult> {
  const now = options.now ?? (() => new Date());
  const started = Date.now();
  const prefix = options.topicPrefix ?? 'duckhouse';
  const topic = tableTopic(prefix, options.namespace, options.table);
  const tableName = `${options.namespace}.${options.table}`;
  const { path: file, name: fileName, sha256, bytes: totalBytes } = options.input;
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    const ledger = new FileLedger(kafka, producer, ledgerTopic(prefix));
    await ledger.ensure();
    const key = ledgerKey(tableName, sha256);
    const previous = await ledger.lookup(key);
    const base = { topic, sha256, bytes: totalBytes, valueSchemaId: undefined, keySchemaId: undefined, columns: [], deletes: 0 };
    if (previous?.status === 'completed' && !options.force) {
      return { ...base, status: 'already-completed', rows: 0, sent: 0, rejected: 0, resumedAfterLine: 0, seconds: (Date.now() - started) / 1000, previous };
    }
    const resumeAfter = previous?.status === 'started' && !options.force ? previous.ackedLine : 0;

    // Header + sample for the schema.
    const sample: string[][] = [];
    let header: string[] | undefined;
    let wholeFile = true;
    const sampleRows = options.sampleRows ?? 10_000;
    for await (const chunk of readCsv(file, { delimiter: options.delimiter })) {
      for (const record of chunk.records) {
        if (!header) header = record.fields;
        else if (sample.length < sampleRows) sample.push(record.fields);
        else wholeFile = false;
      }
      if (!wholeFile) break;
    }
    if (!header) throw new DataInvalidError(`${fileName}: the file is empty (expected a header row)`, { context: { file: fileName, line: 1 } });
    const namespace = avroNamespace(topic);
    const registeredEnvelope = await latestAvro(registry, valueSubject(topic));
    const schema = await csvSchema({
      file: fileName,
      header,
      sample,
      wholeFile,
      keyColumns: options.keyColumns ?? [],
      ...(options.opColumn === undefined ? {} : { opColumn: options.opColumn }),
      ...(options.schemaFile === undefined ? {} : { schemaFile: options.schemaFile }),
      ...(registeredEnvelope ? { registered: rowSchemaOfEnvelope(registeredEnvelope.schema as AvroRecordSchema, `registered ${valueSubject(topic)}`) } : {}),
      namespace,
      nullValue: options.nullValue ?? '',
    });
    if (schema.opColumn && schema.keyColumns.length === 0) {
      throw new DuckHouseError('config', `--op-column ${schema.opColumn.header}: deletes need --key (which columns identify a row)`);
    }
    const cache = new SchemaCache(registry);
    const valueSchema = await cache.register(valueSubject(topic), envelopeAvroSchema(schema.value) as unknown as Record<string, unknown>);
    const keySchema = schema.key ? await cache.register(keySubject(topic), schema.key as unknown as Record<string, unknown>) : undefined;
    await ensureTopic(kafka, topic, { partitions: options.partitions ?? 4 });
    const dlq = dlqTopic(prefix);
    await ensureTopic(kafka, dlq, { partitions: 1 });

    const source = { ...emptySource('csv', prefix, 'csv', BigInt(now().getTime())), schema: options.namespace, table: options.table, file: fileName, file_sha256: sha256 };
    const job: EncodeJob = {
      file,
      fileName,
      sha256,
      table: tableName,
      delimiter: options.delimiter ?? ',',
      nullValue: options.nullValue ?? '',
      resumeAfter,
      columns: schema.columns.map(({ parse: _parse, ...column }) => column),
      keyNames: schema.keyColumns.map((c) => c.name),
      opColumn: schema.opColumn,
      absent: schema.absent,
      valueSchema: { id: valueSchema.id, schema: valueSchema.schema },
      keySchema: keySchema ? { id: keySchema.id, schema: keySchema.schema } : undefined,
      source,
    };
    const sender = new KafkaSender(producer, { compression: options.compression ?? 'gzip' });
    const counts = { rows: 0, sent: 0, deletes: 0, rejected: 0, bytesRead: 0 };
    let ackedLine = resumeAfter;
    // Counts continue an interrupted run only when this run resumes it (not under --force, which starts over).
    const resumed = resumeAfter > 0 ? previous : undefined;
    let ackedSent = resumed?.sent ?? 0;
    let ackedRejected = resumed?.rejected ?? 0;
    const startedAt = resumed?.startedAt ?? now().toISOString();
    const entry = (status: FileLedgerEntry['status']): FileLedgerEntry => ({
      status, table: tableName, file: fileName, sha256, bytes: totalBytes, ackedLine, sent: ackedSent, rejected: ackedRejected, startedAt, updatedAt: now().toISOString(),
    });
    await ledger.record(key, entry('started'));
    let lastCheckpoint = Date.now();
    let lastProgress = 0;
    const progress = (): CsvProgress => ({ ...counts, totalBytes, seconds: (Date.now() - started) / 1000 });

    // The worker thread parses and encodes; this thread sends, in line order, so acknowledged lines form a prefix.
    for await (const batch of encodeInWorker(job)) {
      counts.bytesRead = batch.bytesRead;
      const letters = new Map(batch.letters);
      const data = Buffer.from(batch.data.buffer, batch.data.byteOffset, batch.data.byteLength);
      const { kinds, lines, bounds } = batch;
      let sent = 0;
      let rejected = 0;
      for (let i = 0; i < kinds.length; i++) {
        const keyLength = bounds[4 * i + 1]!;
        const keyBytes = keyLength < 0 ? null : data.subarray(bounds[4 * i]!, bounds[4 * i]! + keyLength);
        const value = data.subarray(bounds[4 * i + 2]!, bounds[4 * i + 2]! + bounds[4 * i + 3]!);
        let wait: Promise<void> | undefined;
        if (kinds[i] === ITEM_DEAD_LETTER) {
          rejected++;
          const letter = letters.get(i)!;
          options.onReject?.(letter);
          wait = sender.send({ topic: dlq, key: keyBytes, value, headers: deadLetterMessage(letter).headers });
        } else {
          sent++;
          if (kinds[i] === ITEM_DELETE) counts.deletes++;
          wait = sender.send({ topic, key: keyBytes, value });
        }
        if (wait) await wait;
      }
      counts.rows += kinds.length;
      counts.sent += sent;
      counts.rejected += rejected;
      // Acks come in send order: once the batch's last message is acknowledged, all its lines are.
      const lastLine = lines[lines.length - 1] ?? ackedLine;
      sender.onAcked(() => {
        ackedLine = Math.max(ackedLine, lastLine);
        ackedSent += sent;
        ackedRejected += rejected;
        producerAcked('csv', topic, sent, rejected);
      });
      const t = Date.now();
      if (t - lastCheckpoint >= CHECKPOINT_MS) {
        lastCheckpoint = t;
        await ledger.record(key, entry('started'));
      }
      if (t - lastProgress >= 1000) {
        lastProgress = t;
        options.onProgress?.(progress());
      }
    }
    await sender.flush();
    await ledger.record(key, entry('completed'));
    options.onProgress?.(progress());
    return {
      ...base,
      status: 'completed',
      rows: counts.rows,
      sent: counts.sent,
      deletes: counts.deletes,
      rejected: counts.rejected,
      resumedAfterLine: resumeAfter,
      seconds: (Date.now() - started) / 1000,
      valueSchemaId: valueSchema.id,
      keySchemaId: keySchema?.id,
      columns: [
        ...schema.columns.map((c) => ({ name: c.name, type: typeToString(c.type), origin: schema.origins.get(c.name) ?? '' })),
        ...schema.absent.map((name) => ({ name, type: '-', origin: 'table column absent from the file (null)' })),
      ],
      ...(previous ? { previous } : {}),
    };
  } finally {
    await producer.disconnect();
  }
}

