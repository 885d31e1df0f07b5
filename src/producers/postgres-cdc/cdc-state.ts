// The CDC producer's own state, in a compacted Kafka topic `<prefix>.cdc-state` keyed by slot name (JSON value): whether
// the initial snapshot of that slot is complete and for which tables. `snapshotting` is written (and acknowledged)
// before a slot is created and `complete` after every snapshot row is acknowledged, so a start that finds the slot but
// not `complete` knows the snapshot may be partial and starts over.
// Must never: report `complete` for a slot whose snapshot rows were not all acknowledged.
import { randomBytes } from 'node:crypto';
import type { Kafka } from '../kafka/client.js';
import type { OutgoingMessage } from '../kafka/sender.js';
import { DuckHouseError } from '../../shared/errors.js';

export const stateTopic = (prefix: string): string => `${prefix}.cdc-state`;

export interface CdcState {
  version: 1;
  slot: string;
  publication: string;
  status: 'snapshotting' | 'complete';
  /** `schema.table` names the snapshot covered (and the stream publishes). */
  tables: string[];
  /** The slot's consistent point (`X/Y`) when the snapshot was taken. */
  consistentPoint: string | null;
  updatedAt: string;
}

export function stateMessage(topic: string, state: CdcState): OutgoingMessage {
  return { topic, key: Buffer.from(state.slot), value: Buffer.from(JSON.stringify(state)), headers: { 'duckhouse.cdc-state': state.status } };
}

function parseState(value: Buffer | null, slot: string): CdcState | undefined {
  if (value === null) return undefined;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Partial<CdcState>;
    if (parsed.slot === slot && (parsed.status === 'snapshotting' || parsed.status === 'complete') && Array.isArray(parsed.tables)) return parsed as CdcState;
  } catch {
    // an unreadable record counts as no state: the snapshot is redone, which is safe
  }
  return undefined;
}

/** The latest state recorded for `slot` (undefined when none): reads the topic from the start to its end. */
export async function readCdcState(kafka: Kafka, topic: string, slot: string, timeoutMs = 30_000): Promise<CdcState | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return undefined;
  const groupId = `duckhouse-cdc-state-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  let state: CdcState | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DuckHouseError('io', `reading CDC state topic ${topic}: did not reach its end within ${timeoutMs} ms`, { retriable: true })), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            if (message.key?.toString('utf8') === slot) state = parseState(message.value, slot);
            const end = ends.get(partition);
            if (end !== undefined && BigInt(message.offset) + 1n >= end) ends.delete(partition);
            if (ends.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const cleanup = kafka.admin();
    await cleanup
      .connect()
      .then(() => cleanup.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => cleanup.disconnect());
  }
  return state;
}
