// The errors every FileIO implementation throws, built in one place so their messages read alike: operation + location
// + what was expected and found. Must never: put credentials, request headers or object contents into a message.
import { DuckHouseError, FileExistsError, NotFoundError } from '../../shared/errors.js';

export type FileIOOperation = 'read' | 'write' | 'upload' | 'exists' | 'delete' | 'deleteMany' | 'list';

/** One object that `deleteMany` could not delete; carried in the thrown error's `context.failures`. */
export interface DeleteFailure {
  readonly location: string;
  /** The store's error code (S3 `AccessDenied`, errno `EACCES`, …). */
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}

export function notFoundError(operation: FileIOOperation, location: string, cause?: unknown): NotFoundError {
  return new NotFoundError(`${operation} ${location}: expected an object there, found none`, {
    cause,
    context: { operation, location },
  });
}

export function fileExistsError(operation: FileIOOperation, location: string, cause?: unknown): FileExistsError {
  return new FileExistsError(
    `${operation} ${location}: expected no object there (ifNoneMatch, create only), found one; it was not overwritten`,
    { cause, context: { operation, location } },
  );
}

export function ioError(
  operation: FileIOOperation,
  location: string,
  detail: string,
  options: { retriable: boolean; cause?: unknown; context?: Record<string, unknown> },
): DuckHouseError {
  return new DuckHouseError('io', `${operation} ${location} failed: ${detail}`, {
    retriable: options.retriable,
    cause: options.cause,
    context: { ...options.context, operation, location },
  });
}

export function closedError(operation: FileIOOperation, location: string): DuckHouseError {
  return new DuckHouseError('internal', `${operation} ${location}: this FileIO was closed`, {
    context: { operation, location },
  });
}

/** Throws one error for all failed deletes of a `deleteMany` (nothing when there were none). */
export function throwIfDeleteFailures(failures: readonly DeleteFailure[], total: number): void {
  if (failures.length === 0) return;
  const shown = failures
    .slice(0, 3)
    .map((f) => `${f.location} (${f.code}: ${f.message})`)
    .join('; ');
  const more = failures.length > 3 ? `; and ${failures.length - 3} more` : '';
  throw new DuckHouseError('io', `deleteMany: expected ${total} deletes to succeed, ${failures.length} failed: ${shown}${more}`, {
    retriable: failures.every((f) => f.retriable),
    context: { operation: 'deleteMany', failures },
  });
}

/** errno codes where trying again later may succeed. */
const RETRIABLE_ERRNO = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'EINTR', 'ECONNRESET']);

export function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Maps a node:fs error; ENOENT becomes NotFoundError naming the location. */
export function fsError(operation: FileIOOperation, location: string, error: unknown): DuckHouseError {
  if (error instanceof DuckHouseError) return error;
  const code = errnoOf(error) ?? 'unknown';
  if (code === 'ENOENT') return notFoundError(operation, location, error);
  const message = error instanceof Error ? error.message : String(error);
  return ioError(operation, location, `${code}: ${message}`, { retriable: RETRIABLE_ERRNO.has(code), cause: error, context: { code } });
}
