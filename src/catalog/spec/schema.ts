// An Iceberg schema: a struct with a schema id and identifier fields, indexed by field id and by dotted name.
// PURE: no IO. Field ids are assigned by the caller (fresh ids come from the table's last-column-id), never here.
import { MetadataInvalidError } from '../../shared/errors.js';
import type { IcebergType, NestedField, StructType, StructTypeJson } from './types.js';
import { structFromJson, structToJson } from './types.js';

export interface Schema {
  readonly schemaId: number;
  readonly identifierFieldIds: readonly number[];
  readonly fields: readonly NestedField[];
}

export interface SchemaJson extends StructTypeJson {
  'schema-id': number;
  'identifier-field-ids'?: number[];
}

/** A field found by id, with its dotted name and whether every ancestor is a struct (so it can be a column). */
export interface IndexedField {
  readonly field: NestedField;
  readonly path: string;
  readonly parentId: number | undefined;
}

export function schemaStruct(schema: Schema): StructType {
  return { kind: 'struct', fields: schema.fields };
}

/** Every field id in the schema (struct fields, list elements, map keys and values) with its dotted name. */
export function indexById(schema: Schema): Map<number, IndexedField> {
  const index = new Map<number, IndexedField>();
  // Every id (struct fields, list elements, map keys and values) must be unique across the whole schema.
  const add = (field: NestedField, path: string, parentId: number | undefined): void => {
    const seen = index.get(field.id);
    if (seen) throw new MetadataInvalidError(`schema ${schema.schemaId}: field id ${field.id} is used twice ("${seen.path}" and "${path}")`);
    index.set(field.id, { field, path, parentId });
  };
  const visit = (type: IcebergType, prefix: string, parentId: number | undefined): void => {
    if (type.kind === 'struct') {
      for (const field of type.fields) {
        const path = prefix ? `${prefix}.${field.name}` : field.name;
        add(field, path, parentId);
        visit(field.type, path, field.id);
      }
    } else if (type.kind === 'list') {
      const path = `${prefix}.element`;
      add({ id: type.elementId, name: 'element', required: type.elementRequired, type: type.element }, path, parentId);
      visit(type.element, path, type.elementId);
    } else if (type.kind === 'map') {
      add({ id: type.keyId, name: 'key', required: true, type: type.key }, `${prefix}.key`, parentId);
      add({ id: type.valueId, name: 'value', required: type.valueRequired, type: type.value }, `${prefix}.value`, parentId);
      visit(type.key, `${prefix}.key`, type.keyId);
      visit(type.value, `${prefix}.value`, type.valueId);
    }
  };
  visit(schemaStruct(schema), '', undefined);
  return index;
}

/** Dotted name → field id. */
export function indexByName(schema: Schema): Map<string, number> {
  const names = new Map<string, number>();
  for (const [id, entry] of indexById(schema)) {
    const other = names.get(entry.path);
    if (other !== undefined) throw new MetadataInvalidError(`schema ${schema.schemaId}: name "${entry.path}" is used by field ids ${other} and ${id}`);
    names.set(entry.path, id);
  }
  return names;
}

export function findField(schema: Schema, idOrName: number | string): NestedField | undefined {
  const index = indexById(schema);
  if (typeof idOrName === 'number') return index.get(idOrName)?.field;
  const id = indexByName(schema).get(idOrName);
  return id === undefined ? undefined : index.get(id)?.field;
}

export function requireField(schema: Schema, idOrName: number | string): NestedField {
  const field = findField(schema, idOrName);
  if (!field) {
    const names = schema.fields.map((f) => f.name).join(', ');
    throw new MetadataInvalidError(`schema ${schema.schemaId} has no field ${typeof idOrName === 'number' ? `with id ${idOrName}` : `"${idOrName}"`}; top-level fields: ${names}`);
  }
  return field;
}

export function highestFieldId(schema: Schema): number {
  let max = 0;
  for (const id of indexById(schema).keys()) max = Math.max(max, id);
  return max;
}

/** Same fields, types and identifier fields (ignores the schema id): a schema change that is a no-op. */
export function sameSchemaStructure(a: Schema, b: Schema): boolean {
  return JSON.stringify(structToJson(schemaStruct(a))) === JSON.stringify(structToJson(schemaStruct(b)))
    && JSON.stringify([...a.identifierFieldIds].sort()) === JSON.stringify([...b.identifierFieldIds].sort());
}

export function schemaToJson(schema: Schema): SchemaJson {
  const json: SchemaJson = { type: 'struct', 'schema-id': schema.schemaId, fields: structToJson(schemaStruct(schema)).fields };
  if (schema.identifierFieldIds.length > 0) json['identifier-field-ids'] = [...schema.identifierFieldIds];
  return json;
}

export function schemaFromJson(json: unknown, where = 'schema'): Schema {
  const obj = json as Record<string, unknown> | null;
  const struct = structFromJson(obj, where);
  const schemaId = obj?.['schema-id'] ?? 0;
  if (typeof schemaId !== 'number') throw new MetadataInvalidError(`${where}: schema-id must be an integer`);
  const ids = obj?.['identifier-field-ids'] ?? [];
  if (!Array.isArray(ids)) throw new MetadataInvalidError(`${where}: identifier-field-ids must be an array`);
  const schema: Schema = { schemaId, identifierFieldIds: ids as number[], fields: struct.fields };
  validateSchema(schema, where);
  return schema;
}

/**
 * Ids and dotted names unique; identifier fields exist, are required primitives (not float or double) and sit in a
 * chain of required structs (not inside a list, a map or an optional struct), as Java's Schema checks.
 */
export function validateSchema(schema: Schema, where = `schema ${schema.schemaId}`): void {
  const index = indexById(schema);
  indexByName(schema);
  for (const id of schema.identifierFieldIds) {
    const entry = index.get(id);
    if (!entry) throw new MetadataInvalidError(`${where}: identifier field id ${id} is not in the schema`);
    const { field } = entry;
    if (!field.required) throw new MetadataInvalidError(`${where}: identifier field "${entry.path}" must be required`);
    if (field.type.kind === 'struct' || field.type.kind === 'list' || field.type.kind === 'map') {
      throw new MetadataInvalidError(`${where}: identifier field "${entry.path}" must be a primitive, found ${field.type.kind}`);
    }
    if (field.type.kind === 'float' || field.type.kind === 'double') {
      throw new MetadataInvalidError(`${where}: identifier field "${entry.path}" cannot be ${field.type.kind}`);
    }
    // Walk the ancestors from the root, so a field under a list or map is reported as such.
    const ancestors: IndexedField[] = [];
    for (let parent = entry.parentId; parent !== undefined; parent = index.get(parent)?.parentId) ancestors.unshift(index.get(parent)!);
    for (const ancestor of ancestors) {
      const kind = ancestor.field.type.kind;
      if (kind !== 'struct') throw new MetadataInvalidError(`${where}: identifier field "${entry.path}" is nested in a ${kind} ("${ancestor.path}")`);
      if (!ancestor.field.required) throw new MetadataInvalidError(`${where}: identifier field "${entry.path}" is nested in optional field "${ancestor.path}"`);
    }
  }
}

/**
 * Builds a schema from field definitions without ids, assigning ids in order from `nextId` (depth first, as engines
 * do for a new table). Returns the schema and the last id used.
 */
export interface FieldSpec {
  name: string;
  type: TypeSpec;
  required?: boolean;
  doc?: string;
}
export type TypeSpec =
  | Exclude<IcebergType, StructType | { kind: 'list' } | { kind: 'map' }>
  | { kind: 'struct'; fields: FieldSpec[] }
  | { kind: 'list'; element: TypeSpec; elementRequired?: boolean }
  | { kind: 'map'; key: TypeSpec; value: TypeSpec; valueRequired?: boolean };

export function buildSchema(fields: FieldSpec[], options: { schemaId?: number; nextId?: number; identifierFields?: string[] } = {}): { schema: Schema; lastColumnId: number } {
  let next = options.nextId ?? 1;
  // Top-level fields take consecutive ids first, then nested ones (the order Java and PyIceberg use).
  const assignStruct = (specs: FieldSpec[]): NestedField[] => {
    const ids = specs.map(() => next++);
    return specs.map((spec, i) => ({
      id: ids[i]!,
      name: spec.name,
      required: spec.required ?? false,
      type: assignType(spec.type),
      ...(spec.doc === undefined ? {} : { doc: spec.doc }),
    }));
  };
  const assignType = (spec: TypeSpec): IcebergType => {
    if (spec.kind === 'struct') return { kind: 'struct', fields: assignStruct(spec.fields) };
    if (spec.kind === 'list') {
      const elementId = next++;
      return { kind: 'list', elementId, elementRequired: spec.elementRequired ?? false, element: assignType(spec.element) };
    }
    if (spec.kind === 'map') {
      const keyId = next++;
      const valueId = next++;
      return { kind: 'map', keyId, valueId, valueRequired: spec.valueRequired ?? false, key: assignType(spec.key), value: assignType(spec.value) };
    }
    return spec;
  };
  const built = assignStruct(fields);
  const draft: Schema = { schemaId: options.schemaId ?? 0, identifierFieldIds: [], fields: built };
  const names = indexByName(draft);
  const identifierFieldIds = (options.identifierFields ?? []).map((name) => {
    const id = names.get(name);
    if (id === undefined) throw new MetadataInvalidError(`identifier field "${name}" is not in the schema`);
    return id;
  });
  const schema: Schema = { ...draft, identifierFieldIds };
  validateSchema(schema);
  return { schema, lastColumnId: next - 1 };
}
