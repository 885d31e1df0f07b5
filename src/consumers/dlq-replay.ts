// Replaying dead letters: the letters of the sink's DLQ table (consumers/dead-letters.ts) that match a filter are sent
// back to the topic they came from — original key and value bytes, original partition when it still exists, in offset
// order per topic-partition, by an idempotent producer with acks from all in-sync replicas — and, once Kafka
// acknowledged every one, removed from the DLQ table in ONE row-delta commit of position deletes. The sink then takes
// them as new records: a letter that still cannot be taken is dead-lettered again, as a new letter at its new offset.
// Caveats: a replayed change is the newest change of its key (it wins over changes made since it was first refused);
// original headers are not kept (letters do not hold them); a value that was null comes back as an empty value.
// If sending fails midway nothing is removed, so replaying again sends the letters already sent a second time (the
// sink then applies an upsert twice — harmless — but appends a row twice, or dead-letters a bad record twice).
// Must never: remove a letter from the table before Kafka acknowledged it, or send letters that do not hold a Kafka
// record (CSV and CDC letters hold source input).
import type { Kafka } from 'kafkajs';
import type { Logger } from '../shared/logger.js';
import { CommitConflictError, CommitStateUnknownError, DuckHouseError, describeError } from '../shared/errors.js';
import type { Catalog, Table, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier } from '../catalog/catalogs/catalog.js';
import { planFiles } from '../catalog/read/plan-files.js';
import { ROW_FILE_FIELD, ROW_POS_FIELD, scanRows } from '../catalog/read/scan-table.js';
import type { DataFile } from '../catalog/spec/manifest.js';
import { partitionKey } from '../catalog/spec/partition-spec.js';
import { commitAction } from '../catalog/transaction/action.js';
import { rowDelta } from '../catalog/transaction/row-delta.js';
import { writePositionDeletes } from '../catalog/writer/table-writer.js';
import type { DeadLetter, DeadLetterKind } from '../producers/dead-letter.js';
import { createProducer } from '../producers/kafka/client.js';

/** Letter kinds the sink writes: each holds the Kafka record it refused, so it can be sent again. */
export const REPLAYABLE_KINDS: readonly DeadLetterKind[] = ['decode', 'schema', 'constraint'];
/** Header on every replayed message: `<topic>:<partition>:<offset>` of the record it repeats. */
export const REPLAY_OF_HEADER = 'duckhouse.replay-of';
/** Snapshot summary key of a replay's removal commit: how many letters it removed. */
export const REPLAYED_LETTERS_PROPERTY = 'duckhouse.dlq.replayed-letters';

export interface DeadLetterFilter {
  /** `namespace.table` the letter was meant for. */
  readonly table?: string;
  readonly kind?: DeadLetterKind;
  readonly topic?: string;
  /** Only letters dead-lettered at or after this time. */
  readonly since?: Date;
}

/** A live row of the DLQ table: the letter, and where the row lives (for its position delete). */
export interface StoredLetter {
  readonly letter: DeadLetter;
  /** The letter's time in microseconds (the column's precision; `letter.time` is ISO text to the millisecond). */
  readonly timeMicros: bigint;
  readonly file: string;
  readonly pos: bigint;
}

export type SkipReason = 'not-from-sink' | 'no-topic' | 'topic-missing';

export const SKIP_REASONS: Readonly<Record<SkipReason, string>> = {
  'not-from-sink': 'not a Kafka record (CSV and CDC letters hold source input: fix the source and produce it again)',
  'no-topic': 'no topic recorded, so there is nowhere to send it',
  'topic-missing': 'its topic no longer exists in Kafka',
};

const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const count = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** A DLQ table row (scanRows' in-memory form, with positions) as a StoredLetter. */
export function storedLetterOf(row: Record<string, unknown>): StoredLetter {
  const timeMicros = typeof row.time === 'bigint' ? row.time : 0n;
  const letter: DeadLetter = {
    kind: String(row.kind) as DeadLetterKind,
    message: String(row.message ?? ''),
    table: text(row.table),
    file: text(row.file),
    file_sha256: text(row.file_sha256),
    line: count(row.line),
    column: text(row.column),
    topic: text(row.topic),
    partition: count(row.partition),
    offset: text(row.offset),
    lsn: text(row.lsn),
    key_base64: text(row.key_base64),
    raw_base64: String(row.raw_base64 ?? ''),
    time: new Date(Number(timeMicros / 1000n)).toISOString(),
  };
  return { letter, timeMicros, file: String(row[ROW_FILE_FIELD]), pos: BigInt(row[ROW_POS_FIELD] as bigint) };
}

export function matchesFilter(stored: StoredLetter, filter: DeadLetterFilter): boolean {
  const { letter } = stored;
  if (filter.table !== undefined && letter.table !== filter.table) return false;
  if (filter.kind !== undefined && letter.kind !== filter.kind) return false;
  if (filter.topic !== undefined && letter.topic !== filter.topic) return false;
  return filter.since === undefined || stored.timeMicros >= BigInt(filter.since.getTime()) * 1000n;
}

const compareBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/** Oldest first; ties by topic, partition, offset. */
export function compareLetters(a: StoredLetter, b: StoredLetter): number {
  const x = a.letter;
  const y = b.letter;
  return compareBig(a.timeMicros, b.timeMicros) || (x.topic ?? '').localeCompare(y.topic ?? '') || (x.partition ?? -1) - (y.partition ?? -1) || compareBig(BigInt(x.offset ?? -1), BigInt(y.offset ?? -1));
}

/** The live letters of a DLQ table (as of `table`'s current snapshot) that match `filter`, oldest first. */
export async function readDeadLetters(table: Table, filter: DeadLetterFilter = {}): Promise<StoredLetter[]> {
  const snapshotId = table.metadata.currentSnapshotId;
  if (snapshotId === undefined) return [];
  const letters: StoredLetter[] = [];
  for await (const chunk of scanRows(table, { snapshotId, withPositions: true })) {
    for (const row of chunk) {
      const stored = storedLetterOf(row);
      if (matchesFilter(stored, filter)) letters.push(stored);
    }
  }
  return letters.sort(compareLetters);
}

/** Letters for one topic-partition (partition undefined: the producer's partitioner picks), in the order sent. */
export interface ReplayBatch {
  readonly topic: string;
  readonly partition: number | undefined;
  readonly letters: StoredLetter[];
}

export interface ReplayPlan {
  readonly batches: ReplayBatch[];
  /** Every DLQ row removed once the batches are acknowledged: the letters sent and their duplicate rows. */
  readonly rows: StoredLetter[];
  readonly skipped: ReadonlyMap<SkipReason, number>;
  /** Rows repeating a letter already planned (same topic, partition, offset): removed, sent once. */
  readonly duplicates: number;
  /** Replayable letters left for a later replay by `limit`. */
  readonly deferred: number;
}

const identityOf = ({ letter: l, timeMicros }: StoredLetter): string =>
  l.offset === null ? JSON.stringify([l.topic, l.partition, l.key_base64, l.raw_base64, String(timeMicros)]) : JSON.stringify([l.topic, l.partition, l.offset]);

/**
 * Which letters to send where, in which order. PURE. `partitions` holds the partition count of every topic that
 * exists; `limit` caps the letters sent (oldest first). Input: matched letters, oldest first.
 */
export function planReplay(letters: readonly StoredLetter[], partitions: ReadonlyMap<string, number>, limit = Number.POSITIVE_INFINITY): ReplayPlan {
  const skipped = new Map<SkipReason, number>();
  const skip = (reason: SkipReason): void => void skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
  const chosen = new Map<string, StoredLetter>();
  const rows: StoredLetter[] = [];
  let duplicates = 0;
  let deferred = 0;
  for (const stored of letters) {
    const { letter } = stored;
    if (!REPLAYABLE_KINDS.includes(letter.kind)) skip('not-from-sink');
    else if (letter.topic === null) skip('no-topic');
    else if (!partitions.has(letter.topic)) skip('topic-missing');
    else {
      const identity = identityOf(stored);
      if (chosen.has(identity)) {
        duplicates++;
        rows.push(stored);
      } else if (chosen.size >= limit) {
        deferred++;
      } else {
        chosen.set(identity, stored);
        rows.push(stored);
      }
    }
  }
  const batches = new Map<string, ReplayBatch>();
  for (const stored of chosen.values()) {
    const topic = stored.letter.topic!;
    const original = stored.letter.partition;
    const partition = original !== null && original >= 0 && original < partitions.get(topic)! ? original : undefined;
    const key = `${topic}\u0000${partition ?? ''}`;
    let batch = batches.get(key);
    if (!batch) batches.set(key, (batch = { topic, partition, letters: [] }));
    batch.letters.push(stored);
  }
  const byOffset = (a: StoredLetter, b: StoredLetter): number => {
    const x = a.letter.offset;
    const y = b.letter.offset;
    if (x === null || y === null) return x === y ? compareBig(a.timeMicros, b.timeMicros) : x === null ? 1 : -1;
    return compareBig(BigInt(x), BigInt(y));
  };
  for (const batch of batches.values()) batch.letters.sort(byOffset);
  const ordered = [...batches.values()].sort((a, b) => a.topic.localeCompare(b.topic) || (a.partition ?? Number.MAX_SAFE_INTEGER) - (b.partition ?? Number.MAX_SAFE_INTEGER));
  return { batches: ordered, rows, skipped, duplicates, deferred };
}

export interface ReplayOptions extends DeadLetterFilter {
  readonly catalog: Catalog;
  readonly dlqTable: TableIdentifier;
  readonly kafka: Kafka;
  /** Replay at most this many letters (oldest first). */
  readonly limit?: number;
  /** Plan and report only: nothing is sent, nothing removed. */
  readonly dryRun?: boolean;
  /** Called once the plan is known, before anything is sent. */
  readonly onPlan?: (summary: ReplayResult) => void;
  readonly logger?: Logger;
}

export interface ReplayResult {
  readonly dlqTable: string;
  readonly dryRun: boolean;
  /** The DLQ table's snapshot the letters were read from. */
  readonly readSnapshotId: bigint | undefined;
  /** Letters matching the filters. */
  readonly matched: number;
  /** Letters to send (sent, unless a dry run), per topic. */
  readonly topics: ReadonlyMap<string, number>;
  readonly skipped: ReadonlyMap<SkipReason, number>;
  readonly duplicates: number;
  readonly deferred: number;
  readonly sent: number;
  /** Rows removed from the DLQ table, and the snapshot that removed them. */
  readonly removed: number;
  readonly snapshotId: bigint | undefined;
}

/** Messages per produce request, and bytes (a request past the broker's limit is refused whole). */
const SEND_MESSAGES = 500;
const SEND_BYTES = 512 * 1024;

function messageOf({ letter }: StoredLetter, partition: number | undefined): { key: Buffer | null; value: Buffer; partition?: number; headers: Record<string, string> } {
  return {
    key: letter.key_base64 === null ? null : Buffer.from(letter.key_base64, 'base64'),
    value: Buffer.from(letter.raw_base64, 'base64'),
    ...(partition === undefined ? {} : { partition }),
    headers: { [REPLAY_OF_HEADER]: `${letter.topic}:${letter.partition ?? ''}:${letter.offset ?? ''}` },
  };
}

/** Partition counts of the topics that exist, among `topics`. */
async function partitionCounts(kafka: Kafka, topics: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (topics.length === 0) return counts;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) for (const t of (await admin.fetchTopicMetadata({ topics: present })).topics) counts.set(t.name, t.partitions.length);
    return counts;
  } finally {
    await admin.disconnect();
  }
}

/** Sends the batches in order; returns how many were acknowledged, or throws saying how many were before the failure. */
async function sendBatches(kafka: Kafka, plan: ReplayPlan, dlq: string, logger: Logger | undefined): Promise<number> {
  const total = plan.batches.reduce((n, b) => n + b.letters.length, 0);
  const producer = createProducer(kafka);
  let sent = 0;
  try {
    await producer.connect();
    for (const batch of plan.batches) {
      for (let begin = 0; begin < batch.letters.length;) {
        const messages: ReturnType<typeof messageOf>[] = [];
        let bytes = 0;
        for (; begin < batch.letters.length && messages.length < SEND_MESSAGES; begin++) {
          const message = messageOf(batch.letters[begin]!, batch.partition);
          const size = message.value.length + (message.key?.length ?? 0);
          if (messages.length > 0 && bytes + size > SEND_BYTES) break;
          messages.push(message);
          bytes += size;
        }
        await producer.send({ topic: batch.topic, acks: -1, messages });
        sent += messages.length;
      }
      logger?.info({ topic: batch.topic, partition: batch.partition ?? 'by key', letters: batch.letters.length }, 'dead letters replayed');
    }
    return sent;
  } catch (error) {
    throw new DuckHouseError('io', `sending dead letters failed after ${sent} of ${total} were acknowledged: ${describeError(error)}. Nothing was removed from ${dlq}; replaying again sends those ${sent} a second time (the sink applies an upsert twice harmlessly, but appends a row or dead-letters a bad record twice)`, { cause: error, context: { sent, total } });
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/** Position deletes for `rows` of `table` (read at `snapshotId`), one file per spec and partition. */
async function writeDeletes(table: Table, snapshotId: bigint, rows: readonly StoredLetter[]): Promise<DataFile[]> {
  const dataFiles = new Map((await planFiles(table, { snapshotId })).map((t) => [t.file.filePath, t.file]));
  const groups = new Map<string, { file: DataFile; deletes: { filePath: string; pos: bigint }[] }>();
  for (const row of rows) {
    const file = dataFiles.get(row.file);
    if (!file) throw new DuckHouseError('internal', `dead letter at ${row.file} position ${row.pos}: that data file is not in snapshot ${snapshotId}`);
    const key = `${file.specId}:${partitionKey(file.partition)}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { file, deletes: [] }));
    group.deletes.push({ filePath: row.file, pos: row.pos });
  }
  const written: DataFile[] = [];
  try {
    for (const { file, deletes } of groups.values()) written.push(await writePositionDeletes(table, deletes, { specId: file.specId, partition: file.partition }));
  } catch (error) {
    await table.io.deleteMany(written.map((f) => f.filePath)).catch(() => undefined);
    throw error;
  }
  return written;
}

/**
 * Removes `rows` from the DLQ table in one row-delta commit. When a data file they were read from was rewritten
 * meanwhile (a compaction), the letters are found again by content in the latest snapshot (up to 3 times).
 */
export async function removeDeadLetters(catalog: Catalog, id: TableIdentifier, base: Table, rows: readonly StoredLetter[]): Promise<{ removed: number; snapshotId: bigint | undefined }> {
  let table = base;
  let targets = rows;
  for (let attempt = 1; ; attempt++) {
    const snapshotId = table.metadata.currentSnapshotId;
    if (targets.length === 0 || snapshotId === undefined) return { removed: 0, snapshotId: undefined };
    const deleteFiles = await writeDeletes(table, snapshotId, targets);
    const action = rowDelta({ deleteFiles, referencedDataFiles: [...new Set(targets.map((r) => r.file))], summary: { [REPLAYED_LETTERS_PROPERTY]: String(targets.length) } });
    try {
      const { table: committed } = await commitAction(catalog, id, action, { base: table });
      return { removed: targets.length, snapshotId: committed.metadata.currentSnapshotId };
    } catch (error) {
      if (!(error instanceof CommitStateUnknownError)) await table.io.deleteMany(deleteFiles.map((f) => f.filePath)).catch(() => undefined);
      const rewritten = error instanceof CommitConflictError && Array.isArray(error.context.gone);
      if (!rewritten || attempt >= 3) throw error;
      const wanted = new Set(rows.map((r) => JSON.stringify([r.letter, String(r.timeMicros)])));
      table = await catalog.loadTable(id);
      targets = (await readDeadLetters(table)).filter((r) => wanted.has(JSON.stringify([r.letter, String(r.timeMicros)])));
    }
  }
}

/** Reads, plans, sends (unless dry run) and removes what was sent. See the module comment for the guarantees. */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  const { catalog, dlqTable, kafka, logger } = options;
  const dlq = formatIdentifier(dlqTable);
  const exists = await catalog.tableExists(dlqTable);
  const table = exists ? await catalog.loadTable(dlqTable) : undefined;
  const matched = table ? await readDeadLetters(table, options) : [];
  const topics = [...new Set(matched.flatMap((l) => (l.letter.topic !== null && REPLAYABLE_KINDS.includes(l.letter.kind) ? [l.letter.topic] : [])))];
  const plan = planReplay(matched, await partitionCounts(kafka, topics), options.limit);
  const perTopic = new Map<string, number>();
  for (const batch of plan.batches) perTopic.set(batch.topic, (perTopic.get(batch.topic) ?? 0) + batch.letters.length);
  const summary: ReplayResult = {
    dlqTable: dlq, dryRun: options.dryRun === true, readSnapshotId: table?.metadata.currentSnapshotId, matched: matched.length,
    topics: perTopic, skipped: plan.skipped, duplicates: plan.duplicates, deferred: plan.deferred, sent: 0, removed: 0, snapshotId: undefined,
  };
  options.onPlan?.(summary);
  if (options.dryRun || !table || plan.rows.length === 0) return summary;
  const sent = await sendBatches(kafka, plan, dlq, logger);
  try {
    const { removed, snapshotId } = await removeDeadLetters(catalog, dlqTable, table, plan.rows);
    logger?.info({ dlq, sent, removed, snapshotId: snapshotId?.toString() }, 'replayed dead letters removed from the DLQ table');
    return { ...summary, sent, removed, snapshotId };
  } catch (error) {
    const unknown = error instanceof CommitStateUnknownError;
    const what = unknown ? 'the catalog could not tell whether they were removed: check the table\'s latest snapshot before replaying again' : 'they are still in the table, so replaying again would send them a second time';
    throw new DuckHouseError(unknown ? 'commit-state-unknown' : 'io', `all ${sent} letters were sent to Kafka, but removing them from ${dlq} failed (${describeError(error)}); ${what}`, { cause: error, context: { sent } });
  }
}
