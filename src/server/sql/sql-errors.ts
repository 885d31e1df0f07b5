// The errors of the read-only SQL endpoint, and how a DuckDB error message becomes one of them. The HTTP layer
// branches on the class (and a refusal's `reason`) to pick a status:
//   SqlRefusedError      400, or 403 when reason is 'not-readable' (a table, schema or macro the token may not read)
//   SqlQueryError        400: DuckDB rejected or failed the query (parser, binder, catalog, conversion, out of memory…)
//   SqlTimeoutError      422: the query ran past its time limit (not 408: clients and proxies retry a 408 as is)
//   SqlUnavailableError  503 + Retry-After: no usable copy of the views file right now, or every query slot is busy
//   NotFoundError        404: no views file yet (shared/errors.ts)
// Must never: put another tenant's table names into a message (DuckDB's "Did you mean …" hints are cut for tenants).
import type { DuckHouseErrorOptions } from '../../shared/errors.js';
import { DuckHouseError } from '../../shared/errors.js';

/** Why the guard (or the sandbox behind it) refused a query. */
export type SqlRefusalReason =
  /** Not exactly one SELECT: ATTACH, COPY, SET, PRAGMA, several statements, none… */
  | 'statement'
  /** A table function, scalar function or DuckDB catalog view that reads files, settings or other tenants' names. */
  | 'function'
  /** A table, schema or table macro this token may not read (tenants never learn whether it exists). */
  | 'not-readable'
  /** A file path where a table name belongs (`FROM '/etc/passwd'`), or a file access the sandbox stopped. */
  | 'file-access'
  /** The request itself: empty, too long, a limit out of range. */
  | 'request';

/** The query was refused before (or instead of) running; nothing was read. */
export class SqlRefusedError extends DuckHouseError {
  readonly reason: SqlRefusalReason;

  constructor(reason: SqlRefusalReason, message: string, options: DuckHouseErrorOptions = {}) {
    super('data-invalid', message, { ...options, context: { ...options.context, reason } });
    this.reason = reason;
  }
}

/** DuckDB rejected or failed the query; `duckdbType` is DuckDB's error type (`Parser`, `Binder`, `Catalog`, …). */
export class SqlQueryError extends DuckHouseError {
  readonly duckdbType: string;

  constructor(duckdbType: string, message: string, options: DuckHouseErrorOptions = {}) {
    super('data-invalid', message, { ...options, context: { ...options.context, duckdbType } });
    this.duckdbType = duckdbType;
  }
}

/** The query was stopped at its time limit. Not retriable as is: the same query would be stopped again. */
export class SqlTimeoutError extends DuckHouseError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number, maxTimeoutMs: number, options: DuckHouseErrorOptions = {}) {
    super('data-invalid', `query stopped after ${formatSeconds(timeoutMs)} (the limit is ${formatSeconds(timeoutMs)} for this request, at most ${formatSeconds(maxTimeoutMs)}): narrow it with WHERE or LIMIT, or ask for a longer limit`, {
      ...options,
      context: { ...options.context, timeoutMs },
    });
    this.timeoutMs = timeoutMs;
  }
}

/** No copy of the views file can be served now (a writer holds it and no earlier copy exists, or all slots are busy). */
export class SqlUnavailableError extends DuckHouseError {
  constructor(message: string, options: DuckHouseErrorOptions = {}) {
    super('io', message, { retriable: true, ...options });
  }
}

export const formatSeconds = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);

/** `Binder Error: …` → { type: 'Binder', detail: '…' }; a message without DuckDB's prefix has type ''. */
export function splitDuckDBMessage(message: string): { type: string; detail: string } {
  const match = /^(?:Failed to extract statements: )?([A-Za-z][A-Za-z ]*?) Error: ([\s\S]*)$/.exec(message);
  return match ? { type: match[1]!, detail: match[2]! } : { type: '', detail: message };
}

/**
 * Removes what could name objects outside the caller's reach from a DuckDB message: "Did you mean …" hints and
 * candidate lists (they search every schema of the views file).
 */
export function withoutHints(message: string): string {
  return message
    .split('\n')
    .filter((line) => !/^\s*(Did you mean|Candidate (tables|functions|bindings))/i.test(line))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * Maps an error DuckDB threw while running a guarded query: a permission error (the sandbox's second wall) becomes a
 * refusal, the rest a SqlQueryError with DuckDB's message (hints cut when `hideHints`).
 */
export function fromDuckDBError(error: unknown, hideHints: boolean): DuckHouseError {
  if (error instanceof DuckHouseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const { type } = splitDuckDBMessage(message);
  if (type === 'Permission') {
    return new SqlRefusedError('file-access', hideHints
      ? 'the query tried to read a file the SQL endpoint does not serve to this token; it reads the DuckHouse views only'
      : `the query tried to read a file outside the views' directories; the SQL endpoint reads the DuckHouse views only (DuckDB: ${message})`, { cause: error });
  }
  if (type === 'INTERNAL' || type === 'FATAL') {
    return new DuckHouseError('internal', `DuckDB failed internally running the query: ${message}`, { cause: error });
  }
  if (type === 'Out of Memory') {
    return new SqlQueryError(type, `the query needs more memory than the SQL endpoint allows: ${hideHints ? withoutHints(message) : message}`, { cause: error });
  }
  return new SqlQueryError(type || 'Unknown', hideHints ? withoutHints(message) : message, { cause: error });
}
