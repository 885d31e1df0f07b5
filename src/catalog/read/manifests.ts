// Reading a snapshot's manifests: the manifest list, each manifest's entries with sequence numbers inherited, and the
// live data and delete files. Errors name the file that is missing or corrupt.
// Must never: write or delete anything.
import { MetadataInvalidError, NotFoundError } from '../../shared/errors.js';
import type { FileIO } from '../io/file-io.js';
import type { ManifestEntry, ManifestFile } from '../spec/manifest.js';
import { inheritSequenceNumbers, isLive, ManifestContent } from '../spec/manifest.js';
import { readManifest, readManifestList } from '../spec/manifest-avro.js';
import type { Snapshot } from '../spec/snapshot.js';

async function readFile(io: FileIO, location: string, what: string, referencedBy: string): Promise<Uint8Array> {
  try {
    return await io.read(location);
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new MetadataInvalidError(`${what} ${location} (referenced by ${referencedBy}) is missing`, { cause: error, context: { file: location } });
    }
    throw error;
  }
}

export async function manifestsOf(io: FileIO, snapshot: Snapshot): Promise<ManifestFile[]> {
  const bytes = await readFile(io, snapshot.manifestList, 'manifest list', `snapshot ${snapshot.snapshotId}`);
  return readManifestList(bytes, snapshot.manifestList);
}

/** Entries of one manifest (all statuses) with snapshot ids and sequence numbers inherited from the manifest. */
export async function entriesOf(io: FileIO, manifest: ManifestFile): Promise<ManifestEntry[]> {
  const bytes = await readFile(io, manifest.manifestPath, 'manifest', 'a manifest list');
  const contents = readManifest(bytes, manifest.manifestPath);
  return contents.entries.map((entry) => inheritSequenceNumbers(manifest, { ...entry, dataFile: { ...entry.dataFile, specId: manifest.partitionSpecId } }));
}

/** Runs `fn` over items with at most `limit` in flight, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface LiveFiles {
  readonly manifests: ManifestFile[];
  /** Live data-file entries, with their manifest. */
  readonly data: { entry: ManifestEntry; manifest: ManifestFile }[];
  /** Live delete-file entries, with their manifest. */
  readonly deletes: { entry: ManifestEntry; manifest: ManifestFile }[];
}

export async function liveFilesOf(io: FileIO, snapshot: Snapshot | undefined): Promise<LiveFiles> {
  if (!snapshot) return { manifests: [], data: [], deletes: [] };
  const manifests = await manifestsOf(io, snapshot);
  const perManifest = await mapLimit(manifests, 8, async (manifest) => (await entriesOf(io, manifest)).filter(isLive).map((entry) => ({ entry, manifest })));
  const data: LiveFiles['data'] = [];
  const deletes: LiveFiles['deletes'] = [];
  manifests.forEach((manifest, i) => {
    (manifest.content === ManifestContent.DATA ? data : deletes).push(...perManifest[i]!);
  });
  return { manifests, data, deletes };
}
