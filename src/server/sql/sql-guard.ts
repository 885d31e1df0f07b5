// The SQL endpoint's guard: decides from DuckDB's own parse of a query whether it may run, before anything runs.
// Exactly one statement, and a SELECT (WITH, VALUES, set operations, DESCRIBE/SUMMARIZE of a query are SELECTs);
// then every table reference, table function and function call in its syntax tree (json_serialize_sql) is checked:
//   - tables: only the views' own schemas the scope may read (ownsDuckDBSchema), never _duckhouse, information_schema,
//     pg_catalog or DuckDB's catalogs and catalog views; an unqualified name must be a CTE in scope or exist in the
//     scope's default schema (a tenant's own; `main` for an admin), since DuckDB would otherwise look further along
//     its search path (system.main.duckdb_tables, pg_catalog.pg_settings…) or read a file (`FROM '/etc/passwd'`);
//   - table functions: an allowlist of pure builtins, or table macros of a readable schema (the views' time travel);
//   - functions: a denylist of what reveals settings, files or other schemas' objects.
// The sandbox (sandbox.ts) is the second wall: no file access outside the views' files, configuration locked.
// Must never: run the query, or let a name through that DuckDB could resolve to something the checks did not see.
import type { DuckDBConnection } from '@duckdb/node-api';
import { ownsDuckDBSchema } from '../../tenants/scope.js';
import type { AccessScope } from '../../tenants/scope.js';
import type { SqlRefusalReason } from './sql-errors.js';
import { SqlQueryError, SqlRefusedError, splitDuckDBMessage } from './sql-errors.js';

/** What the guard knows of the attached copy of the views file and of DuckDB's builtins. */
export interface GuardCatalog {
  /** The name the copy is attached under. */
  readonly alias: string;
  /** The schema unqualified names resolve to (a tenant's own, `main` for an admin); undefined: none exists. */
  readonly defaultSchema: string | undefined;
  /** The copy's schemas by lower-case name (DuckDB matches names case-insensitively). */
  readonly schemas: ReadonlyMap<string, SchemaObjects>;
  readonly builtins: Builtins;
}

export interface SchemaObjects {
  readonly name: string;
  /** Tables and views, lower-case. */
  readonly relations: ReadonlySet<string>;
  /** Table macros (the views' `<table>$at_snapshot`, `<table>$as_of`), lower-case. */
  readonly tableMacros: ReadonlySet<string>;
}

export interface Builtins {
  /** Scalar, aggregate and macro functions of DuckDB's system catalog, lower-case. */
  readonly scalars: ReadonlySet<string>;
  /** Table functions, table macros and pragmas that are not also scalar functions, lower-case. */
  readonly tableOnly: ReadonlySet<string>;
  /** DuckDB's catalog views (duckdb_tables, sqlite_master, pg_class, information_schema.tables…), lower-case. */
  readonly catalogViews: ReadonlySet<string>;
}

/** Table functions that read nothing but their arguments. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  'range', 'generate_series', 'unnest', 'repeat', 'repeat_row', 'json_each', 'json_tree', 'pg_timezone_names', 'icu_calendar_names',
]);

/** Functions that reveal settings, the environment or other schemas' objects, write logs, or sleep uninterruptibly. */
const DENIED_FUNCTIONS: ReadonlySet<string> = new Set([
  'current_setting', 'getenv', 'json_serialize_plan', 'write_log', 'sleep_ms', 'nextval', 'currval', 'format_type', 'get_block_size',
]);
/** pg_catalog macros read DuckDB's catalog for any object id (pg_get_viewdef, col_description…). */
const DENIED_FUNCTION_PATTERNS: readonly RegExp[] = [/^pg_(?!typeof$|size_pretty$)/, /_description$/, /^duckdb_/, /^pragma_/];
/** Schemas never readable, whatever the token. */
const DENIED_SCHEMAS: ReadonlyMap<string, string> = new Map([
  ['_duckhouse', "is DuckHouse's own bookkeeping"],
  ['information_schema', "is DuckDB's catalog (it lists every tenant's tables)"],
  ['pg_catalog', "is DuckDB's catalog (it lists every tenant's tables)"],
]);
const SYSTEM_CATALOGS: ReadonlySet<string> = new Set(['system', 'temp', 'memory']);
const QUERY_NODES: ReadonlySet<string> = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE', 'CTE_NODE']);
const TABLE_REFS: ReadonlySet<string> = new Set(['BASE_TABLE', 'JOIN', 'SUBQUERY', 'TABLE_FUNCTION', 'EXPRESSION_LIST', 'EMPTY', 'PIVOT', 'SHOW_REF']);
/** First words of statements that are not SELECTs, to name them in the refusal. */
const STATEMENT_WORDS: ReadonlySet<string> = new Set([
  'ATTACH', 'DETACH', 'COPY', 'INSTALL', 'LOAD', 'SET', 'RESET', 'PRAGMA', 'CALL', 'EXPORT', 'IMPORT', 'CREATE', 'INSERT',
  'UPDATE', 'DELETE', 'DROP', 'ALTER', 'TRUNCATE', 'MERGE', 'USE', 'BEGIN', 'START', 'COMMIT', 'ROLLBACK', 'ABORT', 'END',
  'CHECKPOINT', 'VACUUM', 'ANALYZE', 'EXPLAIN', 'PREPARE', 'EXECUTE', 'DEALLOCATE', 'PIVOT', 'UNPIVOT', 'COMMENT', 'UPSERT',
]);
const ONE_SELECT = 'the SQL endpoint runs one read-only SELECT';

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const lower = (name: string): string => name.toLowerCase();
const refuse = (reason: SqlRefusalReason, message: string): never => {
  throw new SqlRefusedError(reason, message);
};

/** The first word of the SQL after comments, white space and parentheses, upper-case ('' when none). */
export function firstWord(sql: string): string {
  let rest = sql;
  for (;;) {
    const trimmed = rest.replace(/^[\s(]+/, '');
    if (trimmed.startsWith('--')) rest = trimmed.replace(/^--[^\n]*/, '');
    else if (trimmed.startsWith('/*')) rest = skipBlockComment(trimmed);
    else return (/^[A-Za-z_]+/.exec(trimmed)?.[0] ?? '').toUpperCase();
  }
}

/** Skips a leading block comment; like PostgreSQL's (and DuckDB's) parser, block comments nest. */
function skipBlockComment(sql: string): string {
  let depth = 0;
  for (let i = 0; i < sql.length; i++) {
    if (sql.startsWith('/*', i)) {
      depth++;
      i++;
    } else if (sql.startsWith('*/', i)) {
      depth--;
      i++;
      if (depth === 0) return sql.slice(i + 1);
    }
  }
  return '';
}

/**
 * Checks `sql` on a connection of the locked sandbox (the parse may expand PRAGMAs, which then cannot touch files):
 * throws SqlRefusedError for anything but one allowed SELECT, SqlQueryError for a syntax error.
 */
export async function guardSql(connection: DuckDBConnection, sql: string, scope: AccessScope, catalog: GuardCatalog): Promise<void> {
  const serialized = (await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql])).getRows()[0]?.[0];
  const parsed: unknown = JSON.parse(String(serialized));
  if (!isNode(parsed)) throw new SqlQueryError('Internal', 'json_serialize_sql returned no object');
  if (parsed.error === true) {
    if (parsed.error_type === 'parser') throw new SqlQueryError('Parser', `Parser Error: ${text(parsed.error_message)}`);
    if (/only SELECT statements/i.test(text(parsed.error_message))) await refuseNonSelect(connection, sql);
    throw new SqlQueryError('Parser', `DuckDB could not read the statement: ${text(parsed.error_message)}`);
  }
  const statements = Array.isArray(parsed.statements) ? parsed.statements : [];
  if (statements.length !== 1) refuseCount(statements.length, sql);
  checkStatement(statements[0], scope, catalog);
  let count: number;
  try {
    count = (await connection.extractStatements(sql)).count;
  } catch (error) {
    throw new SqlRefusedError('statement', `DuckDB refused to read the statements (${splitDuckDBMessage((error as Error).message).detail}): ${ONE_SELECT}`, { cause: error });
  }
  if (count !== 1) refuseCount(count, sql);
}

/** Names a statement that is not a SELECT (or says how many there are) and throws. */
async function refuseNonSelect(connection: DuckDBConnection, sql: string): Promise<never> {
  const count = await connection.extractStatements(sql).then((e) => e.count, () => undefined);
  if (count !== undefined && count > 1) refuseCount(count, sql);
  let word = firstWord(sql);
  if (word === 'FORCE') word = `FORCE ${firstWord(sql.replace(/^[\s\S]*?FORCE/i, ''))}`;
  if (STATEMENT_WORDS.has(word.split(' ').at(-1)!)) return refuse('statement', `${word} is not allowed: ${ONE_SELECT}`);
  return refuse('statement', `this statement${word ? ` (${word} …)` : ''} is not a SELECT: ${ONE_SELECT}`);
}

function refuseCount(count: number, sql: string): never {
  if (count === 0) return refuse('statement', `found no statement; send one SELECT`);
  const pivot = /\bPIVOT\b/i.test(sql) ? ' (DuckDB runs a PIVOT without an IN list as two statements: list its values with IN (…))' : '';
  return refuse('statement', `found ${count} statements; send one SELECT${pivot}`);
}

/** Checks one serialized SELECT statement (json_serialize_sql's `statements[0]`); throws SqlRefusedError. */
export function checkStatement(statement: unknown, scope: AccessScope, catalog: GuardCatalog): void {
  if (!isNode(statement) || !isNode(statement.node)) refuse('statement', `expected a SELECT: ${ONE_SELECT}`);
  new Walker(scope, catalog).value(statement, new Set());
}

class Walker {
  constructor(private readonly scope: AccessScope, private readonly catalog: GuardCatalog) {}

  value(value: unknown, ctes: ReadonlySet<string>): void {
    if (Array.isArray(value)) {
      for (const item of value) this.value(item, ctes);
      return;
    }
    if (!isNode(value)) return;
    const type = text(value.type);
    if (typeof value.class === 'string') {
      if (value.class === 'FUNCTION') this.scalar(value);
      this.fields(value, ctes);
    } else if (QUERY_NODES.has(type)) {
      this.queryNode(value, ctes);
    } else if (type.endsWith('_NODE') && 'cte_map' in value) {
      refuse('statement', `a query of kind ${type} is not supported: ${ONE_SELECT}`);
    } else if (type === 'UNBOUND_TYPE_INFO' || type === 'USER_TYPE_INFO') {
      this.typeRef(text(value.catalog), text(value.schema), text(value.name) || text(value.user_type_name));
    } else if (TABLE_REFS.has(type) || ('sample' in value && 'alias' in value && type !== '')) {
      this.tableRef(value, ctes);
    } else {
      this.fields(value, ctes);
    }
  }

  private fields(node: Node, ctes: ReadonlySet<string>, skip: readonly string[] = []): void {
    for (const [key, child] of Object.entries(node)) if (!skip.includes(key)) this.value(child, ctes);
  }

  /** CTEs are visible in the node and its subqueries; a CTE's body sees the earlier ones (and itself when recursive). */
  private queryNode(node: Node, outer: ReadonlySet<string>): void {
    const visible = new Set(outer);
    const map = isNode(node.cte_map) && Array.isArray(node.cte_map.map) ? node.cte_map.map : [];
    for (const entry of map) {
      if (!isNode(entry) || typeof entry.key !== 'string') return refuse('statement', `unreadable WITH clause: ${ONE_SELECT}`);
      this.value(entry.value, visible);
      visible.add(lower(entry.key));
    }
    const type = text(node.type);
    if (type === 'RECURSIVE_CTE_NODE' || type === 'CTE_NODE') {
      const [own, selfSees] = type === 'RECURSIVE_CTE_NODE' ? [text(node.cte_name), 'right'] : [text(node.ctename), 'child'];
      this.value(node[selfSees], new Set([...visible, lower(own)]));
      this.fields(node, visible, ['cte_map', selfSees]);
      return;
    }
    this.fields(node, visible, ['cte_map']);
  }

  private tableRef(ref: Node, ctes: ReadonlySet<string>): void {
    const type = text(ref.type);
    if (!TABLE_REFS.has(type)) refuse('statement', `a FROM item of kind ${type} is not supported: ${ONE_SELECT}`);
    if (type === 'BASE_TABLE') {
      this.baseTable(text(ref.catalog_name), text(ref.schema_name), text(ref.table_name), ctes);
    } else if (type === 'TABLE_FUNCTION') {
      const fn = ref.function;
      if (!isNode(fn) || fn.class !== 'FUNCTION') return refuse('function', `a table function call of an unknown form is not allowed: ${ONE_SELECT}`);
      this.tableFunction(text(fn.catalog), text(fn.schema), text(fn.function_name));
      this.fields(fn, ctes);
      this.fields(ref, ctes, ['function']);
      return;
    } else if (type === 'SHOW_REF' && (text(ref.table_name) !== '' || !isNode(ref.query))) {
      const shown = text(ref.table_name).replaceAll('"', '');
      refuse('statement', `${shown && !shown.startsWith('__') ? `SHOW ${shown}` : 'this SHOW'} is not allowed: it lists the views file's catalog; ${ONE_SELECT} (DESCRIBE <table> and DESCRIBE SELECT … work)`);
    }
    this.fields(ref, ctes);
  }

  private baseTable(catalog: string, schema: string, name: string, ctes: ReadonlySet<string>): void {
    if (!catalog && !schema && ctes.has(lower(name))) return;
    if (!catalog && !schema && !this.defaultSchema()?.relations.has(lower(name)) && /[/\\:]|\.\w+$/.test(name)) {
      refuse('file-access', `reading files is not allowed: FROM '${name}' would read a file; the SQL endpoint reads the DuckHouse views only`);
    }
    this.resolve(catalog, schema, name, 'relations');
  }

  private tableFunction(catalog: string, schema: string, name: string): void {
    const key = lower(name);
    if (!catalog && !schema) {
      if (ALLOWED_TABLE_FUNCTIONS.has(key)) return;
      if (!this.defaultSchema()?.tableMacros.has(key)) {
        refuse('function', `${name}() is not allowed: the SQL endpoint reads the DuckHouse views only (table functions allowed: ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')}, and the views' "<table>$at_snapshot"(id) and "<table>$as_of"(ts))`);
      }
    }
    this.resolve(catalog, schema, name, 'tableMacros');
  }

  private scalar(fn: Node): void {
    const name = text(fn.function_name);
    const key = lower(name);
    if (DENIED_FUNCTIONS.has(key) || DENIED_FUNCTION_PATTERNS.some((p) => p.test(key)) || this.catalog.builtins.tableOnly.has(key)) {
      refuse('function', `${name}() is not allowed: it reads DuckDB's settings, files or catalog; the SQL endpoint reads the DuckHouse views only`);
    }
    const catalog = text(fn.catalog);
    const schema = text(fn.schema);
    if (catalog && lower(catalog) !== lower(this.catalog.alias)) this.notReadable(`function ${catalog}.${schema}.${name}`);
    if (!schema || (['main', 'pg_catalog'].includes(lower(schema)) && this.catalog.builtins.scalars.has(key))) return;
    this.schemaOf(schema, `function ${schema}.${name}`);
  }

  /** A type named in a cast or a column definition: a schema-qualified one must be in a readable schema. */
  private typeRef(catalog: string, schema: string, name: string): void {
    const what = `type ${[catalog, schema, name].filter(Boolean).join('.')}`;
    if (catalog && lower(catalog) !== lower(this.catalog.alias)) this.notReadable(what);
    if (schema && !['main', 'pg_catalog'].includes(lower(schema))) this.schemaOf(schema, what);
  }

  /** Checks a (catalog, schema, name) that DuckDB will look up among tables/views or table macros. */
  private resolve(catalog: string, schema: string, name: string, kind: 'relations' | 'tableMacros'): void {
    const what = `${kind === 'relations' ? 'table' : 'table macro'} ${[catalog, schema, name].filter(Boolean).join('.')}`;
    if (catalog && lower(catalog) !== lower(this.catalog.alias)) {
      if (SYSTEM_CATALOGS.has(lower(catalog))) refuse('function', `${what} is not allowed: DuckDB's ${catalog} catalog is not readable through the SQL endpoint`);
      this.notReadable(what);
    }
    let objects: SchemaObjects | undefined;
    if (schema) {
      objects = this.schemaOf(schema, what);
    } else {
      objects = this.defaultSchema();
      if (!objects?.[kind].has(lower(name)) && this.catalog.builtins.catalogViews.has(lower(name))) {
        refuse('function', `${name} is not allowed: DuckDB's catalog views are not readable through the SQL endpoint`);
      }
      if (!objects) this.notReadable(what);
    }
    if (!objects[kind].has(lower(name))) {
      if (this.scope.kind === 'tenant' || schema) refuse('not-readable', `${what} does not exist`);
      refuse('not-readable', `${what} does not exist in schema ${objects.name}; name tables as <schema>.<table>`);
    }
  }

  /** Where DuckDB looks up unqualified names (after the empty temp catalog), if the copy has it. */
  private defaultSchema(): SchemaObjects | undefined {
    const name = this.catalog.defaultSchema;
    return name === undefined ? undefined : this.catalog.schemas.get(lower(name));
  }

  /** The copy's schema a qualified name points at, if the scope may read it; else throws. */
  private schemaOf(schema: string, what: string): SchemaObjects {
    const key = lower(schema);
    const denied = DENIED_SCHEMAS.get(key);
    if (denied) refuse('not-readable', `${what} is not readable: schema ${schema} ${denied}`);
    if (SYSTEM_CATALOGS.has(key) || key === lower(this.catalog.alias)) this.notReadable(what);
    const objects = this.catalog.schemas.get(key);
    if (!objects || !ownsDuckDBSchema(this.scope, objects.name)) this.notReadable(what);
    return objects;
  }

  private notReadable(what: string): never {
    if (this.scope.kind === 'tenant') return refuse('not-readable', `${what} is not readable with this token`);
    return refuse('not-readable', `${what} does not exist in the views`);
  }
}
