// The commit loop every table action goes through: prepare {updates, requirements} against the latest table, ask
// the catalog to commit, and on a conflict reload and prepare again (with backoff). An unknown outcome is passed
// up untouched: nothing the action wrote is deleted, since the table may reference it now.
import { setTimeout as sleep } from 'node:timers/promises';
import { CommitConflictError, CommitStateUnknownError } from '../../shared/errors.js';
import type { Catalog, Table, TableIdentifier } from '../catalogs/catalog.js';
import type { TableRequirement, TableUpdate } from '../spec/table-update.js';

export interface PendingCommit {
  readonly updates: readonly TableUpdate[];
  readonly requirements: readonly TableRequirement[];
}

/** One table change. `prepare` may be called again after a conflict, with a newer base. */
export interface TableAction {
  readonly name: string;
  prepare(base: Table): Promise<PendingCommit>;
  /** Called after the catalog confirmed the commit (for example to delete files no longer referenced). */
  committed?(result: Table, base: Table): Promise<void>;
  /** Called when the commit definitely failed: remove what only this action wrote. Never after an unknown outcome. */
  abort?(base: Table): Promise<void>;
  /**
   * Called when the catalog could not tell whether the commit landed (CommitStateUnknownError). From then on the
   * action must delete nothing it wrote, even if it is committed again: the table may reference those files.
   */
  outcomeUnknown?(): void;
}

export interface CommitOptions {
  /** Attempts after the first one (Iceberg's commit.retry.num-retries defaults to 4; writers here race more). */
  retries?: number;
  minWaitMs?: number;
  maxWaitMs?: number;
  /** Start from this already-loaded table instead of loading it. */
  base?: Table;
}

export interface CommitResult {
  readonly table: Table;
  readonly attempts: number;
}

export async function commitAction(catalog: Catalog, identifier: TableIdentifier, action: TableAction, options: CommitOptions = {}): Promise<CommitResult> {
  const retries = options.retries ?? 10;
  const minWait = options.minWaitMs ?? 20;
  const maxWait = options.maxWaitMs ?? 2_000;
  let base = options.base ?? (await catalog.loadTable(identifier));
  for (let attempt = 1; ; attempt++) {
    let pending: PendingCommit;
    try {
      pending = await action.prepare(base);
    } catch (error) {
      await action.abort?.(base);
      throw error;
    }
    if (pending.updates.length === 0) {
      await action.committed?.(base, base);
      return { table: base, attempts: attempt };
    }
    let table: Table;
    try {
      table = await catalog.commitTable(identifier, pending.requirements, pending.updates);
    } catch (error) {
      if (error instanceof CommitStateUnknownError) {
        action.outcomeUnknown?.();
        throw error;
      }
      if (!(error instanceof CommitConflictError) || !error.retriable || attempt > retries) {
        await action.abort?.(base);
        if (error instanceof CommitConflictError && error.retriable) {
          throw new CommitConflictError(`${action.name}: gave up after ${attempt} attempts: ${error.message}`, { cause: error, retriable: false, context: error.context });
        }
        throw error;
      }
      // Full jitter exponential backoff, then re-apply on the latest metadata.
      await sleep(Math.random() * Math.min(maxWait, minWait * 2 ** (attempt - 1)));
      base = await catalog.loadTable(identifier);
      continue;
    }
    // The commit landed: from here on nothing may abort it or retry it. An error from the action's post-commit step
    // (for example expire-snapshots deleting files) reaches the caller, but the table keeps the commit.
    await action.committed?.(table, base);
    return { table, attempts: attempt };
  }
}
