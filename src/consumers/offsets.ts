// Kafka offsets and source positions kept in Iceberg snapshot summaries (ARCHITECTURE.md decision 2): every sink
// commit carries the table's whole map of "next offset to read" per topic-partition (merged with what its parent
// had), so the newest snapshot on the branch that has the property says where every partition stands, even after older
// snapshots are expired. The source positions (WAL order of CDC events) ride along the same way.
// PURE: no IO. Must never: read offsets from anything but the branch's ancestry, or merge an older value over a newer.
import { MetadataInvalidError } from '../shared/errors.js';
import { comparePositions } from '../schemas/envelope.js';
import type { Snapshot } from '../catalog/spec/snapshot.js';
import { MAIN_BRANCH } from '../catalog/spec/snapshot.js';
import type { TableMetadata } from '../catalog/spec/table-metadata.js';
import { ancestorsOf, snapshotForRef } from '../catalog/spec/table-metadata.js';

/** `{"<topic>": {"<partition>": "<next offset>"}}`: where each topic-partition resumes. */
export const KAFKA_OFFSETS_PROPERTY = 'duckhouse.kafka.offsets';
/** `{"<topic>": {"<partition>": "<commit lsn>,<lsn>,<index>"}}`: the highest source position committed. */
export const SOURCE_POSITIONS_PROPERTY = 'duckhouse.source.positions';
/** The consumer group that made the commit (for people; never used to find offsets). */
export const KAFKA_GROUP_PROPERTY = 'duckhouse.kafka.group';
/** A random id per flush, to recognise a commit whose outcome was unknown. */
export const COMMIT_ID_PROPERTY = 'duckhouse.commit-id';
/**
 * The oldest and newest Kafka record timestamps (ms since the epoch, decimal) of the batch a sink commit wrote: its
 * freshness is the snapshot's timestamp minus the oldest. They describe one batch, not progress: maintenance snapshots
 * (compaction's carriedProgress) never carry them, and nothing reads offsets or positions from them.
 */
export const KAFKA_MIN_TIMESTAMP_PROPERTY = 'duckhouse.kafka.min-timestamp-ms';
export const KAFKA_MAX_TIMESTAMP_PROPERTY = 'duckhouse.kafka.max-timestamp-ms';

/** `topic:partition` (Kafka topic names cannot contain ':'). */
export type PartitionKey = string;
export const partitionKeyOf = (topic: string, partition: number): PartitionKey => `${topic}:${partition}`;

export function parsePartitionKey(key: PartitionKey): { topic: string; partition: number } {
  const at = key.lastIndexOf(':');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

export type Position = readonly [bigint, bigint, bigint];

export interface TableProgress {
  /** Next offset to read, per topic-partition. */
  readonly offsets: ReadonlyMap<PartitionKey, bigint>;
  /** Highest source position committed, per topic-partition (only partitions whose events carry positions). */
  readonly positions: ReadonlyMap<PartitionKey, Position>;
  /** The snapshot the offsets were read from. */
  readonly snapshotId: bigint | undefined;
}

export const EMPTY_PROGRESS: TableProgress = { offsets: new Map(), positions: new Map(), snapshotId: undefined };

/** `{"<topic>": {"<partition>": text(value)}}`, sorted: the summary properties' shape, and the commit events'. */
export function byTopic<V>(map: ReadonlyMap<PartitionKey, V>, text: (v: V) => string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const key of [...map.keys()].sort()) {
    const { topic, partition } = parsePartitionKey(key);
    (out[topic] ??= {})[String(partition)] = text(map.get(key)!);
  }
  return out;
}

const encodeNested = <V>(map: ReadonlyMap<PartitionKey, V>, text: (v: V) => string): string => JSON.stringify(byTopic(map, text));

function decodeNested<V>(text: string, value: (s: string) => V, where: string): Map<PartitionKey, V> {
  const result = new Map<PartitionKey, V>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MetadataInvalidError(`${where}: expected a JSON object of topic → partition → value, found ${text.slice(0, 80)}`, { cause: error });
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(parsed)) throw new MetadataInvalidError(`${where}: expected a JSON object, found ${text.slice(0, 80)}`);
  for (const [topic, partitions] of Object.entries(parsed)) {
    if (!isObject(partitions)) throw new MetadataInvalidError(`${where}: topic ${topic} should map partitions to values, found ${JSON.stringify(partitions)}`);
    for (const [partition, raw] of Object.entries(partitions)) {
      if (typeof raw !== 'string' || !/^\d+$/.test(partition)) throw new MetadataInvalidError(`${where}: ${topic} partition ${partition} has ${JSON.stringify(raw)}`);
      try {
        result.set(partitionKeyOf(topic, Number(partition)), value(raw));
      } catch (error) {
        throw new MetadataInvalidError(`${where}: ${topic} partition ${partition} has an unreadable value ${JSON.stringify(raw)}`, { cause: error });
      }
    }
  }
  return result;
}

/** A non-negative decimal integer, exactly (BigInt() alone takes "", " 7 ", "0x10"). */
function parseCount(text: string): bigint {
  if (!/^\d+$/.test(text)) throw new SyntaxError(`expected a non-negative whole number, found ${JSON.stringify(text)}`);
  return BigInt(text);
}

export const encodeOffsets = (offsets: ReadonlyMap<PartitionKey, bigint>): string => encodeNested(offsets, String);
export const encodePositions = (positions: ReadonlyMap<PartitionKey, Position>): string => encodeNested(positions, (p) => p.join(','));

function parsePosition(text: string): Position {
  const parts = text.split(',').map(parseCount);
  if (parts.length !== 3) throw new Error(`expected three numbers, found ${parts.length}`);
  return [parts[0]!, parts[1]!, parts[2]!];
}

/**
 * The progress recorded on a branch: the newest ancestor (from the branch head back) that carries the offsets
 * property. Snapshots from other writers (a compaction) are skipped over.
 */
export function tableProgress(metadata: TableMetadata, branch = MAIN_BRANCH): TableProgress {
  const head = snapshotForRef(metadata, branch);
  if (!head) return EMPTY_PROGRESS;
  const found: Snapshot | undefined = ancestorsOf(metadata, head.snapshotId).find((s) => s.summary[KAFKA_OFFSETS_PROPERTY] !== undefined);
  if (!found) return EMPTY_PROGRESS;
  const where = `snapshot ${found.snapshotId} of ${metadata.location}`;
  const offsets = decodeNested(found.summary[KAFKA_OFFSETS_PROPERTY]!, parseCount, `${where}, ${KAFKA_OFFSETS_PROPERTY}`);
  const positionsText = found.summary[SOURCE_POSITIONS_PROPERTY];
  const positions = positionsText ? decodeNested(positionsText, parsePosition, `${where}, ${SOURCE_POSITIONS_PROPERTY}`) : new Map<PartitionKey, Position>();
  return { offsets, positions, snapshotId: found.snapshotId };
}

/** True when a commit with this id is on the branch (after an unknown commit outcome). */
export function hasCommit(metadata: TableMetadata, commitId: string, branch = MAIN_BRANCH): boolean {
  const head = snapshotForRef(metadata, branch);
  return head !== undefined && ancestorsOf(metadata, head.snapshotId).some((s) => s.summary[COMMIT_ID_PROPERTY] === commitId);
}

/** `base` with `updates` laid over it; a position only moves forward. */
export function mergeProgress(base: TableProgress, offsets: ReadonlyMap<PartitionKey, bigint>, positions: ReadonlyMap<PartitionKey, Position>): { offsets: Map<PartitionKey, bigint>; positions: Map<PartitionKey, Position> } {
  const mergedOffsets = new Map(base.offsets);
  for (const [key, offset] of offsets) mergedOffsets.set(key, offset);
  const mergedPositions = new Map(base.positions);
  for (const [key, position] of positions) {
    const old = mergedPositions.get(key);
    if (!old || comparePositions(position, old) > 0) mergedPositions.set(key, position);
  }
  return { offsets: mergedOffsets, positions: mergedPositions };
}
