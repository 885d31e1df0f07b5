// fast-append: adds data files in a new snapshot (operation "append"), keeping every existing manifest as it is (never
// merging them, as Iceberg's fast append; row-delta and rewrite-files merge).
// Must never: add delete files (use row-delta) or remove files.
import { DataInvalidError } from '../../shared/errors.js';
import type { DataFile } from '../spec/manifest.js';
import { DataFileContent } from '../spec/manifest.js';
import { SnapshotProducer } from './snapshot-producer.js';

export interface FastAppendOptions {
  summary?: Readonly<Record<string, string>>;
  branch?: string;
}

export function fastAppend(files: readonly DataFile[], options: FastAppendOptions = {}): SnapshotProducer {
  const deletes = files.filter((f) => f.content !== DataFileContent.DATA);
  if (deletes.length > 0) throw new DataInvalidError(`fast-append takes data files only; found delete file ${deletes[0]!.filePath} (use rowDelta)`);
  return new SnapshotProducer({ operation: 'append', added: files, mergeManifests: false, ...options });
}
