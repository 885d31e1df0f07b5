// The HTTP API's error: a status, a short type and a message, sent as `{"error": {"message", "type", "code"}}` (the
// Iceberg REST catalog's shape, so one client-side handler reads both). Routes throw it; the app's error handler
// (server/api-errors.ts) sends it and maps every other error onto it.
// Must never: carry a stack trace, a credential or a server path in its message.

export type ApiErrorType =
  | 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'PayloadTooLarge' | 'UnsupportedMediaType'
  | 'QueryRefused' | 'QueryFailed' | 'QueryTimeout' | 'TooManyRequests' | 'ServiceUnavailable' | 'InternalError';

export class ApiError extends Error {
  constructor(readonly status: number, readonly type: ApiErrorType, message: string, readonly retryAfterSeconds?: number) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiErrorBody {
  error: { message: string; type: string; code: number };
}

export const apiErrorBody = (status: number, type: string, message: string): ApiErrorBody => ({ error: { message, type, code: status } });

/** The JSON schema of the error body, for the OpenAPI document. */
export const API_ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['message', 'type', 'code'],
      properties: { message: { type: 'string' }, type: { type: 'string' }, code: { type: 'integer' } },
    },
  },
} as const;
