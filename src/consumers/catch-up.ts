// Waiting for a table to catch up with a topic: the table's recorded offsets (its snapshot summary) reach the end
// offsets the topic had when the wait began. Used by the demo, benchmarks and tests; an operator's "is it done yet".
// Must never: count the group's offsets as progress (only the table's say what is committed).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { DuckHouseError } from '../shared/errors.js';
import type { Catalog, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier } from '../catalog/catalogs/catalog.js';
import type { PartitionKey } from './offsets.js';
import { partitionKeyOf, tableProgress } from './offsets.js';

/** The next offset of every partition of `topic` (where a caught-up table stands). */
export async function topicEndOffsets(kafka: Kafka, topic: string): Promise<Map<PartitionKey, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [partitionKeyOf(topic, o.partition), BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the table records, for every partition of `topic`, the offset the topic ended at when called. */
export async function waitForTable(kafka: Kafka, catalog: Catalog, id: TableIdentifier, topic: string, timeoutMs = 60_000): Promise<void> {
  const end = await topicEndOffsets(kafka, topic);
  const deadline = Date.now() + timeoutMs;
  let last = 'the table does not exist yet';
  for (;;) {
    if (await catalog.tableExists(id)) {
      const offsets = tableProgress((await catalog.loadTable(id)).metadata).offsets;
      const behind = [...end].filter(([tp, high]) => high > 0n && (offsets.get(tp) ?? 0n) < high);
      if (behind.length === 0) return;
      last = behind.map(([tp, high]) => `${tp} at ${offsets.get(tp) ?? 'none'} of ${high}`).join(', ');
    }
    if (Date.now() > deadline) throw new DuckHouseError('internal', `table ${formatIdentifier(id)} did not catch up with ${topic} within ${timeoutMs} ms: ${last}`, { retriable: true });
    await sleep(200);
  }
}
