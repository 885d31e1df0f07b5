// update-partition-spec: adds, removes and renames partition fields, making a new default spec. A field that existed
// in an earlier spec with the same source and transform keeps its field id (as Java does); others get new ids above
// last-partition-id. Old data keeps its old spec. Must never: reuse a partition field id for a different field.
import { SchemaIncompatibleError } from '../../shared/errors.js';
import type { Table } from '../catalogs/catalog.js';
import type { PartitionField, PartitionSpec } from '../spec/partition-spec.js';
import { partitionSourceTypes, sameSpecFields } from '../spec/partition-spec.js';
import { indexByName } from '../spec/schema.js';
import { currentSchema, defaultSpec } from '../spec/table-metadata.js';
import { LAST_ADDED } from '../spec/table-update.js';
import type { Transform } from '../spec/transforms.js';
import { transformToString } from '../spec/transforms.js';
import type { PendingCommit, TableAction } from './action.js';

export type PartitionChange =
  | { op: 'add'; source: string; transform: Transform; name?: string }
  | { op: 'remove'; name: string }
  | { op: 'rename'; name: string; newName: string };

/** The default partition field name: `col` for identity, `col_bucket_16`, `col_trunc_4`, `col_day`, … */
export function defaultPartitionName(source: string, transform: Transform): string {
  switch (transform.kind) {
    case 'identity':
      return source;
    case 'bucket':
      return `${source}_bucket_${transform.n}`;
    case 'truncate':
      return `${source}_trunc_${transform.width}`;
    default:
      return `${source}_${transform.kind}`;
  }
}

export function evolveSpec(base: Table['metadata'], changes: readonly PartitionChange[]): PartitionSpec {
  const schema = currentSchema(base);
  const names = indexByName(schema);
  let fields: PartitionField[] = [...defaultSpec(base).fields];
  let lastId = base.lastPartitionId;
  for (const change of changes) {
    if (change.op === 'add') {
      const sourceId = names.get(change.source);
      if (sourceId === undefined) throw new SchemaIncompatibleError(`cannot partition by "${change.source}": no such column`);
      const name = change.name ?? defaultPartitionName(change.source, change.transform);
      const text = transformToString(change.transform);
      if (fields.some((f) => f.sourceId === sourceId && transformToString(f.transform) === text)) throw new SchemaIncompatibleError(`the spec already has ${text}(${change.source})`);
      if (fields.some((f) => f.name === name)) throw new SchemaIncompatibleError(`the spec already has a partition field named "${name}"`);
      const earlier = base.partitionSpecs.flatMap((s) => s.fields).find((f) => f.sourceId === sourceId && transformToString(f.transform) === text);
      fields.push({ sourceId, fieldId: earlier?.fieldId ?? ++lastId, name, transform: change.transform });
    } else if (change.op === 'remove') {
      if (!fields.some((f) => f.name === change.name)) throw new SchemaIncompatibleError(`cannot remove partition field "${change.name}": the spec has ${fields.map((f) => f.name).join(', ') || 'no fields'}`);
      fields = fields.filter((f) => f.name !== change.name);
    } else {
      if (!fields.some((f) => f.name === change.name)) throw new SchemaIncompatibleError(`cannot rename partition field "${change.name}": no such field`);
      if (fields.some((f) => f.name === change.newName)) throw new SchemaIncompatibleError(`cannot rename partition field to "${change.newName}": that name is taken`);
      fields = fields.map((f) => (f.name === change.name ? { ...f, name: change.newName } : f));
    }
  }
  const spec: PartitionSpec = { specId: Math.max(...base.partitionSpecs.map((s) => s.specId)) + 1, fields };
  try {
    partitionSourceTypes(spec, schema);
  } catch (error) {
    throw new SchemaIncompatibleError((error as Error).message, { cause: error });
  }
  return spec;
}

export function updatePartitionSpec(changes: readonly PartitionChange[]): TableAction {
  return {
    name: 'update-partition-spec',
    prepare(base: Table): Promise<PendingCommit> {
      const metadata = base.metadata;
      const spec = evolveSpec(metadata, changes);
      const requirements = [
        { type: 'assert-default-spec-id', defaultSpecId: metadata.defaultSpecId },
        { type: 'assert-last-assigned-partition-id', lastAssignedPartitionId: metadata.lastPartitionId },
      ] as const;
      const existing = metadata.partitionSpecs.find((s) => sameSpecFields(s, spec) && s.fields.every((f, i) => f.fieldId === spec.fields[i]!.fieldId));
      if (existing) return Promise.resolve({ requirements, updates: existing.specId === metadata.defaultSpecId ? [] : [{ action: 'set-default-spec', specId: existing.specId }] });
      return Promise.resolve({ requirements, updates: [{ action: 'add-spec', spec }, { action: 'set-default-spec', specId: LAST_ADDED }] });
    },
  };
}
