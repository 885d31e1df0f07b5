// The sink's side of schemas: the Iceberg schema a record's writer schema asks for (registry Avro with its field ids,
// or a Debezium Connect schema), creating a missing table from it (key columns as identifier fields, partition spec
// from config), and deciding whether a table can take a new writer schema as is, after an update-schema commit, or not
// at all (the records go to the dead-letter path with the reasons).
// Must never: evolve a table in a way planSchemaEvolution refuses, or create a table without its key columns.
import { FileExistsError, SchemaIncompatibleError } from '../shared/errors.js';
import type { Catalog, Table, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier } from '../catalog/catalogs/catalog.js';
import type { Schema } from '../catalog/spec/schema.js';
import { currentSchema } from '../catalog/spec/table-metadata.js';
import type { SchemaChange } from '../catalog/transaction/update-schema.js';
import { ICEBERG_FIELD_NAME, avroFieldName, avroToIceberg } from '../schemas/avro-iceberg.js';
import { connectSchemaToIceberg } from '../schemas/debezium-json.js';
import { planSchemaEvolution } from '../schemas/evolution.js';
import type { KeyField } from '../schemas/row-key.js';
import { keyFieldsOf } from '../schemas/row-key.js';
import type { WriterSchema } from './decode.js';
import { parsePartitionSpec } from './routing.js';

/** Table properties every sink-created table gets. */
export const SINK_TABLE_PROPERTIES: Readonly<Record<string, string>> = {
  'write.parquet.compression-codec': 'zstd',
  'write.delete.mode': 'merge-on-read',
  'write.update.mode': 'merge-on-read',
  'duckhouse.created-by': 'duckhouse sink',
};

/** The Iceberg names of the key columns a writer names (Avro key fields map by field id, else by name). */
function identifierNames(writer: WriterSchema): string[] {
  if (!writer.keyFields) return [];
  if (writer.format === 'json') return [...writer.keyFields];
  return writer.keyFields.map((avroName) => {
    const field = writer.row.fields.find((f) => f.name === avroName);
    const real = field?.[ICEBERG_FIELD_NAME];
    return typeof real === 'string' ? real : avroName;
  });
}

/**
 * The Iceberg schema of a writer's rows, ids matched to `previous` (the table's schema) when given. Undefined for
 * schemaless JSON, which carries no schema (such rows are coerced to an existing table).
 */
export function writerIcebergSchema(writer: WriterSchema, previous?: Table): { schema: Schema; lastColumnId: number } | undefined {
  const identifierFields = identifierNames(writer);
  const lastColumnId = previous?.metadata.lastColumnId;
  const previousSchema = previous ? currentTableSchema(previous) : undefined;
  if (writer.format === 'avro') {
    return avroToIceberg(writer.row, { identifierFields, ...(previousSchema ? { previous: previousSchema } : {}), ...(lastColumnId === undefined ? {} : { lastColumnId }), where: `schema id ${writer.schemaId}` });
  }
  if (!writer.valueSchema) return undefined;
  const fresh = connectSchemaToIceberg(writer.valueSchema, { identifierFields });
  if (!previousSchema) return fresh;
  // Connect schemas carry no ids: match by name against the table.
  const byName = new Map(previousSchema.fields.map((f) => [f.name, f.id]));
  let next = lastColumnId ?? 0;
  const renumber = (fields: Schema['fields']): Schema['fields'] => fields.map((f) => ({ ...f, id: byName.get(f.name) ?? ++next }));
  const fields = renumber(fresh.schema.fields);
  const ids = new Map(fields.map((f) => [f.name, f.id]));
  return { schema: { ...fresh.schema, fields, identifierFieldIds: identifierFields.map((n) => ids.get(n)!) }, lastColumnId: next };
}

export const currentTableSchema = (table: Table): Schema => currentSchema(table.metadata);

export interface CreateSinkTableOptions {
  /** `day(created_at), bucket(16, id)`; unpartitioned when absent. */
  partitionBy?: string;
  properties?: Readonly<Record<string, string>>;
}

/** Creates the table a writer schema describes (and its namespace); loads it instead when another sink was first. */
export async function createSinkTable(catalog: Catalog, id: TableIdentifier, writer: WriterSchema, options: CreateSinkTableOptions = {}): Promise<Table> {
  const name = formatIdentifier(id);
  const built = writerIcebergSchema(writer);
  if (!built) {
    throw new SchemaIncompatibleError(`table ${name} does not exist and its topic carries schemaless JSON: create the table first (or enable schemas in Debezium's JsonConverter)`);
  }
  if (!(await catalog.namespaceExists(id.namespace))) {
    await catalog.createNamespace(id.namespace).catch(async (error: unknown) => {
      if (!(await catalog.namespaceExists(id.namespace))) throw error;
    });
  }
  const spec = options.partitionBy ? parsePartitionSpec(options.partitionBy, built.schema, name) : undefined;
  try {
    return await catalog.createTable(id, { schema: built.schema, lastColumnId: built.lastColumnId, ...(spec ? { spec } : {}), properties: { ...SINK_TABLE_PROPERTIES, ...options.properties } });
  } catch (error) {
    if (error instanceof FileExistsError) return catalog.loadTable(id);
    throw error;
  }
}

export type SchemaDecision =
  | { readonly kind: 'accept' }
  | { readonly kind: 'evolve'; readonly changes: readonly SchemaChange[]; readonly notes: readonly string[] }
  | { readonly kind: 'refuse'; readonly reasons: readonly string[] };

/** Whether `table` takes rows of `writer` now, after `changes`, or never. */
export function decideSchema(table: Table, writer: WriterSchema): SchemaDecision {
  let incoming: { schema: Schema } | undefined;
  try {
    incoming = writerIcebergSchema(writer, table);
  } catch (error) {
    return { kind: 'refuse', reasons: [(error as Error).message] };
  }
  if (!incoming) return { kind: 'accept' };
  const plan = planSchemaEvolution(currentTableSchema(table), incoming.schema, { lastColumnId: table.metadata.lastColumnId });
  if (plan.refusals.length > 0) return { kind: 'refuse', reasons: plan.refusals };
  if (plan.changes.length > 0) return { kind: 'evolve', changes: plan.changes, notes: plan.notes };
  return { kind: 'accept' };
}

/** Key columns as rows of a writer name them (Avro-sanitized names for Avro writers) and as the table does. */
export function keyFieldsFor(table: Table, rowNames: 'avro' | 'iceberg'): { table: KeyField[]; row: KeyField[] } {
  const fields = keyFieldsOf(currentTableSchema(table));
  return { table: fields, row: rowNames === 'avro' ? fields.map((f) => ({ ...f, name: avroFieldName(f.name) })) : fields };
}
