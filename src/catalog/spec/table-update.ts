// Metadata changes as data (the REST catalog spec's TableUpdate and TableRequirement): creating table metadata,
// checking requirements against the current table, and applying updates to get the next metadata.
// PURE: no IO; the clock arrives as `nowMs`. Only a catalog writes the resulting metadata and swaps the pointer.
import { CommitConflictError, MetadataInvalidError } from '../../shared/errors.js';
import type { PartitionSpec, SortOrder } from './partition-spec.js';
import { partitionSourceTypes, UNPARTITIONED, UNSORTED } from './partition-spec.js';
import type { Schema } from './schema.js';
import { highestFieldId, validateSchema } from './schema.js';
import type { Snapshot, SnapshotRef } from './snapshot.js';
import { MAIN_BRANCH } from './snapshot.js';
import type { SnapshotLogEntry, TableMetadata } from './table-metadata.js';
import { currentSchema, defaultSpec, propertyInt, snapshotById, validateTableMetadata } from './table-metadata.js';

export type TableUpdate =
  | { action: 'assign-uuid'; uuid: string }
  | { action: 'upgrade-format-version'; formatVersion: 2 }
  | { action: 'add-schema'; schema: Schema }
  | { action: 'set-current-schema'; schemaId: number }
  | { action: 'add-spec'; spec: PartitionSpec }
  | { action: 'set-default-spec'; specId: number }
  | { action: 'add-sort-order'; sortOrder: SortOrder }
  | { action: 'set-default-sort-order'; sortOrderId: number }
  | { action: 'add-snapshot'; snapshot: Snapshot }
  | { action: 'set-snapshot-ref'; refName: string; ref: SnapshotRef }
  | { action: 'remove-snapshots'; snapshotIds: readonly bigint[] }
  | { action: 'remove-snapshot-ref'; refName: string }
  | { action: 'set-location'; location: string }
  | { action: 'set-properties'; updates: Readonly<Record<string, string>> }
  | { action: 'remove-properties'; removals: readonly string[] }
  /** A statistics file (kept as its JSON object, `snapshot-id` inside) replaces any other of the same snapshot. */
  | { action: 'set-statistics' | 'set-partition-statistics'; statistics: Readonly<Record<string, unknown>> }
  | { action: 'remove-statistics' | 'remove-partition-statistics'; snapshotId: bigint };

export type TableRequirement =
  | { type: 'assert-create' }
  | { type: 'assert-table-uuid'; uuid: string }
  | { type: 'assert-ref-snapshot-id'; ref: string; snapshotId: bigint | undefined }
  | { type: 'assert-last-assigned-field-id'; lastAssignedFieldId: number }
  | { type: 'assert-current-schema-id'; currentSchemaId: number }
  | { type: 'assert-last-assigned-partition-id'; lastAssignedPartitionId: number }
  | { type: 'assert-default-spec-id'; defaultSpecId: number }
  | { type: 'assert-default-sort-order-id'; defaultSortOrderId: number };

/** `set-current-schema`, `set-default-spec` and `set-default-sort-order` use -1 for "the one added in this commit". */
export const LAST_ADDED = -1;

/** How many previous metadata files the metadata log keeps (Iceberg's default). */
export const DEFAULT_PREVIOUS_VERSIONS_MAX = 100;
export const PREVIOUS_VERSIONS_MAX = 'write.metadata.previous-versions-max';

export interface NewTableOptions {
  location: string;
  tableUuid: string;
  schema: Schema;
  lastColumnId?: number;
  spec?: PartitionSpec;
  sortOrder?: SortOrder;
  properties?: Record<string, string>;
  nowMs: number;
}

export function newTableMetadata(options: NewTableOptions): TableMetadata {
  const spec = options.spec ?? UNPARTITIONED;
  validateSchema(options.schema);
  const metadata: TableMetadata = {
    formatVersion: 2,
    tableUuid: options.tableUuid,
    location: options.location.replace(/\/+$/, ''),
    lastSequenceNumber: 0n,
    lastUpdatedMs: options.nowMs,
    lastColumnId: options.lastColumnId ?? highestFieldId(options.schema),
    schemas: [options.schema],
    currentSchemaId: options.schema.schemaId,
    partitionSpecs: [spec],
    defaultSpecId: spec.specId,
    lastPartitionId: Math.max(999, ...spec.fields.map((f) => f.fieldId)),
    properties: { ...options.properties },
    currentSnapshotId: undefined,
    snapshots: [],
    snapshotLog: [],
    metadataLog: [],
    sortOrders: [options.sortOrder ?? UNSORTED],
    defaultSortOrderId: (options.sortOrder ?? UNSORTED).orderId,
    refs: new Map(),
    statistics: [],
    partitionStatistics: [],
  };
  partitionSourceTypes(spec, options.schema);
  validateTableMetadata(metadata);
  return metadata;
}

const describeId = (id: bigint | undefined): string => (id === undefined ? 'no snapshot' : `snapshot ${id}`);

/** Throws CommitConflictError naming what was expected and what was found when a requirement fails. */
export function checkRequirements(metadata: TableMetadata | undefined, requirements: readonly TableRequirement[], table = metadata?.location ?? 'table'): void {
  for (const req of requirements) {
    if (req.type === 'assert-create') {
      if (metadata) throw new CommitConflictError(`${table}: expected the table not to exist, found it exists (uuid ${metadata.tableUuid})`, { retriable: false });
      continue;
    }
    if (!metadata) throw new CommitConflictError(`${table}: expected the table to exist for ${req.type}, found none`, { retriable: false });
    const fail = (expected: string, found: string): never => {
      throw new CommitConflictError(`${table}: ${req.type} failed: expected ${expected}, found ${found}`, { context: { requirement: req.type, expected, found } });
    };
    switch (req.type) {
      case 'assert-table-uuid':
        if (metadata.tableUuid !== req.uuid) fail(`table uuid ${req.uuid}`, `uuid ${metadata.tableUuid} (the table was dropped and re-created)`);
        break;
      case 'assert-ref-snapshot-id': {
        const ref = metadata.refs.get(req.ref);
        const found = ref?.snapshotId;
        if (found !== req.snapshotId) fail(`ref "${req.ref}" at ${describeId(req.snapshotId)}`, `${describeId(found)} (another writer committed first)`);
        break;
      }
      case 'assert-last-assigned-field-id':
        if (metadata.lastColumnId !== req.lastAssignedFieldId) fail(`last assigned field id ${req.lastAssignedFieldId}`, String(metadata.lastColumnId));
        break;
      case 'assert-current-schema-id':
        if (metadata.currentSchemaId !== req.currentSchemaId) fail(`current schema ${req.currentSchemaId}`, `schema ${metadata.currentSchemaId}`);
        break;
      case 'assert-last-assigned-partition-id':
        if (metadata.lastPartitionId !== req.lastAssignedPartitionId) fail(`last assigned partition id ${req.lastAssignedPartitionId}`, String(metadata.lastPartitionId));
        break;
      case 'assert-default-spec-id':
        if (metadata.defaultSpecId !== req.defaultSpecId) fail(`default spec ${req.defaultSpecId}`, `spec ${metadata.defaultSpecId}`);
        break;
      case 'assert-default-sort-order-id':
        if (metadata.defaultSortOrderId !== req.defaultSortOrderId) fail(`default sort order ${req.defaultSortOrderId}`, `order ${metadata.defaultSortOrderId}`);
        break;
    }
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface ApplyOptions {
  nowMs: number;
  /** The metadata file the base was read from; it joins the metadata log. */
  previousMetadataFile?: string;
}

/** Applies updates in order and returns new, validated metadata. The base is never modified. */
export function applyUpdates(base: TableMetadata, updates: readonly TableUpdate[], options: ApplyOptions): TableMetadata {
  const refs = new Map(base.refs);
  const m: Mutable<TableMetadata> = { ...base, refs };
  let lastAddedSchema: number | undefined;
  let lastAddedSpec: number | undefined;
  let lastAddedOrder: number | undefined;
  const snapshotLog: SnapshotLogEntry[] = [...base.snapshotLog];
  for (const update of updates) {
    switch (update.action) {
      case 'assign-uuid':
        m.tableUuid = update.uuid;
        break;
      case 'upgrade-format-version':
        m.formatVersion = 2;
        break;
      case 'add-schema': {
        const existing = m.schemas.find((s) => s.schemaId === update.schema.schemaId);
        if (existing) throw new MetadataInvalidError(`add-schema: schema id ${update.schema.schemaId} already exists`);
        validateSchema(update.schema);
        m.schemas = [...m.schemas, update.schema];
        m.lastColumnId = Math.max(m.lastColumnId, highestFieldId(update.schema));
        lastAddedSchema = update.schema.schemaId;
        break;
      }
      case 'set-current-schema':
        m.currentSchemaId = resolveLast(update.schemaId, lastAddedSchema, 'schema');
        break;
      case 'add-spec':
        if (m.partitionSpecs.some((s) => s.specId === update.spec.specId)) throw new MetadataInvalidError(`add-spec: spec id ${update.spec.specId} already exists`);
        m.partitionSpecs = [...m.partitionSpecs, update.spec];
        m.lastPartitionId = Math.max(m.lastPartitionId, ...update.spec.fields.map((f) => f.fieldId));
        lastAddedSpec = update.spec.specId;
        break;
      case 'set-default-spec':
        m.defaultSpecId = resolveLast(update.specId, lastAddedSpec, 'spec');
        break;
      case 'add-sort-order':
        if (m.sortOrders.some((o) => o.orderId === update.sortOrder.orderId)) throw new MetadataInvalidError(`add-sort-order: sort order id ${update.sortOrder.orderId} already exists`);
        m.sortOrders = [...m.sortOrders, update.sortOrder];
        lastAddedOrder = update.sortOrder.orderId;
        break;
      case 'set-default-sort-order':
        m.defaultSortOrderId = resolveLast(update.sortOrderId, lastAddedOrder, 'sort order');
        break;
      case 'add-snapshot': {
        const s = update.snapshot;
        if (snapshotById(m, s.snapshotId)) throw new MetadataInvalidError(`add-snapshot: snapshot ${s.snapshotId} already exists`);
        if (m.formatVersion === 2 && s.sequenceNumber <= m.lastSequenceNumber && s.parentSnapshotId !== undefined) {
          throw new CommitConflictError(`add-snapshot: expected a sequence number above ${m.lastSequenceNumber}, found ${s.sequenceNumber}`);
        }
        m.snapshots = [...m.snapshots, s];
        m.lastSequenceNumber = s.sequenceNumber > m.lastSequenceNumber ? s.sequenceNumber : m.lastSequenceNumber;
        m.lastUpdatedMs = s.timestampMs;
        break;
      }
      case 'set-snapshot-ref': {
        const snapshot = snapshotById(m, update.ref.snapshotId);
        if (!snapshot) throw new MetadataInvalidError(`set-snapshot-ref ${update.refName}: snapshot ${update.ref.snapshotId} does not exist`);
        if (sameRef(refs.get(update.refName), update.ref)) break; // a no-op, as in Java: no new snapshot-log entry
        refs.set(update.refName, update.ref);
        if (update.refName === MAIN_BRANCH) {
          m.currentSnapshotId = update.ref.snapshotId;
          const timestampMs = updates.some((u) => u.action === 'add-snapshot' && u.snapshot.snapshotId === snapshot.snapshotId) ? snapshot.timestampMs : options.nowMs;
          snapshotLog.push({ timestampMs, snapshotId: update.ref.snapshotId });
          m.lastUpdatedMs = Math.max(m.lastUpdatedMs, timestampMs);
        }
        break;
      }
      case 'remove-snapshots': {
        // Catalogs apply updates to the latest metadata, not to the one the expiry was planned on: a branch or tag
        // set on one of these snapshots meanwhile (a new tag, a rollback of main) must not vanish with it, and its
        // files with it. Java's and PyIceberg's expiries never remove a referenced snapshot; refs to drop are removed
        // first with remove-snapshot-ref. So a ref here means a race: conflict, and the expiry is planned again.
        const removed = new Set(update.snapshotIds);
        for (const [name, ref] of refs) {
          if (removed.has(ref.snapshotId)) {
            throw new CommitConflictError(
              `remove-snapshots: expected no branch or tag on the snapshots to remove, found ${ref.type} "${name}" on snapshot ${ref.snapshotId} (set after the expiry was planned)`,
              { context: { ref: name, snapshotId: ref.snapshotId.toString() } },
            );
          }
        }
        m.snapshots = m.snapshots.filter((s) => !removed.has(s.snapshotId));
        // Statistics files describe one snapshot each and go with it (as in Java).
        m.statistics = m.statistics.filter((e) => !removed.has(statisticsSnapshotId(e)));
        m.partitionStatistics = m.partitionStatistics.filter((e) => !removed.has(statisticsSnapshotId(e)));
        break;
      }
      case 'remove-snapshot-ref':
        refs.delete(update.refName);
        if (update.refName === MAIN_BRANCH) m.currentSnapshotId = undefined;
        break;
      case 'set-location':
        m.location = update.location.replace(/\/+$/, '');
        break;
      case 'set-properties':
        m.properties = { ...m.properties, ...update.updates };
        break;
      case 'remove-properties': {
        const properties = { ...m.properties };
        for (const key of update.removals) delete properties[key];
        m.properties = properties;
        break;
      }
      case 'set-statistics':
      case 'set-partition-statistics': {
        const snapshotId = statisticsSnapshotId(update.statistics);
        if (!snapshotById(m, snapshotId)) throw new MetadataInvalidError(`${update.action}: snapshot ${snapshotId} does not exist`);
        const key = update.action === 'set-statistics' ? 'statistics' : 'partitionStatistics';
        m[key] = [...m[key].filter((e) => statisticsSnapshotId(e) !== snapshotId), update.statistics];
        break;
      }
      case 'remove-statistics':
      case 'remove-partition-statistics': {
        const key = update.action === 'remove-statistics' ? 'statistics' : 'partitionStatistics';
        m[key] = m[key].filter((e) => statisticsSnapshotId(e) !== update.snapshotId);
        break;
      }
    }
  }
  m.snapshotLog = trimSnapshotLog(snapshotLog, m, intermediateSnapshotIds(updates, m.currentSnapshotId));
  if (updates.length > 0) m.lastUpdatedMs = Math.max(m.lastUpdatedMs, options.nowMs);
  if (options.previousMetadataFile) {
    const max = Math.max(1, Math.trunc(propertyInt(m, PREVIOUS_VERSIONS_MAX, DEFAULT_PREVIOUS_VERSIONS_MAX)));
    m.metadataLog = [...base.metadataLog, { timestampMs: base.lastUpdatedMs, metadataFile: options.previousMetadataFile }].slice(-max);
  }
  validateTableMetadata(m);
  partitionSourceTypes(defaultSpec(m), currentSchema(m));
  return m;
}

/** The `snapshot-id` of a statistics or partition-statistics entry (kept as parsed JSON); -1n if it has none. */
export function statisticsSnapshotId(entry: unknown): bigint {
  const raw = (entry as Record<string, unknown> | null)?.['snapshot-id'];
  return typeof raw === 'bigint' ? raw : typeof raw === 'number' && Number.isInteger(raw) ? BigInt(raw) : -1n;
}

function sameRef(a: SnapshotRef | undefined, b: SnapshotRef): boolean {
  return a !== undefined && a.snapshotId === b.snapshotId && a.type === b.type && a.minSnapshotsToKeep === b.minSnapshotsToKeep
    && a.maxSnapshotAgeMs === b.maxSnapshotAgeMs && a.maxRefAgeMs === b.maxRefAgeMs;
}

/**
 * Snapshots added in this commit that main pointed at only on the way to its final snapshot (several operations in
 * one commit): their snapshot-log entries are dropped, as Java does, since no reader ever saw them as current.
 */
function intermediateSnapshotIds(updates: readonly TableUpdate[], current: bigint | undefined): Set<bigint> {
  const added = new Set<bigint>();
  const intermediate = new Set<bigint>();
  for (const update of updates) {
    if (update.action === 'add-snapshot') added.add(update.snapshot.snapshotId);
    if (update.action === 'set-snapshot-ref' && update.refName === MAIN_BRANCH && added.has(update.ref.snapshotId) && update.ref.snapshotId !== current) {
      intermediate.add(update.ref.snapshotId);
    }
  }
  return intermediate;
}

/**
 * The snapshot log without intermediate entries; an entry whose snapshot is gone (expired) drops it and all history
 * before it, as Java does, so time travel never lands on a snapshot that was not current then.
 */
function trimSnapshotLog(log: readonly SnapshotLogEntry[], metadata: TableMetadata, intermediate: ReadonlySet<bigint>): SnapshotLogEntry[] {
  let kept: SnapshotLogEntry[] = [];
  for (const entry of log) {
    if (!snapshotById(metadata, entry.snapshotId)) kept = [];
    else if (!intermediate.has(entry.snapshotId)) kept.push(entry);
  }
  return kept;
}

function resolveLast(id: number, lastAdded: number | undefined, what: string): number {
  if (id !== LAST_ADDED) return id;
  if (lastAdded === undefined) throw new MetadataInvalidError(`set ${what} to the last added one (-1), but this commit added no ${what}`);
  return lastAdded;
}

/**
 * The metadata of a table created by a commit (`assert-create`, a staged create): the first `add-schema`, `add-spec`
 * and `add-sort-order` with their `set-current-…`/`set-default-…`, `assign-uuid`, `set-location` and
 * `set-properties` make the new table; every other update (a first snapshot, refs, more properties) is then applied
 * in order. `defaults` fills what the updates leave out (location, uuid).
 */
export function newTableMetadataFromUpdates(updates: readonly TableUpdate[], defaults: { location: string; tableUuid: string; nowMs: number }): TableMetadata {
  const schemaUpdate = updates.find((u) => u.action === 'add-schema');
  if (!schemaUpdate) throw new MetadataInvalidError('a create commit needs an add-schema update, found none');
  const specUpdate = updates.find((u) => u.action === 'add-spec');
  const orderUpdate = updates.find((u) => u.action === 'add-sort-order');
  const consumed = new Set<TableUpdate>([schemaUpdate]);
  if (specUpdate) consumed.add(specUpdate);
  if (orderUpdate) consumed.add(orderUpdate);
  let location = defaults.location;
  let tableUuid = defaults.tableUuid;
  let properties: Record<string, string> = {};
  for (const update of updates) {
    switch (update.action) {
      case 'assign-uuid':
        tableUuid = update.uuid;
        consumed.add(update);
        break;
      case 'upgrade-format-version':
        consumed.add(update);
        break;
      case 'set-location':
        location = update.location;
        consumed.add(update);
        break;
      case 'set-properties':
        properties = { ...properties, ...update.updates };
        consumed.add(update);
        break;
      case 'set-current-schema':
        if (update.schemaId === LAST_ADDED || update.schemaId === schemaUpdate.schema.schemaId) consumed.add(update);
        break;
      case 'set-default-spec':
        if (update.specId === LAST_ADDED || update.specId === specUpdate?.spec.specId) consumed.add(update);
        break;
      case 'set-default-sort-order':
        if (update.sortOrderId === LAST_ADDED || update.sortOrderId === orderUpdate?.sortOrder.orderId) consumed.add(update);
        break;
      default:
        break;
    }
  }
  const base = newTableMetadata({
    location,
    tableUuid,
    schema: schemaUpdate.schema,
    ...(specUpdate ? { spec: specUpdate.spec } : {}),
    ...(orderUpdate ? { sortOrder: orderUpdate.sortOrder } : {}),
    properties,
    nowMs: defaults.nowMs,
  });
  const rest = updates.filter((u) => !consumed.has(u));
  return rest.length === 0 ? base : applyUpdates(base, rest, { nowMs: defaults.nowMs });
}
