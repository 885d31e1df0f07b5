// rewrite-manifests (operation "replace", no file added or removed): merges a snapshot's manifests into as few as
// their target size allows (merge-manifests.ts, every bin of two or more, the newest too). For tables whose manifests
// piled up under commits that do not merge (fast appends, other engines' appends); the compactor runs it.
// Must never: add, remove or change a file, or its sequence numbers.
import type { SummaryProperties } from './snapshot-producer.js';
import { SnapshotProducer } from './snapshot-producer.js';

export interface RewriteManifestsOptions {
  summary?: SummaryProperties;
}

export function rewriteManifests(options: RewriteManifestsOptions = {}): SnapshotProducer {
  return new SnapshotProducer({ operation: 'replace', added: [], mergeManifests: 'all', ...(options.summary ? { summary: options.summary } : {}) });
}
