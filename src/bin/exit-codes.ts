// The `duckhouse` exit codes, one table for every command (README, "Exit codes"), and the mapping of an error to its
// code, so scripts can tell a typo from a broken service from a run that finished with rejects.
import { CommanderError } from 'commander';
import { DuckHouseError } from '../shared/errors.js';

export const EXIT = {
  /** Done. */
  OK: 0,
  /** Failed: the message says why. */
  FAILURE: 1,
  /** Bad usage or settings: an unknown flag, a bad value, a config-file error. Nothing was done. */
  USAGE: 2,
  /** Finished, but something needs attention: rejects over --max-rejects, a component not up, a failed job. */
  ATTENTION: 3,
  /** What was named does not exist: a table, a tenant, a token, a snapshot. */
  NOT_FOUND: 4,
  /** A service DuckHouse needs is not running or not reachable (start it with `duckhouse stack up`). */
  UNAVAILABLE: 5,
  /** Stopped by a second SIGINT/SIGTERM. */
  INTERRUPTED: 130,
} as const;

export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (error instanceof DuckHouseError) {
    if (error.kind === 'config') return EXIT.USAGE;
    if (error.kind === 'not-found') return EXIT.NOT_FOUND;
    if (error.kind === 'stack') return EXIT.UNAVAILABLE;
    return EXIT.FAILURE;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') return EXIT.UNAVAILABLE;
  if (error instanceof Error && /KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded|Connection refused|ECONNREFUSED/.test(`${error.name} ${error.message}`)) return EXIT.UNAVAILABLE;
  return EXIT.FAILURE;
}
