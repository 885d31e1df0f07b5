// Maps @aws-sdk/client-s3 failures to DuckHouse errors: 404 → NotFoundError naming the location, 412 on a create-only
// write → FileExistsError, everything else → DuckHouseError kind 'io', retriable for 5xx, throttling and network
// failures. Must never: copy request headers, credentials or object bytes into a message or context.
import { DuckHouseError } from '../../shared/errors.js';
import { type FileIOOperation, fileExistsError, ioError, notFoundError } from './io-errors.js';

/** Error names (S3 codes and SDK names) where trying again later may succeed. */
const RETRIABLE_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'BandwidthLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'InternalError',
  'ServiceUnavailable',
  // 409 from AWS when a conditional write raced another one on the same key: retry.
  'ConditionalRequestConflict',
  'OperationAborted',
]);

/** Socket-level errno codes (node http, undici). */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number; attempts?: number; requestId?: string };
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

export function s3StatusOf(error: unknown): number | undefined {
  return shape(error).$metadata?.httpStatusCode;
}

export function s3NameOf(error: unknown): string {
  const { name } = shape(error);
  return typeof name === 'string' ? name : 'Error';
}

/** How many attempts the SDK's retry middleware made (1 when it did not retry). */
export function s3AttemptsOf(error: unknown): number {
  return shape(error).$metadata?.attempts ?? 1;
}

export function isPreconditionFailed(error: unknown): boolean {
  return s3StatusOf(error) === 412 || s3NameOf(error) === 'PreconditionFailed';
}

/** True for 5xx, 408/429, throttling codes and network failures (also when wrapped as a cause). */
export function isRetriableS3Error(error: unknown, depth = 0): boolean {
  const e = shape(error);
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  if (RETRIABLE_NAMES.has(s3NameOf(error))) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e.$retryable !== undefined) return true;
  return e.cause !== undefined && depth < 5 && isRetriableS3Error(e.cause, depth + 1);
}

/** A per-key error code from DeleteObjects (no HTTP status there). */
export function isRetriableS3Code(code: string | undefined): boolean {
  return code !== undefined && RETRIABLE_NAMES.has(code);
}

/**
 * Maps any failure of an S3 call. `ifNoneMatch` says whether the call was a create-only write, so a 412 means "the
 * object exists" (on other calls a 412 is an ordinary failure).
 */
export function s3Error(
  operation: FileIOOperation,
  location: string,
  error: unknown,
  options: { ifNoneMatch?: boolean } = {},
): DuckHouseError {
  if (error instanceof DuckHouseError) return error;
  const e = shape(error);
  const status = e.$metadata?.httpStatusCode;
  const name = s3NameOf(error);
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : 'no message';
  if (name === 'NoSuchBucket') {
    return ioError(operation, location, `the bucket does not exist (NoSuchBucket, HTTP ${status ?? 404})`, {
      retriable: false,
      cause: error,
      context: { code: name, httpStatusCode: status },
    });
  }
  if (name === 'NoSuchUpload') {
    return ioError(operation, location, `the multipart upload was gone before it completed (NoSuchUpload): ${message}`, {
      retriable: true,
      cause: error,
      context: { code: name, httpStatusCode: status },
    });
  }
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return notFoundError(operation, location, error);
  if (options.ifNoneMatch && isPreconditionFailed(error)) return fileExistsError(operation, location, error);
  const code = typeof e.code === 'string' ? e.code : undefined;
  const what = status !== undefined ? `${name} (HTTP ${status})` : code !== undefined && code !== name ? `${name} ${code}` : name;
  return ioError(operation, location, `${what}: ${message}`, {
    retriable: isRetriableS3Error(error),
    cause: error,
    context: {
      code: name === 'Error' && code !== undefined ? code : name,
      httpStatusCode: status,
      requestId: e.$metadata?.requestId,
      attempts: e.$metadata?.attempts,
    },
  });
}
