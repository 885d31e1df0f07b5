// The CSV producer's second thread: reads and parses the file (csv-reader.ts), converts and Avro-encodes each row
// (row-encoder.ts) and hands the main thread packed batches of ready Kafka messages and dead letters, in line order,
// while the main thread sends the previous batch. At most `maxAhead` batches wait for the main thread (bounded memory).
// Also the main-thread side: `encodeInWorker` starts the worker and yields its batches.
// Must never: reorder lines, or run more than `maxAhead` batches ahead of the sender.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { avroCodec } from '../../schemas/avro-codec.js';
import type { SourceInfo } from '../../schemas/envelope.js';
import { textParser } from '../../schemas/text-values.js';
import type { PrimitiveType } from '../../catalog/spec/types.js';
import { DuckHouseError } from '../../shared/errors.js';
import { siblingModule, startModuleWorker } from '../../shared/module-worker.js';
import { deadLetter, type DeadLetter, deadLetterMessage } from '../dead-letter.js';
import { readCsv, recordBytes } from './csv-reader.js';
import { RowEncoder } from './row-encoder.js';

export interface EncodeJob {
  file: string;
  fileName: string;
  sha256: string;
  table: string;
  delimiter: string;
  nullValue: string;
  /** Lines up to this one were sent by an earlier run. */
  resumeAfter: number;
  columns: { header: string; name: string; index: number; type: PrimitiveType; required: boolean }[];
  keyNames: string[];
  opColumn: { index: number; header: string } | undefined;
  absent: string[];
  valueSchema: { id: number; schema: Record<string, unknown> };
  keySchema: { id: number; schema: Record<string, unknown> } | undefined;
  source: SourceInfo;
  /** Items per batch (default 2,000) and batches the worker may run ahead (default 4). */
  batchItems?: number;
  maxAhead?: number;
}

export const ITEM_UPSERT = 0;
export const ITEM_DELETE = 1;
export const ITEM_DEAD_LETTER = 2;

/** Messages packed in one buffer: item i is kind[i] at line[i]; its key/value are data[bounds[4i]…] (length -1 = null). */
export interface EncodedBatch {
  kinds: Uint8Array;
  lines: Int32Array;
  bounds: Int32Array;
  data: Uint8Array;
  /** Dead letters by item index. */
  letters: [number, DeadLetter][];
  bytesRead: number;
}

type WorkerMessage = { type: 'batch'; batch: EncodedBatch } | { type: 'end' } | { type: 'error'; message: string; kind: string };

class BatchPacker {
  private kinds: number[] = [];
  private lines: number[] = [];
  private bounds: number[] = [];
  private parts: Buffer[] = [];
  private size = 0;
  letters: [number, DeadLetter][] = [];

  get length(): number {
    return this.kinds.length;
  }

  add(kind: number, line: number, key: Buffer | null, value: Buffer): void {
    this.kinds.push(kind);
    this.lines.push(line);
    if (key) {
      this.bounds.push(this.size, key.length);
      this.parts.push(key);
      this.size += key.length;
    } else this.bounds.push(0, -1);
    this.bounds.push(this.size, value.length);
    this.parts.push(value);
    this.size += value.length;
  }

  take(bytesRead: number): EncodedBatch {
    const batch: EncodedBatch = {
      kinds: Uint8Array.from(this.kinds),
      lines: Int32Array.from(this.lines),
      bounds: Int32Array.from(this.bounds),
      data: new Uint8Array(Buffer.concat(this.parts, this.size)),
      letters: this.letters,
      bytesRead,
    };
    this.kinds = [];
    this.lines = [];
    this.bounds = [];
    this.parts = [];
    this.size = 0;
    this.letters = [];
    return batch;
  }
}

async function runWorker(job: EncodeJob): Promise<void> {
  const port = parentPort!;
  let credits = job.maxAhead ?? 4;
  let waiting: (() => void) | undefined;
  port.on('message', () => {
    credits++;
    waiting?.();
  });
  const post = async (batch: EncodedBatch): Promise<void> => {
    while (credits <= 0) await new Promise<void>((resolve) => (waiting = resolve));
    credits--;
    port.postMessage({ type: 'batch', batch } satisfies WorkerMessage, [batch.kinds.buffer, batch.lines.buffer, batch.bounds.buffer, batch.data.buffer] as ArrayBuffer[]);
  };
  const columns = job.columns.map((c) => ({ ...c, parse: textParser(c.type) }));
  const schema = { columns, keyColumns: job.keyNames.map((name) => columns.find((c) => c.name === name)!), opColumn: job.opColumn, absent: job.absent };
  const value = { ...job.valueSchema, codec: avroCodec(job.valueSchema.schema) };
  const key = job.keySchema ? { ...job.keySchema, codec: avroCodec(job.keySchema.schema) } : undefined;
  const encoder = new RowEncoder(schema, value, key, job.source, job.nullValue);
  const packer = new BatchPacker();
  const batchItems = job.batchItems ?? 2000;
  const where = { table: job.table, file: job.fileName, file_sha256: job.sha256 };
  const reject = (letter: DeadLetter): void => {
    const message = deadLetterMessage(letter);
    packer.letters.push([packer.length, letter]);
    packer.add(ITEM_DEAD_LETTER, letter.line ?? 0, message.key, message.value);
  };
  for await (const chunk of readCsv(job.file, { delimiter: job.delimiter })) {
    let r = 0;
    let b = 0;
    while (r < chunk.records.length || b < chunk.rejects.length) {
      const record = chunk.records[r];
      const bad = chunk.rejects[b];
      if (bad && (!record || bad.line < record.line)) {
        b++;
        if (bad.line <= job.resumeAfter) continue;
        const kind = bad.reason.startsWith('invalid UTF-8') ? 'csv-encoding' : 'csv-malformed';
        reject(deadLetter({ kind, message: `${job.fileName}:${bad.line}: ${bad.reason}`, ...where, line: bad.line, raw: bad.raw }));
      } else {
        r++;
        if (!record || record.line === 1 || record.line <= job.resumeAfter) continue;
        const outcome = encoder.encode(record);
        if (outcome.ok) packer.add(outcome.delete ? ITEM_DELETE : ITEM_UPSERT, record.line, outcome.key, outcome.value);
        else reject(deadLetter({ ...outcome.letter, message: `${job.fileName}:${record.line}: ${outcome.letter.message}`, ...where, line: record.line, raw: recordBytes(job.file, record) }));
      }
      if (packer.length >= batchItems) await post(packer.take(chunk.bytesRead));
    }
    if (packer.length > 0) await post(packer.take(chunk.bytesRead));
  }
  port.postMessage({ type: 'end' } satisfies WorkerMessage);
}

if (!isMainThread && (workerData as { csvEncodeJob?: EncodeJob } | null)?.csvEncodeJob) {
  runWorker((workerData as { csvEncodeJob: EncodeJob }).csvEncodeJob).catch((error: unknown) => {
    parentPort!.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error), kind: error instanceof DuckHouseError ? error.kind : 'internal' } satisfies WorkerMessage);
  });
}

/** Main thread: runs `job` in a worker and yields its batches; the worker stays at most `maxAhead` batches ahead. */
export async function* encodeInWorker(job: EncodeJob): AsyncGenerator<EncodedBatch> {
  // A small young generation keeps the worker's RSS down (measured: 16 MB is as fast as V8's default here).
  const worker = startModuleWorker(siblingModule(import.meta.url, 'encode-worker'), { csvEncodeJob: job }, { maxYoungGenerationSizeMb: 16 });
  const queue: WorkerMessage[] = [];
  let wake: (() => void) | undefined;
  const push = (message: WorkerMessage): void => {
    queue.push(message);
    wake?.();
  };
  worker.on('message', push);
  worker.on('error', (error: Error) => push({ type: 'error', message: error.message, kind: 'internal' }));
  worker.on('exit', (code) => push(code === 0 ? { type: 'end' } : { type: 'error', message: `the CSV encoder thread exited with code ${code}`, kind: 'internal' }));
  try {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const message = queue.shift()!;
      if (message.type === 'end') return;
      if (message.type === 'error') throw new DuckHouseError(message.kind === 'data-invalid' ? 'data-invalid' : 'internal', `reading ${job.fileName}: ${message.message}`);
      yield message.batch;
      worker.postMessage('credit');
    }
  } finally {
    await worker.terminate();
  }
}
