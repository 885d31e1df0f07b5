// Iceberg data types (spec "Schemas and Data Types"): primitives, struct, list and map, with their JSON form.
// PURE: no IO. Types are plain immutable data; parsing rejects anything the spec does not define.
import { MetadataInvalidError } from '../../shared/errors.js';

export type PrimitiveType =
  | { kind: 'boolean' }
  | { kind: 'int' }
  | { kind: 'long' }
  | { kind: 'float' }
  | { kind: 'double' }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'date' }
  | { kind: 'time' }
  | { kind: 'timestamp' }
  | { kind: 'timestamptz' }
  | { kind: 'timestamp_ns' }
  | { kind: 'timestamptz_ns' }
  | { kind: 'string' }
  | { kind: 'uuid' }
  | { kind: 'fixed'; length: number }
  | { kind: 'binary' };

export type PrimitiveKind = PrimitiveType['kind'];

export interface NestedField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: IcebergType;
  readonly doc?: string;
  readonly initialDefault?: unknown;
  readonly writeDefault?: unknown;
}

export interface StructType {
  readonly kind: 'struct';
  readonly fields: readonly NestedField[];
}

export interface ListType {
  readonly kind: 'list';
  readonly elementId: number;
  readonly elementRequired: boolean;
  readonly element: IcebergType;
}

export interface MapType {
  readonly kind: 'map';
  readonly keyId: number;
  readonly key: IcebergType;
  readonly valueId: number;
  readonly valueRequired: boolean;
  readonly value: IcebergType;
}

export type IcebergType = PrimitiveType | StructType | ListType | MapType;

const SIMPLE = new Set<string>([
  'boolean', 'int', 'long', 'float', 'double', 'date', 'time', 'timestamp', 'timestamptz', 'timestamp_ns',
  'timestamptz_ns', 'string', 'uuid', 'binary',
]);

export function isPrimitive(type: IcebergType): type is PrimitiveType {
  return type.kind !== 'struct' && type.kind !== 'list' && type.kind !== 'map';
}

export const primitive = <K extends Exclude<PrimitiveKind, 'decimal' | 'fixed'>>(kind: K): PrimitiveType =>
  ({ kind }) as PrimitiveType;
export const decimal = (precision: number, scale: number): PrimitiveType => ({ kind: 'decimal', precision, scale });
export const fixed = (length: number): PrimitiveType => ({ kind: 'fixed', length });

/** The spec's name of a type: `long`, `decimal(9,2)`, `fixed[16]`, `struct<…>`, `list<…>`, `map<…,…>`. */
export function typeToString(type: IcebergType): string {
  switch (type.kind) {
    case 'decimal':
      return `decimal(${type.precision}, ${type.scale})`;
    case 'fixed':
      return `fixed[${type.length}]`;
    case 'struct':
      return `struct<${type.fields.map((f) => `${f.id}: ${f.name}: ${f.required ? 'required' : 'optional'} ${typeToString(f.type)}`).join(', ')}>`;
    case 'list':
      return `list<${typeToString(type.element)}>`;
    case 'map':
      return `map<${typeToString(type.key)}, ${typeToString(type.value)}>`;
    default:
      return type.kind;
  }
}

// ---- JSON (spec Appendix C) ----

export type TypeJson = string | StructTypeJson | ListTypeJson | MapTypeJson;
export interface FieldJson {
  id: number;
  name: string;
  required: boolean;
  type: TypeJson;
  doc?: string;
  'initial-default'?: unknown;
  'write-default'?: unknown;
}
export interface StructTypeJson { type: 'struct'; fields: FieldJson[] }
export interface ListTypeJson { type: 'list'; 'element-id': number; 'element-required': boolean; element: TypeJson }
export interface MapTypeJson {
  type: 'map';
  'key-id': number;
  key: TypeJson;
  'value-id': number;
  'value-required': boolean;
  value: TypeJson;
}

export function typeToJson(type: IcebergType): TypeJson {
  switch (type.kind) {
    case 'struct':
      return structToJson(type);
    case 'list':
      return { type: 'list', 'element-id': type.elementId, 'element-required': type.elementRequired, element: typeToJson(type.element) };
    case 'map':
      return {
        type: 'map',
        'key-id': type.keyId,
        key: typeToJson(type.key),
        'value-id': type.valueId,
        'value-required': type.valueRequired,
        value: typeToJson(type.value),
      };
    default:
      // A primitive's JSON form is its spec name (`long`, `decimal(9, 2)`, `fixed[16]`).
      return typeToString(type);
  }
}

export function structToJson(struct: StructType): StructTypeJson {
  return {
    type: 'struct',
    fields: struct.fields.map((f) => {
      const json: FieldJson = { id: f.id, name: f.name, required: f.required, type: typeToJson(f.type) };
      if (f.doc !== undefined) json.doc = f.doc;
      if (f.initialDefault !== undefined) json['initial-default'] = f.initialDefault;
      if (f.writeDefault !== undefined) json['write-default'] = f.writeDefault;
      return json;
    }),
  };
}

/** Parses a type from metadata JSON; `where` names the place for error messages (e.g. `schema 0 field "id"`). */
export function typeFromJson(json: unknown, where = 'type'): IcebergType {
  if (typeof json === 'string') return primitiveFromString(json, where);
  if (json === null || typeof json !== 'object') throw new MetadataInvalidError(`${where}: expected a type, found ${JSON.stringify(json)}`);
  const obj = json as Record<string, unknown>;
  switch (obj.type) {
    case 'struct':
      return structFromJson(obj, where);
    case 'list':
      return {
        kind: 'list',
        elementId: requireInt(obj['element-id'], `${where}.element-id`),
        elementRequired: requireBool(obj['element-required'], `${where}.element-required`),
        element: typeFromJson(obj.element, `${where}.element`),
      };
    case 'map':
      return {
        kind: 'map',
        keyId: requireInt(obj['key-id'], `${where}.key-id`),
        key: typeFromJson(obj.key, `${where}.key`),
        valueId: requireInt(obj['value-id'], `${where}.value-id`),
        valueRequired: requireBool(obj['value-required'], `${where}.value-required`),
        value: typeFromJson(obj.value, `${where}.value`),
      };
    default:
      throw new MetadataInvalidError(`${where}: unknown nested type ${JSON.stringify(obj.type)}; expected struct, list or map`);
  }
}

export function structFromJson(json: unknown, where = 'struct'): StructType {
  const obj = json as Record<string, unknown> | null;
  if (!obj || obj.type !== 'struct' || !Array.isArray(obj.fields)) throw new MetadataInvalidError(`${where}: expected {"type":"struct","fields":[…]}`);
  return {
    kind: 'struct',
    fields: obj.fields.map((raw: unknown, index) => {
      const f = raw as Record<string, unknown>;
      const at = `${where}.fields[${index}]`;
      const field: { -readonly [K in keyof NestedField]: NestedField[K] } = {
        id: requireInt(f.id, `${at}.id`),
        name: requireString(f.name, `${at}.name`),
        required: requireBool(f.required, `${at}.required`),
        type: typeFromJson(f.type, `${at} ("${String(f.name)}")`),
      };
      if (typeof f.doc === 'string') field.doc = f.doc;
      if (f['initial-default'] !== undefined) field.initialDefault = f['initial-default'];
      if (f['write-default'] !== undefined) field.writeDefault = f['write-default'];
      return field;
    }),
  };
}

function primitiveFromString(text: string, where: string): PrimitiveType {
  if (SIMPLE.has(text)) return { kind: text } as PrimitiveType;
  const dec = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(text);
  if (dec) {
    const precision = Number(dec[1]);
    const scale = Number(dec[2]);
    if (precision < 1 || precision > 38 || scale > precision) throw new MetadataInvalidError(`${where}: ${text} is out of range (precision 1..38, scale <= precision)`);
    return { kind: 'decimal', precision, scale };
  }
  const fix = /^fixed\[(\d+)\]$/.exec(text);
  if (fix) return { kind: 'fixed', length: Number(fix[1]) };
  throw new MetadataInvalidError(`${where}: unknown type "${text}"`);
}

function requireInt(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new MetadataInvalidError(`${where}: expected an integer, found ${JSON.stringify(v)}`);
  return v;
}
function requireBool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') throw new MetadataInvalidError(`${where}: expected true or false, found ${JSON.stringify(v)}`);
  return v;
}
function requireString(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new MetadataInvalidError(`${where}: expected a string, found ${JSON.stringify(v)}`);
  return v;
}
