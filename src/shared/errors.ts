// The one error base class of DuckHouse (ARCHITECTURE.md, house style): every error carries a `kind`, whether a retry
// may help, its cause and structured context. Subclass only where a caller branches on the type. Never throw strings.

export type ErrorKind =
  | 'config'
  | 'stack'
  | 'io'
  | 'data-invalid'
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
