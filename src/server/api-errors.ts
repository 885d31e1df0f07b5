// The HTTP API's error mapping (the error itself: shared/api-error.ts): every error a route throws, DuckHouse's own
// and the SQL endpoint's, becomes one status and type.
// Must never: put a stack trace, a credential or a server path into a response body (500s say only "internal error").
import { ApiError } from '../shared/api-error.js';
import { DuckHouseError, NotFoundError } from '../shared/errors.js';
import { SqlQueryError, SqlRefusedError, SqlTimeoutError, SqlUnavailableError } from './sql/sql-errors.js';

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof SqlRefusedError) return new ApiError(error.reason === 'not-readable' ? 403 : 400, 'QueryRefused', error.message);
  if (error instanceof SqlTimeoutError) return new ApiError(422, 'QueryTimeout', error.message);
  if (error instanceof SqlQueryError) return new ApiError(400, 'QueryFailed', error.message);
  if (error instanceof SqlUnavailableError) return new ApiError(503, 'ServiceUnavailable', error.message, 2);
  if (error instanceof NotFoundError) return new ApiError(404, 'NotFound', error.message);
  if (error instanceof DuckHouseError) {
    if (error.kind === 'config' || error.kind === 'data-invalid' || error.kind === 'schema-incompatible') return new ApiError(400, 'BadRequest', error.message);
    if (error.kind === 'not-found') return new ApiError(404, 'NotFound', error.message);
    if (error.retriable || error.kind === 'stack') return new ApiError(503, 'ServiceUnavailable', `${error.message} (retry later)`, 5);
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (status === 413) return new ApiError(413, 'PayloadTooLarge', (error as Error).message);
  if (status === 415) return new ApiError(415, 'UnsupportedMediaType', (error as Error).message);
  if (status !== undefined && status >= 400 && status < 500) return new ApiError(status, 'BadRequest', (error as Error).message);
  return new ApiError(500, 'InternalError', 'internal error: the server log has the details');
}
