// The row and key schemas of a CSV file: column types come from an explicit schema file, else from the table's
// registered schema (for columns it already has), else from inference over a sample of the file. The result is an
// Avro `Value` record (with stable field ids against the registered version) and a `Key` record of the key columns.
// Must never: change the type of a registered column on its own (the registry and the sink decide evolution), or let
// a key column be nullable.
import { readFile } from 'node:fs/promises';
import { buildSchema, type FieldSpec } from '../../catalog/spec/schema.js';
import { isPrimitive, type PrimitiveType, typeFromJson, typeToString } from '../../catalog/spec/types.js';
import { avroToIceberg, icebergToAvro, sanitizeAvroName } from '../../schemas/avro-iceberg.js';
import type { AvroFieldSchema, AvroRecordSchema } from '../../schemas/envelope.js';
import { withStableFieldIds } from '../../schemas/field-ids.js';
import { ColumnSample, textParser, type TextParser } from '../../schemas/text-values.js';
import { DataInvalidError, DuckHouseError } from '../../shared/errors.js';

export interface CsvColumn {
  /** The header text and the column's (Avro-safe) name. */
  header: string;
  name: string;
  /** Position in the CSV record. */
  index: number;
  type: PrimitiveType;
  required: boolean;
  parse: TextParser;
}

export interface CsvSchema {
  columns: CsvColumn[];
  /** Table columns the file does not have (written as null). */
  absent: string[];
  keyColumns: CsvColumn[];
  opColumn: { index: number; header: string } | undefined;
  value: AvroRecordSchema;
  key: AvroRecordSchema | undefined;
  /** How each type was decided, for the summary: `inferred`, `registered` or `schema file`. */
  origins: Map<string, string>;
}

export interface CsvSchemaInput {
  file: string;
  header: string[];
  sample: string[][];
  /** The sample is the whole file (inference may pick int and tight decimal precision). */
  wholeFile: boolean;
  keyColumns: string[];
  opColumn?: string;
  schemaFile?: string;
  /** The row schema of the subject's latest registered version, if any. */
  registered?: AvroRecordSchema;
  namespace: string;
  nullValue: string;
}

interface TypedColumn {
  name: string;
  type: PrimitiveType;
  required: boolean;
}

/** Column names from the header row: Avro-safe, unique, non-empty. */
export function columnNames(header: string[], file: string): string[] {
  const names = header.map((h, i) => {
    const trimmed = h.trim();
    if (trimmed === '') throw new DataInvalidError(`${file}:1: header column ${i + 1} is empty; every column needs a name`, { context: { file, line: 1 } });
    return sanitizeAvroName(trimmed);
  });
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const other = seen.get(name);
    if (other !== undefined) {
      throw new DataInvalidError(`${file}:1: header columns ${other + 1} ("${header[other]}") and ${i + 1} ("${header[i]}") both map to the column name "${name}"`, { context: { file, line: 1 } });
    }
    seen.set(name, i);
  });
  return names;
}

/** Reads `--schema`: an Avro record, or `{"columns": [{"name", "type", "required"}]}` with Iceberg type names. */
export async function readSchemaFile(path: string): Promise<TypedColumn[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new DuckHouseError('config', `schema file ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const fail = (message: string): never => {
    throw new DuckHouseError('config', `schema file ${path}: ${message}`);
  };
  if (typeof json === 'object' && json !== null && (json as { type?: unknown }).type === 'record') {
    const { schema } = avroToIceberg(json as AvroRecordSchema, { where: path });
    return schema.fields.map((f) => (isPrimitive(f.type) ? { name: f.name, type: f.type, required: f.required } : fail(`column "${f.name}" is ${typeToString(f.type)}: CSV columns must be primitive`)));
  }
  const columns = (json as { columns?: unknown }).columns;
  if (!Array.isArray(columns)) return fail('expected an Avro record schema or {"columns": [{"name": …, "type": …}]}');
  return columns.map((c: unknown, i) => {
    const column = c as { name?: unknown; type?: unknown; required?: unknown };
    if (typeof column.name !== 'string' || column.name === '') return fail(`columns[${i}] has no name`);
    const type = typeFromJson(column.type, `${path} column ${column.name}`);
    if (!isPrimitive(type)) return fail(`column "${column.name}" is ${typeToString(type)}: CSV columns must be primitive`);
    return { name: sanitizeAvroName(column.name), type, required: column.required === true };
  });
}

function registeredColumns(registered: AvroRecordSchema | undefined): TypedColumn[] {
  if (!registered) return [];
  const { schema } = avroToIceberg(registered, { where: 'registered schema' });
  return schema.fields.flatMap((f) => (isPrimitive(f.type) ? [{ name: f.name, type: f.type, required: f.required }] : []));
}

/** Decides every column's type and builds the Avro schemas. */
export async function csvSchema(input: CsvSchemaInput): Promise<CsvSchema> {
  const names = columnNames(input.header, input.file);
  const opIndex = input.opColumn === undefined ? -1 : names.indexOf(sanitizeAvroName(input.opColumn));
  if (input.opColumn !== undefined && opIndex < 0) {
    throw new DuckHouseError('config', `--op-column ${input.opColumn}: no such column in ${input.file} (columns: ${input.header.join(', ')})`);
  }
  const explicit = input.schemaFile ? await readSchemaFile(input.schemaFile) : undefined;
  const registered = registeredColumns(input.registered);
  const origins = new Map<string, string>();
  const columns: CsvColumn[] = [];
  names.forEach((name, index) => {
    if (index === opIndex) return;
    const header = input.header[index]!;
    let typed = explicit?.find((c) => c.name === name);
    if (explicit && !typed) {
      throw new DuckHouseError('config', `${input.file}: column "${header}" is not in the schema file ${input.schemaFile}; add it there or remove it from the file`);
    }
    if (typed) origins.set(name, 'schema file');
    if (!typed) {
      typed = registered.find((c) => c.name === name);
      if (typed) origins.set(name, 'registered');
    }
    if (!typed) {
      const sample = new ColumnSample();
      for (const record of input.sample) {
        const text = record[index];
        sample.add(text === undefined || text === input.nullValue ? null : text);
      }
      typed = { name, type: sample.inferType(input.wholeFile), required: false };
      origins.set(name, `inferred from ${sample.nonNull + sample.nulls} sample rows`);
    }
    columns.push({ header, name, index, type: typed.type, required: typed.required, parse: textParser(typed.type) });
  });
  const keyColumns = input.keyColumns.map((key) => {
    const column = columns.find((c) => c.name === sanitizeAvroName(key) || c.header === key);
    if (!column) throw new DuckHouseError('config', `--key ${key}: no such column in ${input.file} (columns: ${input.header.join(', ')})`);
    column.required = true;
    return column;
  });
  const inFile = new Set(columns.map((c) => c.name));
  const absentColumns = [...(explicit ?? []), ...registered].filter((c, i, all) => !inFile.has(c.name) && all.findIndex((o) => o.name === c.name) === i);
  const requiredAbsent = absentColumns.filter((c) => c.required);
  if (requiredAbsent.length > 0) {
    throw new DataInvalidError(`${input.file}: required column(s) ${requiredAbsent.map((c) => c.name).join(', ')} of the table are missing from the file`, { context: { file: input.file } });
  }
  const rowFields: FieldSpec[] = [
    ...columns.map((c) => ({ name: c.name, type: c.type, required: c.required })),
    ...absentColumns.map((c) => ({ name: c.name, type: c.type, required: false })),
  ];
  const draft = icebergToAvro(buildSchema(rowFields).schema, { name: 'Value', namespace: input.namespace });
  const value = withStableFieldIds(stripIds(draft), input.registered);
  const key = keyColumns.length === 0 ? undefined : keyRecord(value, keyColumns.map((c) => c.name), input.namespace);
  return { columns, absent: absentColumns.map((c) => c.name), keyColumns, opColumn: opIndex < 0 ? undefined : { index: opIndex, header: input.header[opIndex]! }, value, key, origins };
}

/** The `Key` record: the key columns with the same types and field ids as in the row. */
function keyRecord(value: AvroRecordSchema, keyNames: string[], namespace: string): AvroRecordSchema {
  const fields = keyNames.map((name) => value.fields.find((f) => f.name === name)!);
  return { type: 'record', name: 'Key', namespace, fields: fields.map((f) => ({ ...f })) };
}

/** Drops `field-id` attributes so withStableFieldIds assigns them against the registered version. */
function stripIds(record: AvroRecordSchema): AvroRecordSchema {
  const strip = (field: AvroFieldSchema): AvroFieldSchema => {
    const copy: AvroFieldSchema = { ...field };
    delete copy['field-id'];
    return copy;
  };
  return { ...record, fields: record.fields.map(strip) };
}
