// Field ids that stay stable across schema versions. Every Avro row schema DuckHouse registers carries Iceberg's
// Avro attributes: `field-id` on record fields, `element-id` on arrays, `key-id`/`value-id` on maps, and at the top
// `duckhouse.last-field-id`, the highest id ever handed out for the subject. A new version reuses the id of the field
// with the same name (or one of its Avro `aliases`) in the previous version and gives new fields fresh ids above the
// last one, so a column dropped and added again never gets its old id back.
// Also assignFieldIds: Iceberg field ids for draft schemas (from Avro or Arrow) against the table's previous schema.
// PURE: no IO. Must never: reuse an id for a different field, or change the id of a field that kept its name.
import type { Schema } from '../catalog/spec/schema.js';
import { highestFieldId, indexById, indexByName, validateSchema } from '../catalog/spec/schema.js';
import type { IcebergType, NestedField, PrimitiveType } from '../catalog/spec/types.js';
import { SchemaIncompatibleError } from '../shared/errors.js';
import type { AvroFieldSchema, AvroRecordSchema } from './envelope.js';

export const LAST_FIELD_ID_ATTRIBUTE = 'duckhouse.last-field-id';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The non-null branch of a [null, X] union, or the type itself. */
function unwrapNullable(type: unknown): unknown {
  if (!Array.isArray(type)) return type;
  const branches = type.filter((t) => t !== 'null');
  return branches.length === 1 ? branches[0] : type;
}

/** Highest id found anywhere in an annotated schema (and its last-field-id attribute). */
export function highestAvroFieldId(schema: AvroRecordSchema): number {
  let highest = typeof schema[LAST_FIELD_ID_ATTRIBUTE] === 'number' ? (schema[LAST_FIELD_ID_ATTRIBUTE] as number) : 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isObject(node)) return;
    for (const key of ['field-id', 'element-id', 'key-id', 'value-id']) {
      const id = node[key];
      if (typeof id === 'number' && id > highest) highest = id;
    }
    for (const key of ['type', 'fields', 'items', 'values']) if (key in node) visit(node[key]);
  };
  visit(schema.fields);
  return highest;
}

class IdAssigner {
  private readonly definedRecords = new Set<string>();
  constructor(private next: number) {}

  take(previous: unknown): number {
    if (typeof previous === 'number' && Number.isInteger(previous) && previous > 0) return previous;
    return ++this.next;
  }

  get last(): number {
    return this.next;
  }

  /** Annotates a type; `previous` is the same position in the previous version (or undefined). */
  type(type: unknown, previous: unknown, path: string): unknown {
    if (Array.isArray(type)) {
      const prevBranch = unwrapNullable(previous);
      return type.map((branch) => (branch === 'null' ? branch : this.type(branch, prevBranch, path)));
    }
    if (typeof type === 'string') {
      if (this.definedRecords.has(type)) {
        throw new SchemaIncompatibleError(`${path}: record type "${type}" is used a second time; each nested record must be defined once so its fields get their own ids`);
      }
      return type;
    }
    if (!isObject(type)) return type;
    const prev = isObject(unwrapNullable(previous)) ? (unwrapNullable(previous) as Json) : undefined;
    switch (type.type) {
      case 'record': {
        const name = String(type.namespace ? `${String(type.namespace)}.${String(type.name)}` : type.name);
        this.definedRecords.add(name);
        this.definedRecords.add(String(type.name));
        const prevFields = prev?.type === 'record' && Array.isArray(prev.fields) ? (prev.fields as AvroFieldSchema[]) : [];
        return { ...type, fields: (type.fields as AvroFieldSchema[]).map((field) => this.field(field, prevFields, path)) };
      }
      case 'array': {
        const same = prev?.type === 'array' ? prev : undefined;
        const elementId = this.take(same?.['element-id']);
        return { ...type, 'element-id': elementId, items: this.type(type.items, same?.items, `${path}.element`) };
      }
      case 'map': {
        const same = prev?.type === 'map' ? prev : undefined;
        const keyId = this.take(same?.['key-id']);
        const valueId = this.take(same?.['value-id']);
        return { ...type, 'key-id': keyId, 'value-id': valueId, values: this.type(type.values, same?.values, `${path}.value`) };
      }
      default:
        return type;
    }
  }

  field(field: AvroFieldSchema, previousFields: readonly AvroFieldSchema[], parentPath: string): AvroFieldSchema {
    const path = parentPath ? `${parentPath}.${field.name}` : field.name;
    const names = [field.name, ...(Array.isArray(field.aliases) ? (field.aliases as string[]) : [])];
    const before = previousFields.find((p) => names.includes(p.name));
    const id = this.take(typeof field['field-id'] === 'number' ? field['field-id'] : before?.['field-id']);
    return { ...field, 'field-id': id, type: this.type(field.type, before?.type, path) };
  }
}

/**
 * Returns `next` annotated with field ids that continue `previous` (the subject's latest registered version, if any).
 * Ids `next` already carries are kept. `lastId` overrides the highest id known (e.g. the Iceberg table's
 * last-column-id when the table has more history than the registry).
 */
export function withStableFieldIds(next: AvroRecordSchema, previous?: AvroRecordSchema, lastId?: number): AvroRecordSchema {
  const start = Math.max(lastId ?? 0, previous ? highestAvroFieldId(previous) : 0, highestAvroFieldId({ ...next, [LAST_FIELD_ID_ATTRIBUTE]: 0 }));
  const assigner = new IdAssigner(start);
  const fields = next.fields.map((field) => assigner.field(field, previous?.fields ?? [], ''));
  const seen = new Map<number, string>();
  const check = (node: unknown, path: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => check(n, path));
    if (!isObject(node)) return;
    const here = typeof node.name === 'string' && 'field-id' in node ? (path ? `${path}.${node.name}` : node.name) : path;
    for (const key of ['field-id', 'element-id', 'key-id', 'value-id']) {
      const id = node[key];
      if (typeof id !== 'number') continue;
      const other = seen.get(id);
      if (other !== undefined) throw new SchemaIncompatibleError(`field id ${id} is given to both ${other} and ${here}`);
      seen.set(id, `${here}${key === 'field-id' ? '' : `.${key.replace('-id', '')}`}`);
    }
    for (const key of ['type', 'fields', 'items', 'values']) if (key in node) check(node[key], here);
  };
  check(fields, '');
  return { ...next, fields, [LAST_FIELD_ID_ATTRIBUTE]: assigner.last };
}

// ---- drafts: Iceberg types whose ids may still be unknown ----

export interface DraftField {
  id?: number;
  name: string;
  /** Former names (Avro `aliases`): matched against `previous` when the name is not found there. */
  aliases?: readonly string[];
  required: boolean;
  type: DraftType;
  doc?: string;
}
export type DraftType =
  | PrimitiveType
  | { kind: 'struct'; fields: DraftField[] }
  | { kind: 'list'; elementId?: number; elementRequired: boolean; element: DraftType }
  | { kind: 'map'; keyId?: number; key: DraftType; valueId?: number; valueRequired: boolean; value: DraftType };

export interface FieldIdOptions {
  /** The table's current schema: fields found there by name (or alias) keep their ids. */
  previous?: Schema;
  /** The table's last-column-id; fresh ids start above it. Default: the highest id in `previous`, or 0. */
  lastColumnId?: number;
  /** Dotted names of the key columns. */
  identifierFields?: string[];
  /** Names the schema in error messages, e.g. `topic orders, schema id 7`. */
  where?: string;
}

/**
 * Turns drafts into a validated Schema: explicit ids stay; a field without one takes the id of the field with its name
 * (else one of its aliases) at the same place in `previous`, list elements and map keys/values take the previous
 * one's ids; the rest get fresh ids above lastColumnId, top-level fields first (as buildSchema numbers a new table).
 */
export function assignFieldIds(fields: readonly DraftField[], options: FieldIdOptions = {}): { schema: Schema; lastColumnId: number } {
  const where = options.where ?? 'schema';
  const fail = (message: string): never => {
    throw new SchemaIncompatibleError(`${where}: ${message}`, { context: { where } });
  };
  const draft = structuredClone(fields) as DraftField[];
  const taken = new Map<number, string>();
  const claim = (id: number | undefined, path: string): void => {
    if (id === undefined) return;
    const other = taken.get(id);
    if (other !== undefined) fail(`field id ${id} is given to both "${other}" and "${path}"`);
    taken.set(id, path);
  };
  visitIds(draft, '', claim);
  const previous: ReadonlyMap<number, { field: NestedField }> = options.previous ? indexById(options.previous) : new Map();
  const previousType = (id: number | undefined): IcebergType | undefined => (id === undefined ? undefined : previous.get(id)?.field.type);
  const inherit = (id: number | undefined, path: string): number | undefined => {
    if (id === undefined || taken.has(id)) return undefined;
    claim(id, path);
    return id;
  };
  const matchStruct = (list: readonly DraftField[], old: readonly NestedField[], path: string): void => {
    for (const field of list) {
      const at = path ? `${path}.${field.name}` : field.name;
      for (const name of field.id === undefined ? [field.name, ...(field.aliases ?? [])] : []) {
        field.id = inherit(old.find((f) => f.name === name)?.id, at);
        if (field.id !== undefined) break;
      }
      match(field.type, previousType(field.id), at);
    }
  };
  const match = (type: DraftType, before: IcebergType | undefined, path: string): void => {
    if (type.kind === 'struct') {
      matchStruct(type.fields, before?.kind === 'struct' ? before.fields : [], path);
    } else if (type.kind === 'list') {
      type.elementId ??= inherit(before?.kind === 'list' ? before.elementId : undefined, `${path}.element`);
      match(type.element, previousType(type.elementId), `${path}.element`);
    } else if (type.kind === 'map') {
      type.keyId ??= inherit(before?.kind === 'map' ? before.keyId : undefined, `${path}.key`);
      type.valueId ??= inherit(before?.kind === 'map' ? before.valueId : undefined, `${path}.value`);
      match(type.key, previousType(type.keyId), `${path}.key`);
      match(type.value, previousType(type.valueId), `${path}.value`);
    }
  };
  matchStruct(draft, options.previous?.fields ?? [], '');

  let next = Math.max(options.lastColumnId ?? 0, options.previous ? highestFieldId(options.previous) : 0);
  const fresh = (): number => {
    do next++; while (taken.has(next));
    taken.set(next, '');
    return next;
  };
  const finishStruct = (list: readonly DraftField[]): NestedField[] => {
    const ids = list.map((f) => f.id ?? fresh());
    return list.map((f, i) => ({ id: ids[i]!, name: f.name, required: f.required, type: finishType(f.type), ...(f.doc === undefined ? {} : { doc: f.doc }) }));
  };
  const finishType = (type: DraftType): IcebergType => {
    switch (type.kind) {
      case 'struct':
        return { kind: 'struct', fields: finishStruct(type.fields) };
      case 'list': {
        const elementId = type.elementId ?? fresh();
        return { kind: 'list', elementId, elementRequired: type.elementRequired, element: finishType(type.element) };
      }
      case 'map': {
        const keyId = type.keyId ?? fresh();
        const valueId = type.valueId ?? fresh();
        return { kind: 'map', keyId, key: finishType(type.key), valueId, valueRequired: type.valueRequired, value: finishType(type.value) };
      }
      default:
        return type;
    }
  };
  const built: Schema = { schemaId: 0, identifierFieldIds: [], fields: finishStruct(draft) };
  const names = indexByName(built);
  const identifierFieldIds = (options.identifierFields ?? []).map((name) => names.get(name) ?? fail(`identifier field "${name}" is not in the schema; fields: ${[...names.keys()].join(', ')}`));
  const schema: Schema = { ...built, identifierFieldIds };
  try {
    validateSchema(schema, where);
  } catch (error) {
    throw new SchemaIncompatibleError((error as Error).message, { cause: error, context: { where } });
  }
  return { schema, lastColumnId: Math.max(next, highestFieldId(schema)) };
}

function visitIds(fields: readonly DraftField[], path: string, visit: (id: number | undefined, path: string) => void): void {
  const visitType = (type: DraftType, at: string): void => {
    if (type.kind === 'struct') visitIds(type.fields, at, visit);
    if (type.kind === 'list') {
      visit(type.elementId, `${at}.element`);
      visitType(type.element, `${at}.element`);
    }
    if (type.kind === 'map') {
      visit(type.keyId, `${at}.key`);
      visit(type.valueId, `${at}.value`);
      visitType(type.key, `${at}.key`);
      visitType(type.value, `${at}.value`);
    }
  };
  for (const field of fields) {
    const at = path ? `${path}.${field.name}` : field.name;
    visit(field.id, at);
    visitType(field.type, at);
  }
}
