// Compaction planning (pure): which data files to rewrite and how to pack them. Per partition, small files are
// rewritten once there are enough of them, and files carrying many deletes are rewritten whatever their size; the
// chosen files are bin-packed (first fit, largest first) into groups of about the target file size, each group
// becoming one new file.
// Must never: mix partitions or partition specs in one group, or plan a rewrite that changes nothing (one file
// without deletes).
import type { FileScanTask } from '../../catalog/read/plan-files.js';
import { partitionKey } from '../../catalog/spec/partition-spec.js';
import type { CompactionPolicy } from './policy.js';

export interface PlannedFile extends FileScanTask {
  /** Rows of this file removed by its position deletes (exact, or an upper bound while estimating). */
  readonly deletedRows: number;
}

export type RewriteReason = 'small-files' | 'deletes';

export interface RewriteGroup {
  readonly specId: number;
  readonly partitionKey: string;
  readonly files: PlannedFile[];
  /** Bytes of the input data files. */
  readonly inputBytes: number;
  readonly reasons: RewriteReason[];
}

/** The file's expected size once its deleted rows are gone. */
function liveBytes(file: PlannedFile): number {
  const rows = Number(file.file.recordCount);
  const share = rows === 0 ? 0 : Math.max(0, rows - file.deletedRows) / rows;
  return Number(file.file.fileSizeInBytes) * share;
}

export function needsDeleteRewrite(file: PlannedFile, policy: CompactionPolicy): boolean {
  if (file.deletes.length === 0) return false;
  const rows = Number(file.file.recordCount);
  return file.deletes.length >= policy.deleteFileThreshold || (rows > 0 && file.deletedRows / rows >= policy.deleteRatio);
}

export function planRewrites(files: readonly PlannedFile[], policy: CompactionPolicy): RewriteGroup[] {
  if (!policy.enabled) return [];
  const byPartition = new Map<string, PlannedFile[]>();
  for (const file of files) {
    const key = `${file.file.specId}:${partitionKey(file.file.partition)}`;
    const list = byPartition.get(key) ?? [];
    list.push(file);
    byPartition.set(key, list);
  }
  const groups: RewriteGroup[] = [];
  for (const [key, partitionFiles] of byPartition) {
    const small = partitionFiles.filter((f) => Number(f.file.fileSizeInBytes) < policy.minFileSizeBytes);
    const chosen = new Map<string, { file: PlannedFile; reason: RewriteReason }>();
    for (const file of partitionFiles) if (needsDeleteRewrite(file, policy)) chosen.set(file.file.filePath, { file, reason: 'deletes' });
    if (small.length >= policy.minInputFiles) for (const file of small) if (!chosen.has(file.file.filePath)) chosen.set(file.file.filePath, { file, reason: 'small-files' });
    const bins: { files: PlannedFile[]; reasons: Set<RewriteReason>; bytes: number }[] = [];
    for (const { file, reason } of [...chosen.values()].sort((a, b) => liveBytes(b.file) - liveBytes(a.file))) {
      const size = liveBytes(file);
      const bin = bins.find((b) => b.bytes + size <= policy.targetFileSizeBytes);
      if (bin) {
        bin.files.push(file);
        bin.reasons.add(reason);
        bin.bytes += size;
      } else {
        bins.push({ files: [file], reasons: new Set([reason]), bytes: size });
      }
    }
    const specId = Number(key.slice(0, key.indexOf(':')));
    for (const bin of bins) {
      // One file without deletes would be rewritten into itself.
      if (bin.files.length === 1 && bin.files[0]!.deletes.length === 0) continue;
      groups.push({
        specId,
        partitionKey: key.slice(key.indexOf(':') + 1),
        files: bin.files,
        inputBytes: bin.files.reduce((n, f) => n + Number(f.file.fileSizeInBytes), 0),
        reasons: [...bin.reasons],
      });
    }
  }
  return groups;
}
