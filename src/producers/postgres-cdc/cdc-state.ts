// The CDC producer's own state, in a compacted Kafka topic `<prefix>.cdc-state` keyed by slot name (JSON value): whether
// the initial snapshot of that slot is complete and for which tables. `snapshotting` is written (and acknowledged)
// before a slot is created and `complete` after every snapshot row is acknowledged, so a start that finds the slot but
// not `complete` knows the snapshot may be partial and starts over.
// Must never: report `complete` for a slot whose snapshot rows were not all acknowledged.
import type { Kafka } from '../kafka/client.js';
import { readToEnd } from '../kafka/read-to-end.js';
import type { OutgoingMessage } from '../kafka/sender.js';

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
  let state: CdcState | undefined;
  await readToEnd(kafka, topic, ({ message }) => {
    if (message.key?.toString('utf8') === slot) state = parseState(message.value, slot);
  }, { timeoutMs });
  return state;
}
