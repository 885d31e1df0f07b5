// When and how a table is compacted: thresholds from table properties (Iceberg's own where one exists), overridable
// per run. Defaults suit a streaming sink that commits small files every few seconds.
// Must never: accept a nonsensical threshold silently (a zero target, a ratio above 1): such a property is refused.
import { DuckHouseError } from '../../shared/errors.js';

export interface CompactionPolicy {
  /** `duckhouse.compaction.enabled` (default true): false skips rewriting (expiry and orphan removal still run). */
  readonly enabled: boolean;
  /** Size of the files written (`write.target-file-size-bytes`, Iceberg's default 512 MiB). */
  readonly targetFileSizeBytes: number;
  /** A data file smaller than this is "small" (`duckhouse.compaction.min-file-size-bytes`, default 75% of target). */
  readonly minFileSizeBytes: number;
  /** Rewrite a partition's small files once it has at least this many (`duckhouse.compaction.min-input-files`, default 5). */
  readonly minInputFiles: number;
  /** Rewrite a data file whose deleted rows reach this share of its rows (`duckhouse.compaction.delete-ratio`, default 0.1). */
  readonly deleteRatio: number;
  /** Rewrite a data file with this many delete files applying to it (`duckhouse.compaction.delete-file-threshold`, default 10). */
  readonly deleteFileThreshold: number;
  /** Snapshots older than this may expire (`history.expire.max-snapshot-age-ms`, Iceberg's default 5 days). */
  readonly maxSnapshotAgeMs: number;
  /** Snapshots always kept (`history.expire.min-snapshots-to-keep`, default 1). */
  readonly minSnapshotsToKeep: number;
  /** Unreferenced files younger than this are never removed (`duckhouse.compaction.orphan-min-age-ms`, default 3 days). */
  readonly orphanMinAgeMs: number;
  /** Orphan listing runs at most this often per table (`duckhouse.compaction.orphan-interval-ms`, default 1 h). */
  readonly orphanIntervalMs: number;
}

const DAY = 24 * 3600 * 1000;

export const POLICY_PROPERTIES = {
  enabled: 'duckhouse.compaction.enabled',
  targetFileSizeBytes: 'write.target-file-size-bytes',
  minFileSizeBytes: 'duckhouse.compaction.min-file-size-bytes',
  minInputFiles: 'duckhouse.compaction.min-input-files',
  deleteRatio: 'duckhouse.compaction.delete-ratio',
  deleteFileThreshold: 'duckhouse.compaction.delete-file-threshold',
  maxSnapshotAgeMs: 'history.expire.max-snapshot-age-ms',
  minSnapshotsToKeep: 'history.expire.min-snapshots-to-keep',
  orphanMinAgeMs: 'duckhouse.compaction.orphan-min-age-ms',
  orphanIntervalMs: 'duckhouse.compaction.orphan-interval-ms',
} as const satisfies Record<keyof CompactionPolicy, string>;

function number(properties: Readonly<Record<string, string>>, key: string, fallback: number, check: (n: number) => boolean, expected: string): number {
  const text = properties[key];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || !check(value)) {
    throw new DuckHouseError('config', `table property ${key}=${JSON.stringify(text)}: expected ${expected}`, { context: { property: key } });
  }
  return value;
}

/**
 * Files a writer uploaded but has not committed yet look like orphans: a window shorter than an hour could delete
 * them under a running sink (whose commit would then point at missing files).
 */
export const MIN_ORPHAN_AGE_MS = 3600 * 1000;

function checkOrphanAge(ms: number): number {
  if (ms < MIN_ORPHAN_AGE_MS) {
    throw new DuckHouseError('config', `${POLICY_PROPERTIES.orphanMinAgeMs}=${ms}: expected at least ${MIN_ORPHAN_AGE_MS} ms (1 h); a shorter window could delete files a running writer has not committed yet`);
  }
  return ms;
}

/** The policy a table's properties give, with `overrides` (from the CLI or worker options) on top. */
export function compactionPolicy(properties: Readonly<Record<string, string>>, overrides: Partial<CompactionPolicy> = {}): CompactionPolicy {
  const positive = (n: number): boolean => Number.isInteger(n) && n > 0;
  const nonNegative = (n: number): boolean => Number.isInteger(n) && n >= 0;
  const enabledText = properties[POLICY_PROPERTIES.enabled];
  if (enabledText !== undefined && !['true', 'false'].includes(enabledText)) {
    throw new DuckHouseError('config', `table property ${POLICY_PROPERTIES.enabled}=${JSON.stringify(enabledText)}: expected true or false`);
  }
  const target = overrides.targetFileSizeBytes ?? number(properties, POLICY_PROPERTIES.targetFileSizeBytes, 512 * 1024 * 1024, positive, 'a whole number of bytes > 0');
  return {
    enabled: overrides.enabled ?? enabledText !== 'false',
    targetFileSizeBytes: target,
    minFileSizeBytes: overrides.minFileSizeBytes ?? number(properties, POLICY_PROPERTIES.minFileSizeBytes, Math.floor(target * 0.75), nonNegative, 'a whole number of bytes'),
    minInputFiles: overrides.minInputFiles ?? number(properties, POLICY_PROPERTIES.minInputFiles, 5, positive, 'a whole number ≥ 1'),
    deleteRatio: overrides.deleteRatio ?? number(properties, POLICY_PROPERTIES.deleteRatio, 0.1, (n) => n > 0 && n <= 1, 'a ratio in (0, 1]'),
    deleteFileThreshold: overrides.deleteFileThreshold ?? number(properties, POLICY_PROPERTIES.deleteFileThreshold, 10, positive, 'a whole number ≥ 1'),
    maxSnapshotAgeMs: overrides.maxSnapshotAgeMs ?? number(properties, POLICY_PROPERTIES.maxSnapshotAgeMs, 5 * DAY, nonNegative, 'milliseconds ≥ 0'),
    minSnapshotsToKeep: overrides.minSnapshotsToKeep ?? number(properties, POLICY_PROPERTIES.minSnapshotsToKeep, 1, positive, 'a whole number ≥ 1'),
    orphanMinAgeMs: checkOrphanAge(overrides.orphanMinAgeMs ?? number(properties, POLICY_PROPERTIES.orphanMinAgeMs, 3 * DAY, nonNegative, 'milliseconds ≥ 0')),
    orphanIntervalMs: overrides.orphanIntervalMs ?? number(properties, POLICY_PROPERTIES.orphanIntervalMs, 3600 * 1000, nonNegative, 'milliseconds ≥ 0'),
  };
}
