// FileIO: the one way the Iceberg layer touches storage (local disk, S3/MinIO, memory for unit tests).
// Locations are URIs: `file:///abs/path`, `s3://bucket/key`, `memory://name/key`; plain absolute paths mean local.
// Must never: log secrets, swallow an error, or overwrite an object when `ifNoneMatch` was asked for.

export interface FileInfo {
  readonly location: string;
  readonly size: number;
  /** Milliseconds since the epoch. */
  readonly lastModifiedMs: number;
}

export interface WriteOptions {
  /** Create only: fail with FileExistsError if the object exists (S3 `If-None-Match: *`, local `link()`). */
  readonly ifNoneMatch?: boolean;
  readonly contentType?: string;
}

export interface FileIO {
  /** Whole-object read; NotFoundError names the location when it does not exist. */
  read(location: string): Promise<Uint8Array>;
  /** Whole-object write (atomic for readers: they see the old object or the new one, never a part). */
  write(location: string, data: Uint8Array, options?: WriteOptions): Promise<void>;
  /** Uploads a local file (multipart for large files on S3), for Parquet files written to a local temp path. */
  upload(localPath: string, location: string, options?: WriteOptions): Promise<void>;
  exists(location: string): Promise<boolean>;
  /** Deleting a missing object is not an error. */
  delete(location: string): Promise<void>;
  deleteMany(locations: readonly string[]): Promise<void>;
  /** Every object under a prefix (recursively). */
  list(prefix: string): AsyncIterable<FileInfo>;
  /** Releases clients; the FileIO is unusable afterwards. */
  close?(): Promise<void>;
}
