// S3 FileIO (MinIO in the stack, AWS S3) for `s3://bucket/key` (also `s3a://`, `s3n://`). Create-only writes send
// `If-None-Match: *`: on PutObject, and for multipart uploads on CompleteMultipartUpload (lib-storage passes the
// params through; MinIO checks the condition at Complete, so a key created while the parts upload still makes the
// upload fail with 412, and the upload is aborted). A retried write refused with 412 or NoSuchUpload is checked by
// content, so our own first attempt whose response was lost is not reported as "exists" or as a failure.
// Must never: log credentials or put them in errors, overwrite when ifNoneMatch was asked for, or destroy a client it
// was given (only one it made).
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DuckHouseError } from '../../shared/errors.js';
import type { FileIO, FileInfo, WriteOptions } from './file-io.js';
import { type DeleteFailure, type FileIOOperation, closedError, fsError, ioError, throwIfDeleteFailures } from './io-errors.js';
import { type S3Location, formatS3Location, invalidLocation, localPathOf, parseS3Location } from './location.js';
import { type S3ClientOptions, createS3Client } from './s3-client.js';
import { isPreconditionFailed, isRetriableS3Code, s3AttemptsOf, s3Error, s3NameOf } from './s3-errors.js';

export interface S3FileIOOptions {
  /** A client owned by the caller: close() leaves it alone. Give this or `clientOptions`. */
  readonly client?: S3Client;
  /** Options for a client this FileIO makes with createS3Client (destroyed by close()). */
  readonly clientOptions?: S3ClientOptions;
  /** Multipart part size in bytes for `upload`; default 8 MiB (S3's minimum is 5 MiB). */
  readonly partSize?: number;
  /** Parts of one upload sent concurrently; default 4. */
  readonly queueSize?: number;
  /** Keys per ListObjectsV2 page, 1–1000; default 1000. */
  readonly listPageSize?: number;
  /** Keys per DeleteObjects request, 1–1000; default 1000. */
  readonly deleteBatchSize?: number;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 4;
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_KEYS = 1000;

export class S3FileIO implements FileIO {
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly listPageSize: number;
  private readonly deleteBatchSize: number;
  private closed = false;

  constructor(options: S3FileIOOptions) {
    if (options.client) {
      this.client = options.client;
      this.ownsClient = false;
    } else if (options.clientOptions) {
      this.client = createS3Client(options.clientOptions);
      this.ownsClient = true;
    } else {
      throw new DuckHouseError('config', 'S3FileIO: expected `client` or `clientOptions`, found neither');
    }
    this.partSize = checkedInt('partSize', options.partSize ?? DEFAULT_PART_SIZE, MIN_PART_SIZE, 5 * 1024 ** 3);
    this.queueSize = checkedInt('queueSize', options.queueSize ?? DEFAULT_QUEUE_SIZE, 1, 64);
    this.listPageSize = checkedInt('listPageSize', options.listPageSize ?? MAX_KEYS, 1, MAX_KEYS);
    this.deleteBatchSize = checkedInt('deleteBatchSize', options.deleteBatchSize ?? MAX_KEYS, 1, MAX_KEYS);
  }

  async read(location: string): Promise<Uint8Array> {
    const { bucket, key } = this.objectOf('read', location);
    try {
      const output = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!output.Body) throw ioError('read', location, 'the GetObject response had no body', { retriable: true });
      return await output.Body.transformToByteArray();
    } catch (error) {
      throw s3Error('read', location, error);
    }
  }

  async write(location: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const { bucket, key } = this.objectOf('write', location);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: data,
          ContentLength: data.byteLength,
          ContentType: options.contentType,
          IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
        }),
      );
    } catch (error) {
      if (isAmbiguous(error, options) && (await this.holds('write', location, data.byteLength, async () => data))) {
        return;
      }
      throw s3Error('write', location, error, options);
    }
  }

  /**
   * Uploads a local file: one PutObject when it fits in one part, else a multipart upload (partSize, queueSize) that
   * is aborted if any part or the Complete fails. The source file is only read.
   */
  async upload(localPath: string, location: string, options: WriteOptions = {}): Promise<void> {
    const { bucket, key } = this.objectOf('upload', location);
    const source = localPathOf(localPath);
    let size: number;
    try {
      const info = await stat(source);
      if (!info.isFile()) throw ioError('upload', localPath, 'expected a regular file to upload', { retriable: false });
      size = info.size;
    } catch (error) {
      throw fsError('upload', localPath, error);
    }
    const body = createReadStream(source);
    try {
      const upload = new Upload({
        client: this.client,
        partSize: this.partSize,
        queueSize: this.queueSize,
        leavePartsOnError: false,
        params: {
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: size,
          ContentType: options.contentType,
          // Sent on PutObject and CompleteMultipartUpload (the only upload requests whose input has it).
          IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
        },
      });
      await upload.done();
    } catch (error) {
      if ((error as { path?: unknown } | null)?.path === source) throw fsError('upload', localPath, error);
      if (isAmbiguous(error, options) && (await this.holds('upload', location, size, async () => new Uint8Array(await readFile(source))))) {
        return;
      }
      throw s3Error('upload', location, error, options);
    } finally {
      body.destroy();
    }
  }

  async exists(location: string): Promise<boolean> {
    const { bucket, key } = this.objectOf('exists', location);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      const mapped = s3Error('exists', location, error);
      if (mapped.kind === 'not-found') return false;
      throw mapped;
    }
  }

  /** Deleting a missing key is fine (S3 answers 204); a missing bucket is an error. */
  async delete(location: string): Promise<void> {
    const { bucket, key } = this.objectOf('delete', location);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      const mapped = s3Error('delete', location, error);
      if (mapped.kind !== 'not-found') throw mapped;
    }
  }

  /**
   * DeleteObjects in batches of up to 1000 keys per bucket. Every batch is tried; then one error lists each key that
   * failed (`context.failures`, with the S3 code and whether a retry may help).
   */
  async deleteMany(locations: readonly string[]): Promise<void> {
    const byBucket = new Map<string, Map<string, string>>(); // bucket → key → location
    for (const location of locations) {
      const { bucket, key } = this.objectOf('deleteMany', location);
      const keys = byBucket.get(bucket) ?? new Map<string, string>();
      if (!keys.has(key)) keys.set(key, location);
      byBucket.set(bucket, keys);
    }
    const failures: DeleteFailure[] = [];
    for (const [bucket, keys] of byBucket) {
      const all = [...keys.keys()];
      for (let start = 0; start < all.length; start += this.deleteBatchSize) {
        const batch = all.slice(start, start + this.deleteBatchSize);
        failures.push(...(await this.deleteBatch(bucket, batch, keys)));
      }
    }
    throwIfDeleteFailures(failures, locations.length);
  }

  /**
   * Every object whose key starts with the prefix's key (a string prefix: end it with `/` to mean a folder), page by
   * page with ListObjectsV2. Locations keep the prefix's scheme spelling.
   */
  async *list(prefix: string): AsyncIterable<FileInfo> {
    const { scheme, bucket, key } = this.locationOf('list', prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token, MaxKeys: this.listPageSize }),
        );
      } catch (error) {
        throw s3Error('list', prefix, error);
      }
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield {
          location: formatS3Location({ scheme, bucket, key: object.Key }),
          size: object.Size ?? 0,
          lastModifiedMs: object.LastModified?.getTime() ?? 0,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
  }

  private async deleteBatch(bucket: string, batch: string[], locations: Map<string, string>): Promise<DeleteFailure[]> {
    const locationOf = (key: string): string => locations.get(key) ?? `s3://${bucket}/${key}`;
    try {
      const output = await this.client.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      return (output.Errors ?? [])
        .filter((e) => e.Code !== 'NoSuchKey')
        .map((e) => ({
          location: locationOf(e.Key ?? ''),
          code: e.Code ?? 'unknown',
          message: e.Message ?? 'no message',
          retriable: isRetriableS3Code(e.Code),
        }));
    } catch (error) {
      const mapped = s3Error('deleteMany', `s3://${bucket}/`, error);
      const code = typeof mapped.context.code === 'string' ? mapped.context.code : s3NameOf(error);
      return batch.map((key) => ({ location: locationOf(key), code, message: mapped.message, retriable: mapped.retriable }));
    }
  }

  /**
   * After a write was refused on a retry (see isAmbiguous): is the object there the bytes we sent, i.e. did our
   * earlier attempt land and only its response get lost? Reads the object back (rare: only after a lost response).
   */
  private async holds(
    operation: FileIOOperation,
    location: string,
    size: number,
    expected: () => Promise<Uint8Array>,
  ): Promise<boolean> {
    const { bucket, key } = parseS3Location(location);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      if (head.ContentLength !== size) return false;
      const output = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const found = await output.Body?.transformToByteArray();
      return found !== undefined && Buffer.from(found).equals(await expected());
    } catch (error) {
      throw ioError(
        operation,
        location,
        'a retried write was refused, and reading the object back to tell whether it is this write failed; ' +
          'the outcome is unknown',
        { retriable: true, cause: error },
      );
    }
  }

  private locationOf(operation: FileIOOperation, location: string): S3Location {
    if (this.closed) throw closedError(operation, location);
    const parsed = parseS3Location(location);
    if (parsed.bucket === '') throw invalidLocation(location, 's3://bucket/key');
    return parsed;
  }

  private objectOf(operation: FileIOOperation, location: string): S3Location {
    const parsed = this.locationOf(operation, location);
    if (parsed.key === '') throw invalidLocation(location, 's3://bucket/key with a non-empty key');
    return parsed;
  }
}

/**
 * A refusal that may be the echo of our own earlier attempt whose response was lost: the SDK retried, and the retry
 * found the work done. MinIO answers such a retry with 412 (create-only PutObject or CompleteMultipartUpload) or
 * NoSuchUpload (any CompleteMultipartUpload: the upload id is gone once completed).
 */
function isAmbiguous(error: unknown, options: WriteOptions): boolean {
  if (s3AttemptsOf(error) <= 1) return false;
  return (options.ifNoneMatch === true && isPreconditionFailed(error)) || s3NameOf(error) === 'NoSuchUpload';
}

function checkedInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DuckHouseError('config', `S3FileIO: expected ${name} to be an integer from ${min} to ${max}, found ${value}`);
  }
  return value;
}
