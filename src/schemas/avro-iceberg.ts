// Avro ⇄ Iceberg schema mapping. An Avro record schema as registered (raw JSON, with Iceberg's `field-id`,
// `element-id`, `key-id`/`value-id` attributes when present) becomes an Iceberg Schema whose field ids stay stable
// across versions; icebergToAvro goes back, writing those attributes. docs/schemas.md has the type table and id rules.
// PURE: no IO. Must never: give a field a fresh id while it has an old one (attribute, or its name or an alias in
// `previous`), give one id to two fields, or accept an Avro type whose values the sink could not keep exactly.
import type { Schema } from '../catalog/spec/schema.js';
import type { IcebergType, NestedField, PrimitiveType } from '../catalog/spec/types.js';
import { SchemaIncompatibleError } from '../shared/errors.js';
import type { AvroFieldSchema, AvroRecordSchema } from './envelope.js';
import { assignFieldIds, type DraftField, type DraftType, type FieldIdOptions } from './field-ids.js';

// ---- Avro → Iceberg ----

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
/** Iceberg's attribute holding a field's real name when it is not a valid Avro name (AvroSchemaUtil). */
export const ICEBERG_FIELD_NAME = 'iceberg-field-name';

/**
 * The Iceberg schema of an Avro record (see docs/schemas.md for the type table). Optional = a two-branch union with
 * "null". Throws SchemaIncompatibleError naming the field path for other unions, recursive records, a known logical
 * type on a type it does not fit, and decimals wider than 38 digits. Unknown logical types are ignored (Avro spec).
 */
export function avroToIceberg(record: AvroRecordSchema, options: FieldIdOptions = {}): { schema: Schema; lastColumnId: number } {
  const where = options.where ?? `Avro record ${isObject(record) ? String(record.name) : '?'}`;
  const reader = new AvroReader(where);
  if (!isObject(record) || record.type !== 'record') reader.fail('', `expected an Avro record schema, found ${describe(record)}`);
  const struct = reader.type(record, '', undefined, false);
  return assignFieldIds((struct as { fields: DraftField[] }).fields, { ...options, where });
}

class AvroReader {
  private readonly named = new Map<string, Json>();
  /** Each definition's full name and the namespace its children resolve names in (where it was written). */
  private readonly defined = new WeakMap<Json, { full: string; space: string | undefined }>();
  private readonly open = new Set<string>();
  constructor(private readonly where: string) {}

  fail(path: string, message: string): never {
    throw new SchemaIncompatibleError(`${this.where}${path ? `, field "${path}"` : ''}: ${message}`, { context: { where: this.where, field: path } });
  }

  /** A field, list element or map value: a type, or a union with "null" (optional). */
  position(schema: unknown, path: string, ns: string | undefined, skipIds: boolean): { type: DraftType; required: boolean } {
    if (!Array.isArray(schema)) return { type: this.type(schema, path, ns, skipIds), required: true };
    const rest = schema.filter((b) => b !== 'null' && !(isObject(b) && b.type === 'null'));
    if (rest.length === 1 && schema.length <= 2) return { type: this.type(rest[0], path, ns, skipIds), required: schema.length === 1 };
    return this.fail(path, `expected a type or a union of "null" and one type (an optional value), found the union ${describe(schema)}: Iceberg has no union type`);
  }

  type(schema: unknown, path: string, ns: string | undefined, skipIds: boolean): DraftType {
    if (typeof schema === 'string') {
      if (PRIMITIVES.has(schema)) return this.primitive(schema, {}, path);
      // A reference: the definition's ids (if any) belong to where it was first written.
      return this.type(this.lookup(schema, ns, path), path, ns, true);
    }
    if (Array.isArray(schema)) return this.fail(path, `a union cannot hold another union, found ${describe(schema)}`);
    if (!isObject(schema)) return this.fail(path, `expected an Avro schema, found ${describe(schema)}`);
    const kind = schema.type;
    if (isObject(kind) || Array.isArray(kind)) return this.type(kind, path, ns, skipIds);
    if (typeof kind !== 'string') return this.fail(path, `expected "type" to be a string, found ${describe(kind)}`);
    switch (kind) {
      case 'record':
      case 'error':
        return this.record(schema, this.define(schema, ns, path), path, skipIds);
      case 'enum':
        this.define(schema, ns, path);
        return { kind: 'string' };
      case 'fixed':
        this.define(schema, ns, path);
        return this.primitive('fixed', schema, path);
      case 'array': {
        if (schema.logicalType === 'map') return this.logicalMap(schema, path, ns, skipIds);
        const element = this.position(schema.items, `${path}.element`, ns, skipIds);
        const elementId = skipIds ? undefined : this.id(schema['element-id'], path, 'element-id');
        return { kind: 'list', elementId, elementRequired: element.required, element: element.type };
      }
      case 'map': {
        const value = this.position(schema.values, `${path}.value`, ns, skipIds);
        const keyId = skipIds ? undefined : this.id(schema['key-id'], path, 'key-id');
        const valueId = skipIds ? undefined : this.id(schema['value-id'], path, 'value-id');
        return { kind: 'map', keyId, key: { kind: 'string' }, valueId, valueRequired: value.required, value: value.type };
      }
      default:
        if (PRIMITIVES.has(kind)) return this.primitive(kind, schema, path);
        return this.type(this.lookup(kind, ns, path), path, ns, true);
    }
  }

  /** Registers a named type (once: a reference keeps the namespace of its definition). */
  private define(schema: Json, ns: string | undefined, path: string): { full: string; space: string | undefined } {
    const known = this.defined.get(schema);
    if (known) return known;
    const name = schema.name;
    if (typeof name !== 'string' || name === '') return this.fail(path, `a ${String(schema.type)} needs a name, found ${describe(name)}`);
    const space = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : typeof schema.namespace === 'string' ? schema.namespace || undefined : ns;
    const full = name.includes('.') ? name : space ? `${space}.${name}` : name;
    if (this.named.has(full)) this.fail(path, `the name ${full} is defined twice`);
    this.named.set(full, schema);
    this.defined.set(schema, { full, space });
    return { full, space };
  }

  private lookup(name: string, ns: string | undefined, path: string): Json {
    const found = (!name.includes('.') && ns ? this.named.get(`${ns}.${name}`) : undefined) ?? this.named.get(name);
    return found ?? this.fail(path, `unknown type name "${name}"${ns ? ` (namespace ${ns})` : ''}; known names: ${[...this.named.keys()].join(', ') || 'none'}`);
  }

  private record(schema: Json, { full, space: ns }: { full: string; space: string | undefined }, path: string, skipIds: boolean): DraftType {
    if (this.open.has(full)) this.fail(path, `record ${full} contains itself: Iceberg schemas cannot be recursive`);
    if (!Array.isArray(schema.fields)) this.fail(path, `record ${full} needs a "fields" array`);
    this.open.add(full);
    const fields = (schema.fields as unknown[]).map((raw): DraftField => {
      const f = isObject(raw) ? (raw as AvroFieldSchema) : this.fail(path, `record ${full} has a field that is not an object: ${describe(raw)}`);
      const name = typeof f[ICEBERG_FIELD_NAME] === 'string' ? (f[ICEBERG_FIELD_NAME] as string) : f.name;
      if (typeof name !== 'string' || name === '') this.fail(path, `record ${full} has a field without a name`);
      const at = path ? `${path}.${name}` : name;
      const { type, required } = this.position(f.type, at, ns, skipIds);
      const aliases = Array.isArray(f.aliases) ? f.aliases.filter((a): a is string => typeof a === 'string') : [];
      const id = skipIds ? undefined : this.id(f['field-id'], at, 'field-id');
      return { id, name, required, type, ...(aliases.length > 0 ? { aliases } : {}), ...(typeof f.doc === 'string' ? { doc: f.doc } : {}) };
    });
    this.open.delete(full);
    return { kind: 'struct', fields };
  }

  /** Iceberg's map with non-string keys: an array of records {key, value}, logicalType "map". */
  private logicalMap(schema: Json, path: string, ns: string | undefined, skipIds: boolean): DraftType {
    const items = typeof schema.items === 'string' && !PRIMITIVES.has(schema.items) ? this.lookup(schema.items, ns, path) : schema.items;
    const fields = isObject(items) && items.type === 'record' && Array.isArray(items.fields) ? (items.fields as AvroFieldSchema[]) : [];
    const key = fields.find((f) => f.name === 'key');
    const value = fields.find((f) => f.name === 'value');
    if (!key || !value || fields.length !== 2) return this.fail(path, `logicalType "map" needs an array of records with fields "key" and "value", found items ${describe(items)}`);
    const { full, space } = this.define(items as Json, ns, path);
    const again = skipIds || schema.items !== items; // referenced by name: ids belong to its definition
    if (this.open.has(full)) this.fail(path, `record ${full} contains itself: Iceberg schemas cannot be recursive`);
    this.open.add(full);
    const k = this.position(key.type, `${path}.key`, space, again);
    if (!k.required) this.fail(`${path}.key`, 'map keys cannot be null, found an optional key');
    const v = this.position(value.type, `${path}.value`, space, again);
    this.open.delete(full);
    return {
      kind: 'map', key: k.type, value: v.type, valueRequired: v.required,
      keyId: again ? undefined : this.id(key['field-id'], `${path}.key`, 'field-id'),
      valueId: again ? undefined : this.id(value['field-id'], `${path}.value`, 'field-id'),
    };
  }

  private id(value: unknown, path: string, attribute: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return n;
    return this.fail(path, `attribute "${attribute}" must be a non-negative integer, found ${describe(value)}`);
  }

  private primitive(kind: string, schema: Json, path: string): DraftType {
    const logical = typeof schema.logicalType === 'string' ? schema.logicalType : undefined;
    const size = typeof schema.size === 'number' ? schema.size : undefined;
    const misfit = (fits: string): never => this.fail(path, `logical type "${logical}" applies to ${fits}, found it on ${kind}${size === undefined ? '' : `(${size})`}`);
    switch (logical) {
      case 'decimal':
        return kind === 'bytes' || kind === 'fixed' ? this.decimal(schema, path, size) : misfit('bytes or fixed');
      case 'uuid':
        return kind === 'string' || (kind === 'fixed' && size === 16) ? { kind: 'uuid' } : misfit('string or fixed(16)');
      case 'date':
        return kind === 'int' ? { kind: 'date' } : misfit('int');
      case 'time-millis':
        return kind === 'int' ? { kind: 'time' } : misfit('int');
      case 'time-micros':
        return kind === 'long' ? { kind: 'time' } : misfit('long');
      case 'timestamp-millis':
      case 'timestamp-micros':
        if (kind !== 'long') misfit('long');
        return { kind: schema['adjust-to-utc'] === false ? 'timestamp' : 'timestamptz' };
      case 'timestamp-nanos':
        if (kind !== 'long') misfit('long');
        return { kind: schema['adjust-to-utc'] === false ? 'timestamp_ns' : 'timestamptz_ns' };
      case 'local-timestamp-millis':
      case 'local-timestamp-micros':
        return kind === 'long' ? { kind: 'timestamp' } : misfit('long');
      case 'local-timestamp-nanos':
        return kind === 'long' ? { kind: 'timestamp_ns' } : misfit('long');
      case 'map':
        return misfit('array (of key/value records)');
      default:
        break;
    }
    switch (kind) {
      case 'null':
        return this.fail(path, 'type "null" alone has no Iceberg type (an optional value is ["null", T])');
      case 'bytes':
      case 'fixed':
        return { kind: 'binary' };
      default:
        return { kind } as PrimitiveType;
    }
  }

  private decimal(schema: Json, path: string, size: number | undefined): DraftType {
    const precision = schema.precision;
    const scale = schema.scale ?? 0;
    if (typeof precision !== 'number' || !Number.isInteger(precision) || precision < 1) this.fail(path, `decimal precision must be a positive integer, found ${describe(precision)}`);
    if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || scale > (precision as number)) this.fail(path, `decimal scale must be an integer from 0 to the precision (${String(precision)}), found ${describe(scale)}`);
    if ((precision as number) > 38) this.fail(path, `decimal(${String(precision)}, ${String(scale)}) has more than 38 digits, the most an Iceberg decimal holds`);
    if (size !== undefined && (precision as number) > Math.floor((8 * size - 1) * Math.log10(2))) this.fail(path, `decimal precision ${String(precision)} does not fit fixed(${size})`);
    return { kind: 'decimal', precision: precision as number, scale: scale as number };
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

// ---- Iceberg → Avro ----

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Iceberg's AvroSchemaUtil.sanitize: a leading digit gets "_", any other invalid character becomes `_x<HEX>`. */
export function sanitizeAvroName(name: string): string {
  let out = '';
  for (const ch of name) {
    const ok = out === '' ? /[A-Za-z_]/.test(ch) : /[A-Za-z0-9_]/.test(ch);
    out += ok ? ch : /[0-9]/.test(ch) ? `_${ch}` : `_x${ch.codePointAt(0)!.toString(16).toUpperCase()}`;
  }
  return out;
}

/**
 * The Avro record schema of an Iceberg schema, in Iceberg's Avro conventions: ids in `field-id`, `element-id`,
 * `key-id`/`value-id`; optional → ["null", T] with default null; nested records named `r<fieldId>` (map entries
 * `k<keyId>_v<valueId>`, fixed `fixed<fieldId>`), so names never clash. A name Avro does not allow is sanitized and kept
 * in `iceberg-field-name`. avroToIceberg reverses it exactly, except fixed[L], which comes back as binary.
 */
export function icebergToAvro(schema: Schema, options: { name: string; namespace?: string }): AvroRecordSchema {
  return {
    type: 'record',
    name: options.name,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    fields: schema.fields.map(fieldToAvro),
  };
}

function optional(type: unknown, required: boolean): unknown {
  return required ? type : ['null', type];
}

/** The Avro name icebergToAvro (and the producers) give a field: its own when Avro allows it, else sanitized. */
export function avroFieldName(name: string): string {
  return AVRO_NAME.test(name) ? name : sanitizeAvroName(name);
}

function fieldToAvro(field: NestedField): AvroFieldSchema {
  const valid = AVRO_NAME.test(field.name);
  return {
    name: avroFieldName(field.name),
    type: optional(typeToAvro(field.type, field.id), field.required),
    ...(field.required ? {} : { default: null }),
    ...(field.doc === undefined ? {} : { doc: field.doc }),
    'field-id': field.id,
    ...(valid ? {} : { [ICEBERG_FIELD_NAME]: field.name }),
  };
}

/** Primitives whose Avro form is fixed (decimal and fixed[L] carry parameters). */
const AVRO_PRIMITIVES: Partial<Record<IcebergType['kind'], unknown>> = {
  boolean: 'boolean', int: 'int', long: 'long', float: 'float', double: 'double', string: 'string', binary: 'bytes',
  date: { type: 'int', logicalType: 'date' },
  time: { type: 'long', logicalType: 'time-micros' },
  timestamp: { type: 'long', logicalType: 'local-timestamp-micros' },
  timestamptz: { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true },
  timestamp_ns: { type: 'long', logicalType: 'local-timestamp-nanos' },
  timestamptz_ns: { type: 'long', logicalType: 'timestamp-nanos', 'adjust-to-utc': true },
  uuid: { type: 'string', logicalType: 'uuid' },
};

function typeToAvro(type: IcebergType, id: number): unknown {
  const simple = AVRO_PRIMITIVES[type.kind];
  if (simple !== undefined) return structuredClone(simple);
  switch (type.kind) {
    case 'decimal':
      return { type: 'bytes', logicalType: 'decimal', precision: type.precision, scale: type.scale };
    case 'fixed':
      return { type: 'fixed', name: `fixed${id}`, size: type.length };
    case 'struct':
      return { type: 'record', name: `r${id}`, fields: type.fields.map(fieldToAvro) };
    case 'list':
      return { type: 'array', items: optional(typeToAvro(type.element, type.elementId), type.elementRequired), 'element-id': type.elementId };
    case 'map': {
      const value = optional(typeToAvro(type.value, type.valueId), type.valueRequired);
      if (type.key.kind === 'string') return { type: 'map', values: value, 'key-id': type.keyId, 'value-id': type.valueId };
      return {
        type: 'array',
        logicalType: 'map',
        items: {
          type: 'record',
          name: `k${type.keyId}_v${type.valueId}`,
          fields: [
            { name: 'key', type: typeToAvro(type.key, type.keyId), 'field-id': type.keyId },
            { name: 'value', type: value, ...(type.valueRequired ? {} : { default: null }), 'field-id': type.valueId },
          ],
        },
      };
    }
  }
}
