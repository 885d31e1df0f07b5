// Produces a new snapshot from a base table: new manifests for added files (written once, reused across retries),
// the parent's manifests carried over (rewritten where files are removed, merged when they pile up: merge-manifests.ts),
// a manifest list, the summary, and the {updates, requirements} the catalog commits. Used by fast-append, row-delta and
// rewrite-files.
// Must never: delete a file after CommitStateUnknownError; drop a removed file silently (missing → conflict).
import { randomBytes, randomUUID } from 'node:crypto';
import { CommitConflictError, DataInvalidError } from '../../shared/errors.js';
import type { Table } from '../catalogs/catalog.js';
import { entriesOf, manifestsOf, mapLimit } from '../read/manifests.js';
import type { DataFile, ManifestEntry, ManifestFile } from '../spec/manifest.js';
import { DataFileContent, ManifestContent, ManifestEntryStatus } from '../spec/manifest.js';
import { writeManifestList } from '../spec/manifest-avro.js';
import type { Operation, Snapshot } from '../spec/snapshot.js';
import { buildSummary, MAIN_BRANCH } from '../spec/snapshot.js';
import { currentSchema, snapshotById, snapshotForRef, specById } from '../spec/table-metadata.js';
import { specFitsSchema } from '../spec/partition-spec.js';
import type { TableRequirement, TableUpdate } from '../spec/table-update.js';
import { writeManifestFile } from './manifest-writer.js';
import { binsToMerge, groupBySpecAndContent, manifestMergePolicy, mergedEntries, packFromOldest } from './merge-manifests.js';
import type { PendingCommit, TableAction } from './action.js';

/** A random positive 63-bit snapshot id, as Java and PyIceberg make them. */
export function newSnapshotId(): bigint {
  const id = BigInt.asUintN(63, randomBytes(8).readBigUInt64BE());
  return id === 0n ? 1n : id;
}

export type SummaryProperties = Readonly<Record<string, string>> | ((base: Table, parent: Snapshot | undefined) => Readonly<Record<string, string>>);

export interface SnapshotProducerOptions {
  operation: Operation;
  added: readonly DataFile[];
  removed?: readonly DataFile[];
  /**
   * Extra summary properties (for example the Kafka offsets this commit covers), or a function of the base it is
   * applied to (called again on every attempt, after `validate`), for properties that merge with the parent's.
   */
  summary?: SummaryProperties;
  branch?: string;
  /**
   * Merge the carried-over manifests when the table's policy says so (default true; fast-append passes false, as
   * Iceberg's fast append never merges; `all` merges every bin of two or more, as rewrite-manifests does).
   */
  mergeManifests?: boolean | 'all';
  /** Checks the base before each attempt (throw CommitConflictError to stop). */
  validate?: (base: Table, parent: Snapshot | undefined) => Promise<void>;
  /** Clock, for tests. */
  nowMs?: () => number;
}

/** A parent manifest carried into the new snapshot: as it is, or with its entries to write anew (`rewrite`). */
interface Carried {
  manifest: ManifestFile;
  /** Its entries, when they were read already (with sequence numbers inherited). */
  entries?: ManifestEntry[];
  /** True when `entries` differ from the manifest's (files removed), so it must be written even if not merged. */
  rewrite?: boolean;
}

export class SnapshotProducer implements TableAction {
  readonly snapshotId = newSnapshotId();
  private readonly commitUuid = randomUUID();
  private attempt = 0;
  private newManifests: ManifestFile[] | undefined;
  /** Files written by the latest attempt only (manifest list, rewritten manifests): garbage if it loses. */
  private attemptFiles: string[] = [];
  private readonly written: string[] = [];
  /** Merged manifests (or undefined: nothing kept) by their inputs' paths, reused by later attempts (`mergeBin`). */
  private readonly mergedByInputs = new Map<string, ManifestFile | undefined>();
  /** Set once a commit's outcome was unknown: the table may reference anything written, so nothing is deleted. */
  private keepFiles = false;

  constructor(private readonly options: SnapshotProducerOptions) {}

  get name(): string {
    return this.options.operation;
  }

  private location(table: Table, file: string): string {
    return `${table.metadata.location}/metadata/${file}`;
  }

  private async writeNewManifests(base: Table): Promise<ManifestFile[]> {
    if (this.newManifests) return this.newManifests;
    const schema = currentSchema(base.metadata);
    const groups = new Map<string, DataFile[]>();
    for (const file of this.options.added) {
      const key = `${file.specId}:${file.content === DataFileContent.DATA ? 'data' : 'deletes'}`;
      groups.set(key, [...(groups.get(key) ?? []), file]);
    }
    const manifests: ManifestFile[] = [];
    let index = 0;
    for (const [key, files] of groups) {
      const [specId, kind] = key.split(':');
      const location = this.location(base, `${this.commitUuid}-m${index++}.avro`);
      manifests.push(await writeManifestFile({
        io: base.io,
        location,
        schema,
        spec: specById(base.metadata, Number(specId)),
        content: kind === 'data' ? ManifestContent.DATA : ManifestContent.DELETES,
        snapshotId: this.snapshotId,
        entries: files.map((dataFile) => ({ status: ManifestEntryStatus.ADDED, snapshotId: this.snapshotId, sequenceNumber: undefined, fileSequenceNumber: undefined, dataFile })),
      }));
      this.written.push(location);
    }
    this.newManifests = manifests;
    return manifests;
  }

  /**
   * The parent's manifests: kept as they are, or (where files are removed) to be rewritten with the removed files
   * marked DELETED. Nothing is written here: `finishManifests` writes what survives merging.
   */
  private async carryOver(base: Table, parent: Snapshot | undefined): Promise<Carried[]> {
    if (!parent) {
      if (this.options.removed?.length) throw this.missing(this.options.removed.map((f) => f.filePath));
      return [];
    }
    const removing = new Set((this.options.removed ?? []).map((f) => f.filePath));
    const found = new Set<string>();
    const result: Carried[] = [];
    for (const manifest of await manifestsOf(base.io, parent)) {
      const hasLive = manifest.addedFilesCount + manifest.existingFilesCount > 0;
      if (removing.size === 0 && !manifest.countsUnknown) {
        if (hasLive) result.push({ manifest });
        continue;
      }
      const entries = await entriesOf(base.io, manifest);
      const live = entries.filter((e) => e.status !== ManifestEntryStatus.DELETED);
      if (live.length === 0) continue;
      // A manifest without counts is written anew (with them), or the next commit would take it for empty.
      if (!manifest.countsUnknown && !live.some((e) => removing.has(e.dataFile.filePath))) {
        result.push({ manifest, entries });
        continue;
      }
      const rewritten: ManifestEntry[] = live.map((e) => {
        if (!removing.has(e.dataFile.filePath)) return { ...e, status: ManifestEntryStatus.EXISTING };
        found.add(e.dataFile.filePath);
        return { ...e, status: ManifestEntryStatus.DELETED, snapshotId: this.snapshotId };
      });
      result.push({ manifest, entries: rewritten, rewrite: true });
    }
    const missing = [...removing].filter((p) => !found.has(p));
    if (missing.length > 0) throw this.missing(missing);
    return result;
  }

  /**
   * Writes the carried manifests that changed, merging them per the table's policy (merge-manifests.ts). A group whose
   * partition spec the current schema can no longer express (its source column dropped) is left unmerged: merging is
   * tuning, and must not fail a commit.
   */
  private async finishManifests(base: Table, carried: Carried[]): Promise<{ manifests: ManifestFile[]; merged: number }> {
    const policy = manifestMergePolicy(base.metadata);
    const merge = this.options.mergeManifests !== false && policy.enabled;
    const schema = currentSchema(base.metadata);
    const result: ManifestFile[] = [];
    let merged = 0;
    for (const group of merge ? groupBySpecAndContent(carried) : [carried]) {
      const mergeGroup = merge && specFitsSchema(specById(base.metadata, group[0]!.manifest.partitionSpecId), schema);
      const bins = mergeGroup ? packFromOldest(group, (c) => Number(c.manifest.manifestLength), policy.targetSizeBytes) : group.map((c) => [c]);
      const merging = mergeGroup ? binsToMerge(bins, policy, this.options.mergeManifests === 'all') : bins.map(() => false);
      for (const [i, bin] of bins.entries()) {
        if (!merging[i]) {
          for (const item of bin) result.push(item.rewrite ? await this.writeCarried(base, item.manifest, item.entries!) : item.manifest);
          continue;
        }
        merged += bin.length;
        const output = await this.mergeBin(base, bin);
        if (output) result.push(output);
      }
    }
    return { manifests: result, merged };
  }

  /**
   * One merged manifest for a bin (undefined when nothing in it is left to keep). Kept across attempts by its inputs:
   * bins pack from the oldest, so a retry after a concurrent commit finds its older bins unchanged.
   */
  private async mergeBin(base: Table, bin: Carried[]): Promise<ManifestFile | undefined> {
    const key = bin.map((item) => item.manifest.manifestPath).join('\n');
    if (this.mergedByInputs.has(key)) return this.mergedByInputs.get(key);
    const entries = await mapLimit(bin, 8, async (item) => item.entries ?? (await entriesOf(base.io, item.manifest)));
    const kept = mergedEntries(entries.flat(), this.snapshotId);
    let output: ManifestFile | undefined;
    if (kept.length > 0) {
      output = await this.writeLike(base, this.location(base, `${this.commitUuid}-merged-${this.mergedByInputs.size}.avro`), bin[0]!.manifest, kept);
    }
    this.mergedByInputs.set(key, output);
    return output;
  }

  /** Deletes merged manifests no longer used (`keep`: the paths the current attempt lists). */
  private async dropMerged(base: Table, keep: ReadonlySet<string>): Promise<void> {
    const stale: string[] = [];
    for (const [key, manifest] of this.mergedByInputs) {
      if (manifest && keep.has(manifest.manifestPath)) continue;
      this.mergedByInputs.delete(key);
      if (manifest) stale.push(manifest.manifestPath);
    }
    if (stale.length > 0 && !this.keepFiles) await base.io.deleteMany(stale).catch(() => undefined);
  }

  /** Writes `entries` as a manifest of the same spec and content as `like`. */
  private writeLike(base: Table, location: string, like: ManifestFile, entries: ManifestEntry[]): Promise<ManifestFile> {
    return writeManifestFile({ io: base.io, location, schema: currentSchema(base.metadata), spec: specById(base.metadata, like.partitionSpecId), content: like.content, snapshotId: this.snapshotId, entries });
  }

  /** A carried manifest with files removed, written for this attempt only. */
  private async writeCarried(base: Table, like: ManifestFile, entries: ManifestEntry[]): Promise<ManifestFile> {
    const location = this.location(base, `${this.commitUuid}-r${this.attempt}-${this.attemptFiles.length}.avro`);
    const manifest = await this.writeLike(base, location, like, entries);
    this.attemptFiles.push(location);
    return manifest;
  }

  private missing(paths: string[]): CommitConflictError {
    return new CommitConflictError(
      `${this.options.operation}: expected ${paths.length} file(s) to remove to be live in the table, found them gone (removed by a concurrent commit): ${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ', …' : ''}`,
      { retriable: false, context: { missing: paths } },
    );
  }

  async prepare(base: Table): Promise<PendingCommit> {
    // Committed again after an unknown outcome: if that attempt landed, there is nothing left to do.
    if (this.keepFiles && snapshotById(base.metadata, this.snapshotId)) return { updates: [], requirements: [] };
    await this.discardAttempt(base);
    this.attempt++;
    const branch = this.options.branch ?? MAIN_BRANCH;
    if (base.metadata.refs.get(branch)?.type === 'tag') {
      throw new DataInvalidError(`${this.options.operation}: "${branch}" is a tag, and tags cannot take commits (commit to a branch)`);
    }
    const parent = snapshotForRef(base.metadata, branch);
    if (base.metadata.formatVersion === 1) {
      const deletes = this.options.added.find((f) => f.content !== DataFileContent.DATA);
      if (deletes) throw new DataInvalidError(`${this.options.operation}: table ${base.metadata.location} is format v1, which has no delete files; found ${deletes.filePath} (upgrade the table to v2 first)`);
    }
    await this.options.validate?.(base, parent);
    const summary = this.options.summary;
    const extra = typeof summary === 'function' ? summary(base, parent) : summary;
    // v1 has no sequence numbers: every file reads as 0 (spec), so a later upgrade to v2 starts above all of them.
    const sequenceNumber = base.metadata.formatVersion === 1 ? 0n : base.metadata.lastSequenceNumber + 1n;
    const carried = await this.finishManifests(base, await this.carryOver(base, parent));
    const manifests = [...(await this.writeNewManifests(base)), ...carried.manifests];
    await this.dropMerged(base, new Set(manifests.map((m) => m.manifestPath)));
    // A rewrite of the manifests that found nothing to merge (a concurrent commit merged them) commits nothing.
    if (carried.merged === 0 && this.options.mergeManifests === 'all' && this.options.added.length === 0 && !this.options.removed?.length) {
      return { updates: [], requirements: [] };
    }
    const manifestList = this.location(base, `snap-${this.snapshotId}-${this.attempt}-${this.commitUuid}.avro`);
    await base.io.write(manifestList, writeManifestList({ snapshotId: this.snapshotId, parentSnapshotId: parent?.snapshotId, sequenceNumber, manifests }), { ifNoneMatch: true });
    this.attemptFiles.push(manifestList);
    const now = this.options.nowMs?.() ?? Date.now();
    const snapshot: Snapshot = {
      snapshotId: this.snapshotId,
      ...(parent ? { parentSnapshotId: parent.snapshotId } : {}),
      sequenceNumber,
      timestampMs: Math.max(now, base.metadata.lastUpdatedMs),
      manifestList,
      summary: buildSummary(this.options.operation, { added: this.options.added, removed: this.options.removed ?? [] }, parent?.summary, extra),
      schemaId: base.metadata.currentSchemaId,
    };
    const updates: TableUpdate[] = [
      { action: 'add-snapshot', snapshot },
      { action: 'set-snapshot-ref', refName: branch, ref: { snapshotId: this.snapshotId, type: 'branch' } },
    ];
    const requirements: TableRequirement[] = [
      { type: 'assert-table-uuid', uuid: base.metadata.tableUuid },
      { type: 'assert-ref-snapshot-id', ref: branch, snapshotId: parent?.snapshotId },
    ];
    return { updates, requirements };
  }

  /** Deletes what the last attempt wrote (its commit definitely lost). */
  private async discardAttempt(base: Table): Promise<void> {
    if (this.attemptFiles.length === 0) return;
    if (!this.keepFiles) await base.io.deleteMany(this.attemptFiles).catch(() => undefined);
    this.attemptFiles = [];
  }

  async abort(base: Table): Promise<void> {
    await this.discardAttempt(base);
    await this.dropMerged(base, new Set());
    if (!this.keepFiles) await base.io.deleteMany(this.written).catch(() => undefined);
  }

  outcomeUnknown(): void {
    this.keepFiles = true;
  }
}
