// One query's DuckDB: a fresh in-memory instance (few threads, a memory limit, no spilling to disk, no extension
// installs or loads) that ATTACHes a private copy of the views file READ_ONLY and USEs it, so the views, which bind in
// their own database, work. Then it locks itself down: file access only below the views' directories
// (allowed_directories), external access off, configuration locked; ATTACH, COPY … TO, INSTALL and SET fail from
// there on whatever the guard let through. Results are streamed and read up to a row cap.
// Must never: run user SQL before lockDown(), open the live views file, or read more rows than asked (+1 to know
// whether the result was truncated).
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../../shared/duckdb.js';
import type { Builtins, SchemaObjects } from './sql-guard.js';

export interface SandboxOptions {
  /** The copy of the views file to attach (read-only). */
  copyPath: string;
  /** The catalog name the copy is attached under. */
  alias: string;
  threads: number;
  /** DuckDB's memory_limit, e.g. '512MB'. */
  memoryLimit: string;
}

export interface SqlColumn {
  readonly name: string;
  /** DuckDB's type, e.g. `BIGINT`, `DECIMAL(18,3)`, `STRUCT(a INTEGER)`. */
  readonly type: string;
}

export interface SandboxRows {
  readonly columns: SqlColumn[];
  /** JSON-safe: BIGINT and HUGEINT as numbers when a double holds them exactly, else strings; DECIMAL as strings, dates and timestamps as DuckDB's text, NaN as "NaN". */
  readonly rows: unknown[][];
  readonly truncated: boolean;
}

type Row = Record<string, string | boolean | null>;

/** DuckDB's own functions and catalog views, as the guard needs them. */
export async function readBuiltins(connection: DuckDBConnection): Promise<Builtins> {
  const functions = (await connection.runAndReadAll(
    "SELECT DISTINCT lower(function_name) AS name, function_type AS type FROM duckdb_functions() WHERE database_name = 'system'",
  )).getRowObjectsJS() as Row[];
  const scalars = new Set(functions.filter((f) => ['scalar', 'aggregate', 'macro'].includes(String(f.type))).map((f) => String(f.name)));
  const tableOnly = new Set(functions.filter((f) => !scalars.has(String(f.name))).map((f) => String(f.name)));
  const views = (await connection.runAndReadAll(
    "SELECT DISTINCT lower(view_name) AS name FROM duckdb_views() WHERE database_name = 'system'",
  )).getRowObjectsJS() as Row[];
  return { scalars, tableOnly, catalogViews: new Set(views.map((v) => String(v.name))) };
}

/** 64- and 128-bit integer types: DuckDB's JSON gives them as strings; a value a double holds exactly becomes a number. */
const WIDE_INTEGERS: ReadonlySet<string> = new Set(['BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT']);

function safeInteger(value: unknown): unknown {
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) return value;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

export class Sandbox {
  private constructor(private readonly instance: DuckDBInstance, readonly connection: DuckDBConnection, private readonly alias: string) {}

  static async open(options: SandboxOptions): Promise<Sandbox> {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(options.threads),
      memory_limit: options.memoryLimit,
      temp_directory: '',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      allow_community_extensions: 'false',
      allow_unsigned_extensions: 'false',
    });
    let connection: DuckDBConnection | undefined;
    try {
      connection = await instance.connect();
      await connection.run(`ATTACH ${quoteLiteral(options.copyPath)} AS ${quoteIdent(options.alias)} (READ_ONLY)`);
      return new Sandbox(instance, connection, options.alias);
    } catch (error) {
      connection?.closeSync();
      instance.closeSync();
      throw error;
    }
  }

  /** The copy's schemas with their tables, views and table macros, keyed by lower-case schema name. */
  async schemas(): Promise<Map<string, SchemaObjects>> {
    const alias = quoteLiteral(this.alias);
    const rows = (await this.connection.runAndReadAll(
      `SELECT 'schema' AS kind, schema_name AS schema, NULL AS name FROM duckdb_schemas() WHERE database_name = ${alias}
       UNION ALL SELECT 'relation', schema_name, table_name FROM duckdb_tables() WHERE database_name = ${alias}
       UNION ALL SELECT 'relation', schema_name, view_name FROM duckdb_views() WHERE database_name = ${alias} AND NOT internal
       UNION ALL SELECT 'macro', schema_name, function_name FROM duckdb_functions() WHERE database_name = ${alias} AND function_type = 'table_macro'`,
    )).getRowObjectsJS() as Row[];
    const schemas = new Map<string, { name: string; relations: Set<string>; tableMacros: Set<string> }>();
    for (const row of rows) {
      const schema = String(row.schema);
      const key = schema.toLowerCase();
      const objects = schemas.get(key) ?? { name: schema, relations: new Set<string>(), tableMacros: new Set<string>() };
      schemas.set(key, objects);
      if (row.kind === 'relation') objects.relations.add(String(row.name).toLowerCase());
      if (row.kind === 'macro') objects.tableMacros.add(String(row.name).toLowerCase());
    }
    return schemas;
  }

  /** DuckDB's own functions and catalog views (the same for every sandbox of one DuckDB version). */
  builtins(): Promise<Builtins> {
    return readBuiltins(this.connection);
  }

  /**
   * Makes `schema` of the copy the default (or the empty in-memory database when it is missing, so unqualified names
   * resolve nowhere), then locks down: files readable only below `readableDirs`, external access off, settings locked.
   */
  async lockDown(schema: string | undefined, readableDirs: readonly string[]): Promise<void> {
    await this.connection.run(schema === undefined ? 'USE memory' : `USE ${quoteIdent(this.alias)}.${quoteIdent(schema)}`);
    const dirs = readableDirs.map((dir) => quoteLiteral(dir.endsWith('/') ? dir : `${dir}/`));
    await this.connection.run(`SET allowed_directories = [${dirs.join(', ')}]`);
    await this.connection.run('SET enable_external_access = false');
    await this.connection.run('SET lock_configuration = true');
  }

  /** Runs one (guarded) query, reading at most maxRows + 1 rows of its streamed result. */
  async run(sql: string, maxRows: number): Promise<SandboxRows> {
    const reader = await this.connection.streamAndReadUntil(sql, maxRows + 1);
    const columns = reader.columnNames().map((name, i) => ({ name, type: reader.columnType(i).toString() }));
    const truncated = reader.currentRowCount > maxRows;
    const rows = (reader.getRowsJson() as unknown[][]).map((row) => row.map((value, i) => (WIDE_INTEGERS.has(columns[i]!.type) ? safeInteger(value) : value)));
    return { columns, rows: truncated ? rows.slice(0, maxRows) : rows, truncated };
  }

  interrupt(): void {
    this.connection.interrupt();
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
