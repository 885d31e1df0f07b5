// Which files each retained snapshot of a table reads, for the time-travel macros: along the current history (linear),
// a data or position delete file is live in one contiguous range of snapshot ordinals [first, last] (last = null while
// it is still live). The ordinal of a snapshot is its sequence number when those increase strictly along the history
// (always, for v2 tables); otherwise (v1 tables: every sequence number is 0) its 1-based position in the history,
// and then the ranges are rebuilt on every refresh, since positions shift when old snapshots expire.
// Ranges are built incrementally: a snapshot's ADDED entries start ranges, its DELETED entries end them at the
// parent's ordinal; the oldest retained snapshot contributes its whole live file set. Rows of files that only expired
// snapshots read are pruned.
// PURE: no IO. Must never: drop a range a retained snapshot still needs.
import type { Snapshot } from '../../catalog/spec/snapshot.js';

/** 0 = data file, 1 = position delete file (as Iceberg's content ids; equality deletes are refused earlier). */
export type TrackedContent = 0 | 1;

export interface TrackedFile {
  readonly location: string;
  readonly content: TrackedContent;
}

export interface FileRange extends TrackedFile {
  readonly firstOrdinal: bigint;
  readonly lastOrdinal: bigint | null;
}

export type OrdinalMode = 'sequence' | 'position';

export interface Ordinals {
  readonly mode: OrdinalMode;
  /** Snapshot id → ordinal, for the snapshots of the current history. */
  readonly of: ReadonlyMap<bigint, bigint>;
}

/** Ordinals of `chain` (the current history, oldest first). */
export function ordinalsOf(chain: readonly Snapshot[]): Ordinals {
  const increasing = chain.every((s, i) => i === 0 || s.sequenceNumber > chain[i - 1]!.sequenceNumber);
  if (increasing) return { mode: 'sequence', of: new Map(chain.map((s) => [s.snapshotId, s.sequenceNumber])) };
  return { mode: 'position', of: new Map(chain.map((s, i) => [s.snapshotId, BigInt(i + 1)])) };
}

/** What the DuckDB file remembers of a table's ranges. */
export interface RangeState {
  readonly tableUuid: string;
  readonly cacheDir: string;
  readonly lastSnapshotId: bigint | null;
  readonly ordinalMode: string | null;
}

export interface RangePlan {
  /** Start over: drop every stored range, take `base`'s full live file set, then apply `pending`. */
  readonly rebuild: boolean;
  /** The oldest retained snapshot, when rebuilding a table that has one. */
  readonly base: Snapshot | undefined;
  /** Snapshots whose changes to apply, oldest first. */
  readonly pending: readonly Snapshot[];
  /** Why it rebuilds (for logs), when it does. */
  readonly reason: string | undefined;
}

/** Incremental from the last processed snapshot when it is still in the current history, else a rebuild. */
export function planRanges(state: RangeState | undefined, now: { tableUuid: string; cacheDir: string }, chain: readonly Snapshot[], ordinals: Ordinals, force?: string): RangePlan {
  const rebuild = (reason: string): RangePlan => ({ rebuild: true, base: chain[0], pending: chain.slice(1), reason });
  if (force) return rebuild(force);
  if (!state) return rebuild('first refresh');
  if (state.tableUuid !== now.tableUuid) return rebuild('the table was replaced (new table uuid)');
  if (state.cacheDir !== now.cacheDir) return rebuild('the cache directory changed');
  if (state.lastSnapshotId === null) return rebuild('no snapshot was processed yet');
  if (ordinals.mode !== 'sequence' || state.ordinalMode !== 'sequence') return rebuild('sequence numbers do not increase along the history');
  const index = chain.findIndex((s) => s.snapshotId === state.lastSnapshotId);
  if (index < 0) return rebuild(`snapshot ${state.lastSnapshotId} is no longer in the current history (rollback or expiry)`);
  return { rebuild: false, base: undefined, pending: chain.slice(index + 1), reason: undefined };
}

/** One snapshot's changes: files it added and files it removed (by location). */
export interface SnapshotDelta {
  readonly added: readonly TrackedFile[];
  readonly removed: readonly string[];
}

interface Row {
  location: string;
  content: TrackedContent;
  firstOrdinal: bigint;
  lastOrdinal: bigint | null;
  /** Loaded from the DuckDB file (else added by this refresh). */
  stored: boolean;
}

/** The ranges of one table, with what changed since they were loaded (to write back as a diff). */
export class FileRanges {
  private rows: Row[] = [];
  private readonly live = new Map<string, Row>();
  private readonly ended = new Set<Row>();
  private prunedBefore: bigint | undefined;
  /** DELETED entries for files that were not live: the stored ranges do not match the table. */
  inconsistencies = 0;

  /** Ranges as stored (each with `stored`: true). */
  static load(ranges: readonly FileRange[]): FileRanges {
    const result = new FileRanges();
    for (const r of ranges) {
      const row: Row = { ...r, stored: true };
      result.rows.push(row);
      if (row.lastOrdinal === null) result.live.set(row.location, row);
    }
    return result;
  }

  /** Starts a range at `ordinal` (a file live in the base snapshot, or added by a snapshot). */
  add(file: TrackedFile, ordinal: bigint): void {
    if (this.live.has(file.location)) return;
    const row: Row = { location: file.location, content: file.content, firstOrdinal: ordinal, lastOrdinal: null, stored: false };
    this.rows.push(row);
    this.live.set(file.location, row);
  }

  /** Ends the live range of `location` at `lastOrdinal` (the parent of the snapshot that removed it). */
  remove(location: string, lastOrdinal: bigint): void {
    const row = this.live.get(location);
    if (!row) {
      this.inconsistencies++;
      return;
    }
    this.live.delete(location);
    row.lastOrdinal = lastOrdinal;
    if (row.stored) this.ended.add(row);
  }

  apply(delta: SnapshotDelta, ordinal: bigint, parentOrdinal: bigint): void {
    for (const location of delta.removed) this.remove(location, parentOrdinal);
    for (const file of delta.added) this.add(file, ordinal);
  }

  /** Drops ranges that end before `oldestOrdinal` (only expired snapshots read those files); returns them. */
  prune(oldestOrdinal: bigint): FileRange[] {
    const gone = this.rows.filter((r) => r.lastOrdinal !== null && r.lastOrdinal < oldestOrdinal);
    if (gone.length === 0) return [];
    const set = new Set(gone);
    this.rows = this.rows.filter((r) => !set.has(r));
    // A stored row ended by this refresh stays in `ended`: it is updated first, then deleted with the others.
    if (gone.some((r) => r.stored)) this.prunedBefore = oldestOrdinal;
    return gone.map(plain);
  }

  all(): FileRange[] {
    return this.rows.map(plain);
  }

  /** Files live at the newest processed snapshot, in the order they were added. */
  current(): FileRange[] {
    return this.rows.filter((r) => r.lastOrdinal === null).map(plain);
  }

  liveAt(ordinal: bigint): FileRange[] {
    return this.rows.filter((r) => r.firstOrdinal <= ordinal && (r.lastOrdinal === null || r.lastOrdinal >= ordinal)).map(plain);
  }

  /** What to write back: new rows, stored rows whose range ended, and the ordinal below which stored rows go. */
  changes(): { inserted: FileRange[]; ended: FileRange[]; prunedBefore: bigint | undefined } {
    return {
      inserted: this.rows.filter((r) => !r.stored).map(plain),
      ended: [...this.ended].map(plain),
      prunedBefore: this.prunedBefore,
    };
  }
}

const plain = (r: Row): FileRange => ({ location: r.location, content: r.content, firstOrdinal: r.firstOrdinal, lastOrdinal: r.lastOrdinal });
