// The CSV producer's ledger of files: a compacted Kafka topic (`<prefix>.csv-files`) keyed by `<table>/<sha256>`, whose
// latest value says how far a file got: `started` with the last line Kafka acknowledged (a checkpoint to resume from),
// or `completed` with its counts. Re-running a completed file is a no-op; re-running an interrupted one resumes.
// Must never: record a line as acknowledged before Kafka acknowledged it (the caller passes only acked lines).
import type { Kafka, Producer } from 'kafkajs';
import { ensureTopic } from '../kafka/client.js';
import { readToEnd } from '../kafka/read-to-end.js';

export interface FileLedgerEntry {
  status: 'started' | 'completed';
  table: string;
  file: string;
  sha256: string;
  bytes: number;
  /** Last line whose record (or dead letter) Kafka acknowledged; resuming skips lines up to it. */
  ackedLine: number;
  sent: number;
  rejected: number;
  startedAt: string;
  updatedAt: string;
}

export const ledgerTopic = (prefix: string): string => `${prefix}.csv-files`;
export const ledgerKey = (table: string, sha256: string): string => `${table}/${sha256}`;

export class FileLedger {
  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    readonly topic: string,
  ) {}

  async ensure(): Promise<void> {
    await ensureTopic(this.kafka, this.topic, { partitions: 1, compacted: true });
  }

  /** The latest entry for `key`, reading the (compacted) topic to its end; undefined when the file was never seen. */
  async lookup(key: string): Promise<FileLedgerEntry | undefined> {
    let found: FileLedgerEntry | undefined;
    await readToEnd(this.kafka, this.topic, ({ message }) => {
      if (message.key?.toString() === key) found = message.value ? (JSON.parse(message.value.toString()) as FileLedgerEntry) : undefined;
    });
    return found;
  }

  async record(key: string, entry: FileLedgerEntry): Promise<void> {
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key, value: JSON.stringify(entry) }] });
  }
}
