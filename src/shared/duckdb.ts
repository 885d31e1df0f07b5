// Opening DuckDB (@duckdb/node-api) the DuckHouse way: extension auto-install and auto-load are off, so a missing
// extension fails at once with a clear error instead of trying a download this network refuses.
import type { DuckDBConnection} from '@duckdb/node-api';
import { DuckDBInstance } from '@duckdb/node-api';

export async function openDuckDB(file = ':memory:'): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  const instance = await DuckDBInstance.create(file, {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const connection = await instance.connect();
  return { instance, connection };
}

/** Quotes an SQL identifier for DuckDB. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes an SQL string literal for DuckDB. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Runs statements in one DuckDB transaction; on failure rolls back and throws what `describe` makes of the error
 * (the error itself when it returns undefined).
 */
export async function runInTransaction(connection: DuckDBConnection, statements: readonly string[], describe: (error: unknown) => Error | undefined = () => undefined): Promise<void> {
  await connection.run('BEGIN TRANSACTION');
  try {
    for (const sql of statements) await connection.run(sql);
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw describe(error) ?? error;
  }
}
