// Field ids that stay stable across schema versions. Every Avro row schema DuckHouse registers carries Iceberg's
// Avro attributes: `field-id` on record fields, `element-id` on arrays, `key-id`/`value-id` on maps, and at the top
// `duckhouse.last-field-id`, the highest id ever handed out for the subject. A new version reuses the id of the field
// with the same name (or one of its Avro `aliases`) in the previous version and gives new fields fresh ids above the
// last one, so a column dropped and added again never gets its old id back.
// PURE: no IO. Must never: reuse an id for a different field, or change the id of a field that kept its name.
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
