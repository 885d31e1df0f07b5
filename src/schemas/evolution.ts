// Schema evolution rules of the sink: compares the table's current Iceberg schema with an incoming one (whose ids were
// matched to the table by avroToIceberg with `previous` = the table schema) and plans the update-schema changes
// (catalog/transaction/update-schema.ts) that let the table take the incoming rows; what cannot be done safely is
// refused with the field path, the old and the new type. docs/schemas.md has the rules table.
// PURE: no IO. Must never: plan a change that loses or reinterprets data already written (narrowing, a decimal scale
// change, a change of kind), drop a column, or change the key columns.
import type { FieldSpec, Schema, TypeSpec } from '../catalog/spec/schema.js';
import { highestFieldId, indexById, indexByName } from '../catalog/spec/schema.js';
import type { IcebergType, NestedField, PrimitiveType } from '../catalog/spec/types.js';
import { isPrimitive, typeToString } from '../catalog/spec/types.js';
import type { SchemaChange } from '../catalog/transaction/update-schema.js';
import { canPromote, evolveSchema } from '../catalog/transaction/update-schema.js';

export interface SchemaEvolutionPlan {
  /** In the order to apply them: renames (parents first), adds (by incoming id), promotions and make-optional. */
  changes: SchemaChange[];
  /** Why the incoming schema cannot be taken; when not empty, apply nothing. */
  refusals: string[];
  /** What an operator should know (columns kept with nulls, required fields added as optional, ids that differ). */
  notes: string[];
}

export interface PlanSchemaEvolutionOptions {
  /** The table's last-column-id (ids of added fields are predicted from it). Default: the highest id in `table`. */
  lastColumnId?: number;
}

const join = (path: string, name: string): string => (path ? `${path}.${name}` : name);

/** A type's name for messages, without the ids typeToString puts into structs. */
function short(type: IcebergType): string {
  switch (type.kind) {
    case 'struct': return 'struct';
    case 'list': return `list<${short(type.element)}>`;
    case 'map': return `map<${short(type.key)}, ${short(type.value)}>`;
    default: return typeToString(type);
  }
}

function promotionRefusal(path: string, from: PrimitiveType, to: PrimitiveType): string {
  const head = `"${path}": cannot change from ${typeToString(from)} to ${typeToString(to)}`;
  if (from.kind === 'decimal' && to.kind === 'decimal') {
    return from.scale !== to.scale ? `${head}: a decimal's scale cannot change (values already written would change)` : `${head}: decimal precision can only grow`;
  }
  if ((from.kind === 'long' && to.kind === 'int') || (from.kind === 'double' && to.kind === 'float')) return `${head}: narrowing would lose values already written`;
  return `${head}: Iceberg only promotes int→long, float→double and decimal(P,S)→decimal(P',S) with P'≥P`;
}

function fieldSpec(field: NestedField, required: boolean): FieldSpec {
  return { name: field.name, type: typeSpec(field.type), required, ...(field.doc === undefined ? {} : { doc: field.doc }) };
}

function typeSpec(type: IcebergType): TypeSpec {
  switch (type.kind) {
    case 'struct': return { kind: 'struct', fields: type.fields.map((f) => fieldSpec(f, f.required)) };
    case 'list': return { kind: 'list', element: typeSpec(type.element), elementRequired: type.elementRequired };
    case 'map': return { kind: 'map', key: typeSpec(type.key), value: typeSpec(type.value), valueRequired: type.valueRequired };
    default: return type;
  }
}

/**
 * Plans the changes that make `table` take rows of `incoming` (fields matched by id). New fields are added as optional;
 * fields missing from incoming stay (made optional when required); int→long, float→double and decimal precision growth
 * are promoted; renames (same id, new name) are renamed. Narrowing, decimal scale changes, other type changes, a field
 * moved to another struct, a list element or map key/value replaced, and a change of identifier fields are refused.
 * The plan is checked by applying it (evolveSchema): a change update-schema does not carry out becomes a refusal.
 */
export function planSchemaEvolution(table: Schema, incoming: Schema, options: PlanSchemaEvolutionOptions = {}): SchemaEvolutionPlan {
  const renames: SchemaChange[] = [];
  const adds: { id: number; change: SchemaChange }[] = [];
  const changes: SchemaChange[] = [];
  const refusals: string[] = [];
  const notes: string[] = [];
  const tableIndex = indexById(table);
  const incomingIndex = indexById(incoming);
  const keys = new Set(table.identifierFieldIds);
  const refuse = (message: string): void => void refusals.push(message);

  const makeOptional = (path: string, id: number, why: string): void => {
    if (keys.has(id)) refuse(`"${path}" is a key column: it cannot become optional (${why})`);
    else changes.push({ op: 'make-optional', name: path });
  };

  /** `path`: the parent's name once renames are applied (= its incoming path); '' for the top level. */
  const struct = (tableFields: readonly NestedField[], incomingFields: readonly NestedField[], path: string): void => {
    const byId = new Map(tableFields.map((f) => [f.id, f]));
    const kept = tableFields.filter((f) => !incomingIndex.has(f.id));
    const clash = (field: NestedField): boolean => {
      const other = kept.find((f) => f.name === field.name);
      if (other) refuse(`"${join(path, field.name)}": the incoming field (id ${field.id}) has the name of column id ${other.id}, which the incoming schema no longer has; a name cannot pass to another column`);
      return other !== undefined;
    };
    // Renames of this level first; when one takes a name another still has (a swap), go through temporary names.
    const level = incomingFields.flatMap((f) => {
      const old = byId.get(f.id);
      return old && old.name !== f.name && !clash(f) ? [{ from: old.name, to: f.name, id: f.id }] : [];
    });
    const swap = level.some((r) => tableFields.some((f) => f.name === r.to));
    for (const r of level) {
      notes.push(`"${join(path, r.from)}" is renamed to "${r.to}" (field id ${r.id})`);
      if (swap) renames.push({ op: 'rename', name: join(path, r.from), newName: `${r.to}__renaming_${r.id}` });
      else renames.push({ op: 'rename', name: join(path, r.from), newName: r.to });
    }
    if (swap) for (const r of level) renames.push({ op: 'rename', name: join(path, `${r.to}__renaming_${r.id}`), newName: r.to });

    for (const field of incomingFields) {
      const at = join(path, field.name);
      const old = byId.get(field.id);
      if (!old) {
        const elsewhere = tableIndex.get(field.id);
        if (elsewhere) refuse(`"${at}": field id ${field.id} is "${elsewhere.path}" in the table; moving a field to another struct is not supported`);
        else if (!clash(field)) {
          adds.push({ id: field.id, change: { op: 'add', ...(path ? { parent: path } : {}), field: fieldSpec(field, false) } });
          if (field.required) notes.push(`"${at}" is required in the incoming schema but is added as optional: rows written before have no value`);
        }
        continue;
      }
      if (old.required && !field.required) makeOptional(at, old.id, 'the incoming schema makes it optional');
      if (!old.required && field.required) notes.push(`"${at}" is required in the incoming schema; it stays optional in the table`);
      compare(old.type, field.type, at);
    }
    for (const field of kept) {
      const at = join(path, field.name);
      notes.push(`"${at}" is not in the incoming schema: the column stays and new rows write null`);
      if (field.required) makeOptional(at, field.id, 'the incoming schema does not have it');
    }
  };

  const compare = (from: IcebergType, to: IcebergType, path: string): void => {
    if (isPrimitive(from) && isPrimitive(to)) {
      if (typeToString(from) === typeToString(to)) return;
      if (canPromote(from, to)) changes.push({ op: 'update-type', name: path, type: to });
      else refuse(promotionRefusal(path, from, to));
      return;
    }
    if (from.kind !== to.kind) {
      refuse(`"${path}": cannot change from ${short(from)} to ${short(to)}: only primitive types can change, by promotion`);
      return;
    }
    if (from.kind === 'struct' && to.kind === 'struct') struct(from.fields, to.fields, path);
    if (from.kind === 'list' && to.kind === 'list') {
      if (from.elementId !== to.elementId) {
        refuse(`"${path}.element": the list element is field id ${from.elementId} in the table but ${to.elementId} in the incoming schema; an element cannot be replaced`);
        return;
      }
      if (from.elementRequired && !to.elementRequired) makeOptional(`${path}.element`, from.elementId, 'the incoming schema allows null elements');
      compare(from.element, to.element, `${path}.element`);
    }
    if (from.kind === 'map' && to.kind === 'map') {
      if (from.keyId !== to.keyId || from.valueId !== to.valueId) {
        refuse(`"${path}": the map's key/value are field ids ${from.keyId}/${from.valueId} in the table but ${to.keyId}/${to.valueId} in the incoming schema; they cannot be replaced`);
        return;
      }
      if (short(from.key) !== short(to.key)) refuse(`"${path}.key": cannot change from ${short(from.key)} to ${short(to.key)}: map keys cannot change type`);
      if (from.valueRequired && !to.valueRequired) makeOptional(`${path}.value`, from.valueId, 'the incoming schema allows null values');
      compare(from.value, to.value, `${path}.value`);
    }
  };

  struct(table.fields, incoming.fields, '');

  const keyNames = (schema: Schema, index: typeof tableIndex): string =>
    schema.identifierFieldIds.length === 0 ? 'none' : schema.identifierFieldIds.map((id) => `"${index.get(id)?.path ?? id}"`).join(', ');
  const sameKeys = incoming.identifierFieldIds.length === table.identifierFieldIds.length && incoming.identifierFieldIds.every((id) => keys.has(id));
  if (incoming.identifierFieldIds.length > 0 && !sameKeys) {
    refuse(`identifier fields (key columns) cannot change: the table has ${keyNames(table, tableIndex)}, the incoming schema has ${keyNames(incoming, incomingIndex)}`);
  }

  // Adds in the order of their incoming ids: evolveSchema then hands out the same ids when the incoming ones continue
  // the table's last-column-id (as avroToIceberg and withStableFieldIds number them), nested fields of new structs aside.
  const planned = [...renames, ...adds.sort((a, b) => a.id - b.id).map((a) => a.change), ...changes];
  if (refusals.length === 0 && planned.length > 0) verify(table, incoming, planned, options.lastColumnId ?? highestFieldId(table), refusals, notes);
  return { changes: planned, refusals, notes };
}

/** Applies the plan as the commit will, and checks the result takes the incoming rows; notes ids that will differ. */
function verify(table: Schema, incoming: Schema, planned: SchemaChange[], lastColumnId: number, refusals: string[], notes: string[]): void {
  let evolved: Schema;
  try {
    evolved = evolveSchema(table, lastColumnId, planned, table.schemaId + 1).schema;
  } catch (error) {
    refusals.push(`the planned changes do not apply: ${(error as Error).message}`);
    return;
  }
  for (const problem of schemaAccepts(evolved, incoming)) refusals.push(`update-schema did not carry out the plan: ${problem}`);
  const tableIds = indexById(table);
  const evolvedIds = indexByName(evolved);
  const moved = [...indexByName(incoming)].filter(([path, id]) => !tableIds.has(id) && evolvedIds.get(path) !== undefined && evolvedIds.get(path) !== id);
  if (moved.length > 0) {
    notes.push(`new fields get other ids in the table than in the incoming schema (${moved.map(([path, id]) => `"${path}" ${id} → ${evolvedIds.get(path)}`).join(', ')}): match later versions to the table by name, not by their field-id attributes`);
  }
}

/**
 * Why `table` cannot take rows of `incoming` as RowBatchBuilder reads them (by name): a field it lacks, a different
 * type, a required column the incoming rows may leave null. Empty when every incoming row fits.
 */
export function schemaAccepts(table: Schema, incoming: Schema): string[] {
  const problems: string[] = [];
  const struct = (tableFields: readonly NestedField[], incomingFields: readonly NestedField[], path: string): void => {
    for (const field of incomingFields) {
      const at = join(path, field.name);
      const target = tableFields.find((f) => f.name === field.name);
      if (!target) problems.push(`"${at}" is not in the table`);
      else {
        if (target.required && !field.required) problems.push(`"${at}" is required in the table but optional in the incoming schema`);
        type(target.type, field.type, at);
      }
    }
    for (const target of tableFields) {
      if (target.required && !incomingFields.some((f) => f.name === target.name)) problems.push(`"${join(path, target.name)}" is required in the table but not in the incoming schema`);
    }
  };
  const type = (target: IcebergType, from: IcebergType, at: string): void => {
    if (target.kind === 'struct' && from.kind === 'struct') struct(target.fields, from.fields, at);
    else if (target.kind === 'list' && from.kind === 'list') {
      if (target.elementRequired && !from.elementRequired) problems.push(`"${at}.element" is required in the table but optional in the incoming schema`);
      type(target.element, from.element, `${at}.element`);
    } else if (target.kind === 'map' && from.kind === 'map') {
      type(target.key, from.key, `${at}.key`);
      if (target.valueRequired && !from.valueRequired) problems.push(`"${at}.value" is required in the table but optional in the incoming schema`);
      type(target.value, from.value, `${at}.value`);
    } else if (short(target) !== short(from)) problems.push(`"${at}" is ${short(target)} in the table but ${short(from)} in the incoming schema`);
  };
  struct(table.fields, incoming.fields, '');
  return problems;
}
