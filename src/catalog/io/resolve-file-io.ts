// Picks the FileIO for a location by its scheme (`s3://` → S3, `file://` or an absolute path → local disk,
// `memory://` → memory) and re-exports the location helpers. Must never: guess a scheme it does not know, or make an
// S3 client without the options (endpoint, credentials) it was given.
import { DuckHouseError } from '../../shared/errors.js';
import type { FileIO } from './file-io.js';
import { LocalFileIO } from './local-file-io.js';
import { locationScheme } from './location.js';
import { MemoryFileIO } from './memory-file-io.js';
import { S3FileIO, type S3FileIOOptions } from './s3-file-io.js';

export { joinLocation, locationScheme, type LocationScheme } from './location.js';

export interface FileIOOptions {
  /** Needed for `s3://` locations: a client, or the options to make one, plus tuning. */
  readonly s3?: S3FileIOOptions;
  /** The store for `memory://` locations (a new, empty one otherwise). */
  readonly memory?: MemoryFileIO;
}

/** The FileIO for `location` (a warehouse or table location). The caller closes it. */
export function fileIOFor(location: string, options: FileIOOptions = {}): FileIO {
  switch (locationScheme(location)) {
    case 'file':
      return new LocalFileIO();
    case 'memory':
      return options.memory ?? new MemoryFileIO();
    case 's3':
      if (!options.s3) {
        throw new DuckHouseError('config', `no S3 options for ${location}: expected s3.client or s3.clientOptions`, {
          context: { location },
        });
      }
      return new S3FileIO(options.s3);
  }
}
