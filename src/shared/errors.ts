// The one error base class of DuckHouse (ARCHITECTURE.md, house style): every error carries a `kind`, whether a retry
// may help, its cause and structured context. Subclass only where a caller branches on the type. Never throw strings.

export type ErrorKind =
  | 'config'
  | 'stack'
  | 'io'
  | 'data-invalid'
  | 'metadata-invalid'
  | 'schema-incompatible'
  | 'commit-conflict'
  | 'commit-state-unknown'
  | 'not-found'
  | 'internal';

export interface DuckHouseErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  context?: Record<string, unknown>;
}

export class DuckHouseError extends Error {
  readonly kind: ErrorKind;
  readonly retriable: boolean;
  readonly context: Record<string, unknown>;

  constructor(kind: ErrorKind, message: string, options: DuckHouseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }
}

/** A stack component could not be installed, started or reached; `component` and `logFile` say where to look. */
export class StackError extends DuckHouseError {
  readonly component: string;
  readonly logFile: string | undefined;

  constructor(component: string, message: string, options: DuckHouseErrorOptions & { logFile?: string } = {}) {
    const where = options.logFile ? ` (log: ${options.logFile})` : '';
    super('stack', `${component}: ${message}${where}`, {
      ...options,
      context: { ...options.context, component, logFile: options.logFile },
    });
    this.component = component;
    this.logFile = options.logFile;
  }
}

/** Renders any thrown value as one line, for CLI output. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Input that breaks its contract; the context says where (file and line, or topic, partition and offset). */
export class DataInvalidError extends DuckHouseError {
  constructor(message: string, options: DuckHouseErrorOptions = {}) {
    super('data-invalid', message, options);
  }
}

/** Iceberg metadata (table metadata JSON, manifest list, manifest) that is missing, unreadable or breaks the spec. */
export class MetadataInvalidError extends DuckHouseError {
  constructor(message: string, options: DuckHouseErrorOptions = {}) {
    super('metadata-invalid', message, options);
  }
}

/** A schema change that Iceberg cannot apply safely (for example long → int); the message gives the reason. */
export class SchemaIncompatibleError extends DuckHouseError {
  constructor(message: string, options: DuckHouseErrorOptions = {}) {
    super('schema-incompatible', message, options);
  }
}

/** A commit's requirements failed against the current table: retriable after a reload; says expected vs found. */
export class CommitConflictError extends DuckHouseError {
  constructor(message: string, options: DuckHouseErrorOptions = {}) {
    super('commit-conflict', message, { retriable: true, ...options });
  }
}

/**
 * The catalog may or may not have applied a commit (timeout, 5xx, lost connection). Never delete files written for
 * it: they may be referenced by the table now.
 */
export class CommitStateUnknownError extends DuckHouseError {
  constructor(message: string, options: DuckHouseErrorOptions = {}) {
    super('commit-state-unknown', message, options);
  }
}

/** A table, namespace, snapshot or file that does not exist. */
export class NotFoundError extends DuckHouseError {
  constructor(message: string, options: DuckHouseErrorOptions = {}) {
    super('not-found', message, options);
  }
}

/**
 * A create-only write (`ifNoneMatch`: S3 `If-None-Match: *`, local link/`wx`) found an object already at the location;
 * nothing was overwritten. Callers branch on it (a conditional pointer create lost its race).
 */
export class FileExistsError extends DuckHouseError {
  constructor(message: string, options: DuckHouseErrorOptions = {}) {
    super('io', message, options);
  }
}

/**
 * The sink's offset fence: a table already records other offsets for a topic-partition than the ones a commit was
 * built on (another sink process took the partition over, or a stale one committed). Never retried as is: the sink
 * drops its batch for that table and reads again from the offsets the table records.
 */
export class PartitionFencedError extends CommitConflictError {
  constructor(message: string, options: DuckHouseErrorOptions = {}) {
    super(message, { ...options, retriable: false });
  }
}
