// The Iceberg REST catalog's error model: every failure is `{"error": {"message", "type", "code"}}` with the HTTP
// status in `code` and a Java exception name in `type`, because Java clients (Trino, Spark) pick the exception to
// throw from the status and that name. This module maps DuckHouse errors onto it.
// Must never: put a stack trace, a credential or a server path of ours into a response body.
import {
  CommitConflictError,
  CommitStateUnknownError,
  DuckHouseError,
  FileExistsError,
  MetadataInvalidError,
  NotFoundError,
} from '../../../shared/errors.js';

/** The `type` names clients branch on (org.apache.iceberg.exceptions.*). */
export type RestErrorType =
  | 'BadRequestException'
  | 'NotAuthorizedException'
  | 'ForbiddenException'
  | 'NoSuchNamespaceException'
  | 'NoSuchTableException'
  | 'NoSuchViewException'
  | 'NotFoundException'
  | 'AlreadyExistsException'
  | 'NamespaceNotEmptyException'
  | 'CommitFailedException'
  | 'CommitStateUnknownException'
  | 'UnsupportedOperationException'
  | 'UnprocessableEntityException'
  | 'ServiceUnavailableException'
  | 'InternalServerError';

/** An error that already knows its REST status and type. */
export class RestError extends Error {
  readonly status: number;
  readonly type: RestErrorType;

  constructor(status: number, type: RestErrorType, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RestError';
    this.status = status;
    this.type = type;
  }
}

export const badRequest = (message: string, cause?: unknown): RestError => new RestError(400, 'BadRequestException', message, { cause });
export const forbidden = (message: string): RestError => new RestError(403, 'ForbiddenException', message);
export const noSuchNamespace = (name: string): RestError => new RestError(404, 'NoSuchNamespaceException', `namespace does not exist: ${name}`);
export const noSuchTable = (name: string): RestError => new RestError(404, 'NoSuchTableException', `table does not exist: ${name}`);

export interface ErrorModel {
  error: { message: string; type: string; code: number };
}

export const errorBody = (status: number, type: string, message: string): ErrorModel => ({ error: { message, type, code: status } });

/**
 * The REST status and type of any error a handler threw. `notFound` says which 404 type a NotFoundError becomes on
 * this route (a table route reports NoSuchTable unless the message is about the namespace).
 */
export function toRestError(error: unknown, notFound: 'namespace' | 'table' = 'table'): RestError {
  if (error instanceof RestError) return error;
  if (error instanceof NotFoundError) {
    const type = notFound === 'namespace' || /namespace .* does not exist/.test(error.message) ? 'NoSuchNamespaceException' : 'NoSuchTableException';
    return new RestError(404, type, error.message, { cause: error });
  }
  if (error instanceof FileExistsError) {
    const type = /is not empty|has child namespaces/.test(error.message) ? 'NamespaceNotEmptyException' : 'AlreadyExistsException';
    return new RestError(409, type, error.message, { cause: error });
  }
  if (error instanceof CommitConflictError) return new RestError(409, 'CommitFailedException', error.message, { cause: error });
  if (error instanceof CommitStateUnknownError) return new RestError(500, 'CommitStateUnknownException', error.message, { cause: error });
  if (error instanceof MetadataInvalidError) return badRequest(error.message, error);
  if (error instanceof DuckHouseError && error.kind === 'config') return badRequest(error.message, error);
  if (error instanceof DuckHouseError && error.retriable) return new RestError(503, 'ServiceUnavailableException', error.message, { cause: error });
  return new RestError(500, 'InternalServerError', 'internal error; see the server log');
}
