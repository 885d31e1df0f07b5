// Request bodies and path parts of the Iceberg REST catalog API (open-api/rest-catalog-open-api.yaml), parsed into
// DuckHouse's spec types: zod checks the envelopes, the spec parsers check schemas, specs, snapshots and refs.
// Every failure is a BadRequestException that names the field. PURE: no IO.
// Must never: accept an update or requirement it does not understand (silently dropping one corrupts a table).
import { z } from 'zod';
import type { Namespace, TableIdentifier } from '../catalog.js';
import { validateIdentifier, validateNamespace } from '../catalog.js';
import type { PartitionSpec, SortOrder } from '../../spec/partition-spec.js';
import { partitionSpecFromJson, sortOrderFromJson } from '../../spec/partition-spec.js';
import type { Schema } from '../../spec/schema.js';
import { schemaFromJson } from '../../spec/schema.js';
import { refFromJson, snapshotFromJson, toLong } from '../../spec/snapshot.js';
import type { TableRequirement, TableUpdate } from '../../spec/table-update.js';
import { badRequest, RestError } from './rest-errors.js';

/** Namespace levels in a path are joined by the unit separator (0x1F), URL-encoded as %1F. */
export const NAMESPACE_SEPARATOR = '\u001f';

/** Runs a parser, turning any thrown error into a BadRequestException that says where. */
function parsing<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RestError) throw error;
    throw badRequest(`${where}: ${(error as Error).message}`, error);
  }
}

export function parseNamespaceParam(raw: string): Namespace {
  return parseNamespaceLevels(raw.split(NAMESPACE_SEPARATOR));
}

/** Namespace levels as a JSON body lists them (each level checked as it is: no separator inside). */
export function parseNamespaceLevels(levels: readonly string[]): Namespace {
  parsing('namespace', () => validateNamespace(levels));
  return levels;
}

export function parseTableParam(namespace: Namespace, name: string): TableIdentifier {
  const id = { namespace, name };
  parsing('table', () => validateIdentifier(id));
  return id;
}

/** Validates a body against a zod schema; the message lists each problem with its JSON path. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(body ?? undefined);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`);
  throw badRequest(`malformed ${what}: ${problems.join('; ')}`);
}

const stringMap = z.record(z.string(), z.string());
const json = z.unknown().refine((v) => v !== undefined, 'required');

export const CreateNamespaceRequest = z.object({ namespace: z.array(z.string()).min(1), properties: stringMap.optional() });
export const UpdateNamespacePropertiesRequest = z.object({ removals: z.array(z.string()).optional(), updates: stringMap.optional() });
const TableIdentifierJson = z.object({ namespace: z.array(z.string()), name: z.string() });
export const RenameTableRequest = z.object({ source: TableIdentifierJson, destination: TableIdentifierJson });
export const RegisterTableRequest = z.object({ name: z.string().min(1), 'metadata-location': z.string().min(1), overwrite: z.boolean().optional() });
export const CreateTableRequest = z.object({
  name: z.string().min(1),
  location: z.string().min(1).optional(),
  schema: json,
  'partition-spec': z.unknown().optional(),
  'write-order': z.unknown().optional(),
  'stage-create': z.boolean().optional(),
  properties: stringMap.optional(),
});
export const CommitTableRequest = z.object({
  identifier: TableIdentifierJson.optional(),
  requirements: z.array(z.record(z.string(), z.unknown())),
  updates: z.array(z.record(z.string(), z.unknown())),
});

export const toIdentifier = (raw: z.infer<typeof TableIdentifierJson>, where: string): TableIdentifier => {
  const id = { namespace: raw.namespace, name: raw.name };
  parsing(where, () => validateIdentifier(id));
  return id;
};

export interface CreateTableInput {
  schema: Schema;
  spec?: PartitionSpec;
  sortOrder?: SortOrder;
}

export function parseCreateTable(body: z.infer<typeof CreateTableRequest>): CreateTableInput {
  return {
    schema: parsing('schema', () => schemaFromJson(body.schema, 'schema')),
    ...(body['partition-spec'] === undefined || body['partition-spec'] === null ? {} : { spec: parsing('partition-spec', () => partitionSpecFromJson(body['partition-spec'])) }),
    ...(body['write-order'] === undefined || body['write-order'] === null ? {} : { sortOrder: parsing('write-order', () => sortOrderFromJson(body['write-order'])) }),
  };
}

// ---- updates and requirements ----

function field<T>(raw: Record<string, unknown>, key: string, where: string, check: (v: unknown) => v is T, expected: string): T {
  const value = raw[key];
  if (!check(value)) throw badRequest(`${where}: "${key}" must be ${expected}, found ${JSON.stringify(typeof value === 'bigint' ? value.toString() : value)}`);
  return value;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const isStringMap = (v: unknown): v is Record<string, string> => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isString);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isLongArray = (v: unknown): v is (number | bigint)[] => Array.isArray(v) && v.every((x) => typeof x === 'bigint' || isInt(x));

export function parseUpdate(raw: Record<string, unknown>, index: number): TableUpdate {
  const action = raw.action;
  const where = `updates[${index}] (${String(action)})`;
  switch (action) {
    case 'assign-uuid':
      return { action, uuid: field(raw, 'uuid', where, isString, 'a string') };
    case 'upgrade-format-version': {
      const version = field(raw, 'format-version', where, isInt, 'an integer');
      if (version !== 2) throw new RestError(406, 'UnsupportedOperationException', `${where}: this catalog writes format version 2 only, asked for ${version}`);
      return { action, formatVersion: 2 };
    }
    case 'add-schema':
      return { action, schema: parsing(where, () => schemaFromJson(raw.schema, 'schema')) };
    case 'set-current-schema':
      return { action, schemaId: field(raw, 'schema-id', where, isInt, 'an integer') };
    case 'add-spec':
      return { action, spec: parsing(where, () => partitionSpecFromJson(raw.spec, 'spec')) };
    case 'set-default-spec':
      return { action, specId: field(raw, 'spec-id', where, isInt, 'an integer') };
    case 'add-sort-order':
      return { action, sortOrder: parsing(where, () => sortOrderFromJson(raw['sort-order'], 'sort-order')) };
    case 'set-default-sort-order':
      return { action, sortOrderId: field(raw, 'sort-order-id', where, isInt, 'an integer') };
    case 'add-snapshot':
      return { action, snapshot: parsing(where, () => snapshotFromJson(raw.snapshot, 'snapshot')) };
    case 'set-snapshot-ref': {
      const refName = field(raw, 'ref-name', where, isString, 'a string');
      return { action, refName, ref: parsing(where, () => refFromJson(raw, `ref ${refName}`)) };
    }
    case 'remove-snapshots':
      return { action, snapshotIds: field(raw, 'snapshot-ids', where, isLongArray, 'an array of snapshot ids').map((id) => toLong(id, where)) };
    case 'remove-snapshot-ref':
      return { action, refName: field(raw, 'ref-name', where, isString, 'a string') };
    case 'set-location':
      return { action, location: field(raw, 'location', where, isString, 'a string') };
    case 'set-properties':
      return { action, updates: field(raw, 'updates', where, isStringMap, 'an object of strings') };
    case 'remove-properties':
      return { action, removals: field(raw, 'removals', where, isStringArray, 'an array of strings') };
    case 'set-statistics':
    case 'set-partition-statistics': {
      const statistics = field(raw, 'statistics', where, isObject, 'a statistics file object');
      const id = statistics['snapshot-id'] ?? raw['snapshot-id'];
      const snapshotId = parsing(where, () => toLong(id, 'statistics.snapshot-id'));
      if (typeof statistics['statistics-path'] !== 'string') throw badRequest(`${where}: statistics.statistics-path must be a string`);
      return { action, statistics: { ...statistics, 'snapshot-id': snapshotId } };
    }
    case 'remove-statistics':
    case 'remove-partition-statistics':
      return { action, snapshotId: parsing(where, () => toLong(raw['snapshot-id'], 'snapshot-id')) };
    default:
      throw new RestError(406, 'UnsupportedOperationException', `${where}: update action ${JSON.stringify(action)} is not supported by this catalog`);
  }
}

export function parseRequirement(raw: Record<string, unknown>, index: number): TableRequirement {
  const type = raw.type;
  const where = `requirements[${index}] (${String(type)})`;
  switch (type) {
    case 'assert-create':
      return { type };
    case 'assert-table-uuid':
      return { type, uuid: field(raw, 'uuid', where, isString, 'a string') };
    case 'assert-ref-snapshot-id': {
      const id = raw['snapshot-id'];
      return { type, ref: field(raw, 'ref', where, isString, 'a string'), snapshotId: id === null || id === undefined ? undefined : parsing(where, () => toLong(id, 'snapshot-id')) };
    }
    case 'assert-last-assigned-field-id':
      return { type, lastAssignedFieldId: field(raw, 'last-assigned-field-id', where, isInt, 'an integer') };
    case 'assert-current-schema-id':
      return { type, currentSchemaId: field(raw, 'current-schema-id', where, isInt, 'an integer') };
    case 'assert-last-assigned-partition-id':
      return { type, lastAssignedPartitionId: field(raw, 'last-assigned-partition-id', where, isInt, 'an integer') };
    case 'assert-default-spec-id':
      return { type, defaultSpecId: field(raw, 'default-spec-id', where, isInt, 'an integer') };
    case 'assert-default-sort-order-id':
      return { type, defaultSortOrderId: field(raw, 'default-sort-order-id', where, isInt, 'an integer') };
    default:
      throw badRequest(`${where}: requirement type ${JSON.stringify(type)} is not known`);
  }
}
