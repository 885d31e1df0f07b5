// update-schema: add, rename, widen (int→long, float→double, decimal precision), make optional, drop, and set
// identifier fields. New field ids come from the table's last-column-id. Changes Iceberg cannot apply safely are
// refused with SchemaIncompatibleError saying why (for example long→int narrows, required columns need a default).
// Must never: reuse a field id, or change a column's id.
import { SchemaIncompatibleError } from '../../shared/errors.js';
import type { Table } from '../catalogs/catalog.js';
import type { FieldSpec, Schema } from '../spec/schema.js';
import { buildSchema, indexById, indexByName, sameSchemaStructure, validateSchema } from '../spec/schema.js';
import { currentSchema, defaultSpec } from '../spec/table-metadata.js';
import { LAST_ADDED } from '../spec/table-update.js';
import type { IcebergType, NestedField, PrimitiveType, StructType } from '../spec/types.js';
import { isPrimitive, typeToString } from '../spec/types.js';
import type { PendingCommit, TableAction } from './action.js';

export type SchemaChange =
  | { op: 'add'; parent?: string; field: FieldSpec }
  | { op: 'rename'; name: string; newName: string }
  | { op: 'update-type'; name: string; type: PrimitiveType }
  | { op: 'make-optional'; name: string }
  | { op: 'drop'; name: string }
  | { op: 'set-identifier-fields'; names: string[] };

/** Whether Iceberg allows promoting `from` to `to` (spec "Schema Evolution", type promotion). */
export function canPromote(from: PrimitiveType, to: PrimitiveType): boolean {
  if (from.kind === to.kind) {
    if (from.kind === 'decimal' && to.kind === 'decimal') return from.scale === to.scale && to.precision >= from.precision;
    if (from.kind === 'fixed' && to.kind === 'fixed') return from.length === to.length;
    return true;
  }
  return (from.kind === 'int' && to.kind === 'long') || (from.kind === 'float' && to.kind === 'double');
}

function promotionRefusal(name: string, from: PrimitiveType, to: PrimitiveType): string {
  const f = typeToString(from);
  const t = typeToString(to);
  if (from.kind === 'decimal' && to.kind === 'decimal') {
    return from.scale !== to.scale
      ? `cannot change "${name}" from ${f} to ${t}: a decimal's scale cannot change`
      : `cannot change "${name}" from ${f} to ${t}: decimal precision can only grow`;
  }
  if ((from.kind === 'long' && to.kind === 'int') || (from.kind === 'double' && to.kind === 'float')) {
    return `cannot change "${name}" from ${f} to ${t}: narrowing would lose values already written`;
  }
  return `cannot change "${name}" from ${f} to ${t}: Iceberg only promotes int→long, float→double and decimal(P,S)→decimal(P',S) with P'≥P`;
}

type MutableField = { -readonly [K in keyof NestedField]: NestedField[K] };

/** Applies changes to a schema; returns the new schema (id = `schemaId`) and the new last column id. */
export function evolveSchema(schema: Schema, lastColumnId: number, changes: readonly SchemaChange[], schemaId: number, protectedIds: ReadonlySet<number> = new Set()): { schema: Schema; lastColumnId: number } {
  let fields: NestedField[] = structuredClone(schema.fields) as NestedField[];
  let identifierFieldIds = [...schema.identifierFieldIds];
  let last = lastColumnId;
  const current = (): Schema => ({ schemaId, identifierFieldIds, fields });
  const find = (name: string): MutableField => {
    const id = indexByName(current()).get(name);
    const field = id === undefined ? undefined : (indexById(current()).get(id)?.field as MutableField | undefined);
    if (!field) throw new SchemaIncompatibleError(`no column "${name}" in schema ${schema.schemaId}; columns: ${[...indexByName(current()).keys()].join(', ')}`);
    return field;
  };
  // Rebuilds the tree with the field `id` edited (or removed): struct fields, list elements and map keys/values.
  const replaceField = (id: number, edit: (f: MutableField) => NestedField | undefined): void => {
    const walk = (list: NestedField[]): NestedField[] => list.flatMap((f) => {
      if (f.id === id) {
        const next = edit({ ...f });
        return next ? [next] : [];
      }
      return [{ ...f, type: walkType(f.type) }];
    });
    // A list element or map key/value is edited as a pseudo field (its id, `element`/`key`/`value`, its nullability).
    const member = (memberId: number, name: string, required: boolean, type: IcebergType): { required: boolean; type: IcebergType } => {
      if (memberId !== id) return { required, type: walkType(type) };
      const next = edit({ id: memberId, name, required, type });
      if (!next) throw new SchemaIncompatibleError(`cannot drop the ${name} of a ${name === 'element' ? 'list' : 'map'}: drop the column that holds it`);
      return { required: next.required, type: next.type };
    };
    const walkType = (type: IcebergType): IcebergType => {
      switch (type.kind) {
        case 'struct':
          return { kind: 'struct', fields: walk([...type.fields]) };
        case 'list': {
          const element = member(type.elementId, 'element', type.elementRequired, type.element);
          return { ...type, elementRequired: element.required, element: element.type };
        }
        case 'map': {
          const key = member(type.keyId, 'key', true, type.key);
          const value = member(type.valueId, 'value', type.valueRequired, type.value);
          return { ...type, key: key.type, valueRequired: value.required, value: value.type };
        }
        default:
          return type;
      }
    };
    fields = walk(fields);
  };
  for (const change of changes) {
    switch (change.op) {
      case 'add': {
        if (change.field.required) throw new SchemaIncompatibleError(`cannot add required column "${change.field.name}": existing rows have no value for it (add it as optional)`);
        const built = buildSchema([change.field], { nextId: last + 1 });
        last = built.lastColumnId;
        const added = built.schema.fields[0]!;
        if (change.parent === undefined) {
          if (fields.some((f) => f.name === added.name)) throw new SchemaIncompatibleError(`cannot add column "${added.name}": it already exists`);
          fields = [...fields, added];
        } else {
          const parent = find(change.parent);
          if (parent.type.kind !== 'struct') throw new SchemaIncompatibleError(`cannot add "${added.name}" to "${change.parent}": it is a ${parent.type.kind}, not a struct`);
          if (parent.type.fields.some((f) => f.name === added.name)) throw new SchemaIncompatibleError(`cannot add column "${change.parent}.${added.name}": it already exists`);
          replaceField(parent.id, (f) => ({ ...f, type: { kind: 'struct', fields: [...(f.type as StructType).fields, added] } }));
        }
        break;
      }
      case 'rename': {
        const field = find(change.name);
        const siblings = change.name.includes('.') ? change.name.slice(0, change.name.lastIndexOf('.')) + '.' : '';
        if (indexByName(current()).has(siblings + change.newName)) throw new SchemaIncompatibleError(`cannot rename "${change.name}" to "${change.newName}": that name is taken`);
        replaceField(field.id, (f) => ({ ...f, name: change.newName }));
        break;
      }
      case 'update-type': {
        const field = find(change.name);
        if (!isPrimitive(field.type)) throw new SchemaIncompatibleError(`cannot change the type of "${change.name}": it is a ${field.type.kind}`);
        if (!canPromote(field.type, change.type)) throw new SchemaIncompatibleError(promotionRefusal(change.name, field.type, change.type));
        replaceField(field.id, (f) => ({ ...f, type: change.type }));
        break;
      }
      case 'make-optional': {
        const field = find(change.name);
        if (identifierFieldIds.includes(field.id)) throw new SchemaIncompatibleError(`cannot make "${change.name}" optional: it is an identifier (key) field`);
        replaceField(field.id, (f) => ({ ...f, required: false }));
        break;
      }
      case 'drop': {
        const field = find(change.name);
        if (identifierFieldIds.includes(field.id)) throw new SchemaIncompatibleError(`cannot drop "${change.name}": it is an identifier (key) field`);
        if (protectedIds.has(field.id)) throw new SchemaIncompatibleError(`cannot drop "${change.name}": the current partition spec uses it`);
        replaceField(field.id, () => undefined);
        break;
      }
      case 'set-identifier-fields':
        identifierFieldIds = change.names.map((name) => find(name).id);
        break;
    }
  }
  const next = current();
  try {
    validateSchema(next);
  } catch (error) {
    throw new SchemaIncompatibleError((error as Error).message, { cause: error });
  }
  return { schema: next, lastColumnId: last };
}

export class UpdateSchema implements TableAction {
  readonly name = 'update-schema';
  constructor(private readonly changes: readonly SchemaChange[]) {}

  async prepare(base: Table): Promise<PendingCommit> {
    const metadata = base.metadata;
    const schema = currentSchema(metadata);
    const nextId = Math.max(...metadata.schemas.map((s) => s.schemaId)) + 1;
    const protectedIds = new Set(defaultSpec(metadata).fields.map((f) => f.sourceId));
    const evolved = evolveSchema(schema, metadata.lastColumnId, this.changes, nextId, protectedIds);
    const requirements = [
      { type: 'assert-current-schema-id', currentSchemaId: metadata.currentSchemaId },
      { type: 'assert-last-assigned-field-id', lastAssignedFieldId: metadata.lastColumnId },
    ] as const;
    const same = metadata.schemas.find((s) => sameSchemaStructure(s, evolved.schema));
    if (same) return { requirements, updates: same.schemaId === metadata.currentSchemaId ? [] : [{ action: 'set-current-schema', schemaId: same.schemaId }] };
    return {
      requirements,
      updates: [
        { action: 'add-schema', schema: evolved.schema },
        { action: 'set-current-schema', schemaId: LAST_ADDED },
      ],
    };
  }
}

export const updateSchema = (changes: readonly SchemaChange[]): UpdateSchema => new UpdateSchema(changes);
