// Manifests and manifest lists as Avro files with the spec's schemas and field ids (spec "Manifests", "Manifest
// Lists"), written as format v2 and read from v1 or v2 writers (PyIceberg, Java, Trino).
// PURE: bytes in, bytes out. Sequence numbers of new entries are left null so readers inherit them.
import { MetadataInvalidError } from '../../shared/errors.js';
import { readAvroFile, writeAvroFile } from './avro-file.js';
import type { AvroSchema } from './avro-file.js';
import { avroFieldType, fromAvroValue, toAvroValue } from './avro-values.js';
import type { DataFile, ManifestEntry, ManifestFile } from './manifest.js';
import { DataFileContent, ManifestContent, UNASSIGNED_SEQUENCE_NUMBER } from './manifest.js';
import type { PartitionSpec } from './partition-spec.js';
import { partitionSpecToJson, partitionType } from './partition-spec.js';
import type { Schema } from './schema.js';
import { schemaToJson } from './schema.js';
import { stringifyJsonLossless } from './table-metadata.js';

const opt = (type: unknown): unknown[] => ['null', type];
const field = (name: string, id: number, type: unknown, optional = false): Record<string, unknown> =>
  optional ? { name, type: opt(type), default: null, 'field-id': id } : { name, type, 'field-id': id };
const intMap = (name: string, id: number, keyId: number, valueId: number, valueType: string): Record<string, unknown> =>
  field(name, id, {
    type: 'array',
    logicalType: 'map',
    items: {
      type: 'record',
      name: `k${keyId}_v${valueId}`,
      fields: [field('key', keyId, 'int'), field('value', valueId, valueType)],
    },
  }, true);

/**
 * An Avro-legal name for a partition field (Avro names are `[A-Za-z_][A-Za-z0-9_]*`; partition fields are named after
 * columns, which may hold `-`, spaces or a leading digit). Sanitized as Java's AvroSchemaUtil does: a leading digit
 * gets `_` before it, any other illegal character becomes `_x` + its hex code. Readers match partition fields by
 * field id; the original name travels in `iceberg-field-name`, as Java writes it.
 */
export function avroCompatibleName(name: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return name;
  return [...name].map((ch, i) => {
    if (/[A-Za-z_]/.test(ch) || (i > 0 && /[0-9]/.test(ch))) return ch;
    if (/[0-9]/.test(ch)) return `_${ch}`;
    return `_x${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase()}`;
  }).join('');
}

function partitionField(p: { name: string; fieldId: number; type: Parameters<typeof avroFieldType>[0] }): Record<string, unknown> {
  const name = avroCompatibleName(p.name);
  const f = field(name, p.fieldId, avroFieldType(p.type, `r102_${p.fieldId}`), true);
  return name === p.name ? f : { ...f, 'iceberg-field-name': p.name };
}

/** The manifest entry schema for a partition type (v2). */
export function manifestEntrySchema(spec: PartitionSpec, schema: Schema): AvroSchema {
  const partitionFields = partitionType(spec, schema).map(partitionField);
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      field('status', 0, 'int'),
      field('snapshot_id', 1, 'long', true),
      field('sequence_number', 3, 'long', true),
      field('file_sequence_number', 4, 'long', true),
      field('data_file', 2, {
        type: 'record',
        name: 'r2',
        fields: [
          field('content', 134, 'int'),
          field('file_path', 100, 'string'),
          field('file_format', 101, 'string'),
          field('partition', 102, { type: 'record', name: 'r102', fields: partitionFields }),
          field('record_count', 103, 'long'),
          field('file_size_in_bytes', 104, 'long'),
          intMap('column_sizes', 108, 117, 118, 'long'),
          intMap('value_counts', 109, 119, 120, 'long'),
          intMap('null_value_counts', 110, 121, 122, 'long'),
          intMap('nan_value_counts', 137, 138, 139, 'long'),
          intMap('lower_bounds', 125, 126, 127, 'bytes'),
          intMap('upper_bounds', 128, 129, 130, 'bytes'),
          field('key_metadata', 131, 'bytes', true),
          field('split_offsets', 132, { type: 'array', items: 'long', 'element-id': 133 }, true),
          field('equality_ids', 135, { type: 'array', items: 'int', 'element-id': 136 }, true),
          field('sort_order_id', 140, 'int', true),
        ],
      }),
    ],
  };
}

export const MANIFEST_FILE_SCHEMA: AvroSchema = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    field('manifest_path', 500, 'string'),
    field('manifest_length', 501, 'long'),
    field('partition_spec_id', 502, 'int'),
    field('content', 517, 'int'),
    field('sequence_number', 515, 'long'),
    field('min_sequence_number', 516, 'long'),
    field('added_snapshot_id', 503, 'long'),
    field('added_files_count', 504, 'int'),
    field('existing_files_count', 505, 'int'),
    field('deleted_files_count', 506, 'int'),
    field('added_rows_count', 512, 'long'),
    field('existing_rows_count', 513, 'long'),
    field('deleted_rows_count', 514, 'long'),
    field('partitions', 507, {
      type: 'array',
      'element-id': 508,
      items: {
        type: 'record',
        name: 'r508',
        fields: [
          field('contains_null', 509, 'boolean'),
          field('contains_nan', 518, 'boolean', true),
          field('lower_bound', 510, 'bytes', true),
          field('upper_bound', 511, 'bytes', true),
        ],
      },
    }, true),
    field('key_metadata', 519, 'bytes', true),
  ],
};

type KV<V> = { key: number; value: V }[] | null;
const toKV = <V, A>(map: ReadonlyMap<number, V> | undefined, convert: (v: V) => A): KV<A> =>
  map ? [...map].map(([key, value]) => ({ key, value: convert(value) })) : null;
const fromKV = <A, V>(list: unknown, convert: (a: A) => V): Map<number, V> | undefined => {
  if (!Array.isArray(list)) return undefined;
  return new Map((list as { key: number; value: A }[]).map((kv) => [kv.key, convert(kv.value)]));
};
const buf = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const bytesOf = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();

export interface ManifestWriteOptions {
  schema: Schema;
  spec: PartitionSpec;
  content: ManifestContent;
  entries: readonly ManifestEntry[];
}

export function writeManifest(options: ManifestWriteOptions): Uint8Array {
  const { schema, spec } = options;
  const types = partitionType(spec, schema);
  const records = options.entries.map((entry) => {
    const f = entry.dataFile;
    if (f.specId !== spec.specId) throw new MetadataInvalidError(`data file ${f.filePath} has spec ${f.specId}, but this manifest is for spec ${spec.specId}`);
    if ((f.content === DataFileContent.DATA) !== (options.content === ManifestContent.DATA)) {
      throw new MetadataInvalidError(`data file ${f.filePath} (content ${f.content}) cannot go into a ${options.content === ManifestContent.DATA ? 'data' : 'delete'} manifest`);
    }
    return {
      status: entry.status,
      snapshot_id: entry.snapshotId ?? null,
      sequence_number: entry.sequenceNumber ?? null,
      file_sequence_number: entry.fileSequenceNumber ?? null,
      data_file: {
        content: f.content,
        file_path: f.filePath,
        file_format: f.fileFormat,
        partition: Object.fromEntries(types.map((t, i) => [avroCompatibleName(t.name), toAvroValue(t.type, f.partition[i])])),
        record_count: f.recordCount,
        file_size_in_bytes: f.fileSizeInBytes,
        column_sizes: toKV(f.columnSizes, (v) => v),
        value_counts: toKV(f.valueCounts, (v) => v),
        null_value_counts: toKV(f.nullValueCounts, (v) => v),
        nan_value_counts: toKV(f.nanValueCounts, (v) => v),
        lower_bounds: toKV(f.lowerBounds, buf),
        upper_bounds: toKV(f.upperBounds, buf),
        key_metadata: f.keyMetadata ? buf(f.keyMetadata) : null,
        split_offsets: f.splitOffsets ? [...f.splitOffsets] : null,
        equality_ids: f.equalityIds ? [...f.equalityIds] : null,
        sort_order_id: f.sortOrderId ?? null,
      },
    };
  });
  return writeAvroFile({
    schema: manifestEntrySchema(spec, schema),
    metadata: {
      schema: stringifyJsonLossless(schemaToJson(schema)),
      'schema-id': String(schema.schemaId),
      'partition-spec': JSON.stringify(partitionSpecToJson(spec).fields),
      'partition-spec-id': String(spec.specId),
      'format-version': '2',
      content: options.content === ManifestContent.DATA ? 'data' : 'deletes',
    },
    records,
  });
}

export interface ManifestContents {
  readonly specId: number;
  readonly content: ManifestContent;
  readonly formatVersion: number;
  readonly entries: ManifestEntry[];
}

/** Reads a manifest; `file` names it in errors. Entries keep their raw (possibly null) sequence numbers. */
export function readManifest(bytes: Uint8Array, file: string): ManifestContents {
  const { schema, metadata, records } = readAvroFile(bytes, file);
  const specId = Number(metadata['partition-spec-id'] ?? 0);
  const formatVersion = Number(metadata['format-version'] ?? 1);
  const partitionFields = partitionAvroFields(schema, file);
  try {
    const entries = records.map((raw): ManifestEntry => {
      const r = raw as Record<string, unknown>;
      const d = r.data_file as Record<string, unknown>;
      const partition = (d.partition ?? {}) as Record<string, unknown>;
      const dataFile: DataFile = {
        content: ((d.content as number | undefined) ?? 0) as DataFileContent,
        filePath: d.file_path as string,
        fileFormat: (d.file_format as string).toUpperCase() as DataFile['fileFormat'],
        specId,
        partition: partitionFields.map((p) => fromAvroValue(p.type, partition[p.name] ?? null)),
        recordCount: d.record_count as bigint,
        fileSizeInBytes: d.file_size_in_bytes as bigint,
        ...optional('columnSizes', fromKV(d.column_sizes, (v: bigint) => v)),
        ...optional('valueCounts', fromKV(d.value_counts, (v: bigint) => v)),
        ...optional('nullValueCounts', fromKV(d.null_value_counts, (v: bigint) => v)),
        ...optional('nanValueCounts', fromKV(d.nan_value_counts, (v: bigint) => v)),
        ...optional('lowerBounds', fromKV(d.lower_bounds, bytesOf)),
        ...optional('upperBounds', fromKV(d.upper_bounds, bytesOf)),
        ...optional('keyMetadata', d.key_metadata ? bytesOf(d.key_metadata as Buffer) : undefined),
        ...optional('splitOffsets', (d.split_offsets as bigint[] | null) ?? undefined),
        ...optional('equalityIds', (d.equality_ids as number[] | null) ?? undefined),
        ...optional('sortOrderId', (d.sort_order_id as number | null) ?? undefined),
        ...optional('referencedDataFile', (d.referenced_data_file as string | null) ?? undefined),
      };
      return {
        status: r.status as ManifestEntry['status'],
        snapshotId: (r.snapshot_id as bigint | null) ?? undefined,
        sequenceNumber: (r.sequence_number as bigint | null) ?? undefined,
        fileSequenceNumber: (r.file_sequence_number as bigint | null) ?? undefined,
        dataFile,
      };
    });
    return { specId, content: metadata.content === 'deletes' ? ManifestContent.DELETES : ManifestContent.DATA, formatVersion, entries };
  } catch (error) {
    if (error instanceof MetadataInvalidError) throw error;
    throw new MetadataInvalidError(`${file}: manifest entries do not follow the spec (${(error as Error).message})`, { cause: error, context: { file } });
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function partitionAvroFields(schema: AvroSchema, file: string): { name: string; type: unknown }[] {
  const entry = schema as { fields?: { name: string; type: unknown }[] };
  const dataFile = entry.fields?.find((f) => f.name === 'data_file')?.type as { fields?: { name: string; type: unknown }[] } | undefined;
  const partition = dataFile?.fields?.find((f) => f.name === 'partition')?.type as { fields?: { name: string; type: unknown }[] } | undefined;
  if (!partition?.fields) throw new MetadataInvalidError(`${file}: manifest schema has no data_file.partition record`, { context: { file } });
  return partition.fields;
}

export interface ManifestListWriteOptions {
  snapshotId: bigint;
  parentSnapshotId: bigint | undefined;
  sequenceNumber: bigint;
  manifests: readonly ManifestFile[];
}

/** Writes a manifest list; manifests whose sequence numbers are UNASSIGNED take the snapshot's. */
export function writeManifestList(options: ManifestListWriteOptions): Uint8Array {
  const records = options.manifests.map((m) => {
    const seq = m.sequenceNumber === UNASSIGNED_SEQUENCE_NUMBER ? options.sequenceNumber : m.sequenceNumber;
    const minSeq = m.minSequenceNumber === UNASSIGNED_SEQUENCE_NUMBER ? options.sequenceNumber : m.minSequenceNumber;
    return {
      manifest_path: m.manifestPath,
      manifest_length: m.manifestLength,
      partition_spec_id: m.partitionSpecId,
      content: m.content,
      sequence_number: seq,
      min_sequence_number: minSeq,
      added_snapshot_id: m.addedSnapshotId,
      added_files_count: m.addedFilesCount,
      existing_files_count: m.existingFilesCount,
      deleted_files_count: m.deletedFilesCount,
      added_rows_count: m.addedRowsCount,
      existing_rows_count: m.existingRowsCount,
      deleted_rows_count: m.deletedRowsCount,
      partitions: m.partitions?.map((p) => ({
        contains_null: p.containsNull,
        contains_nan: p.containsNan ?? null,
        lower_bound: p.lowerBound ? buf(p.lowerBound) : null,
        upper_bound: p.upperBound ? buf(p.upperBound) : null,
      })) ?? null,
      key_metadata: m.keyMetadata ? buf(m.keyMetadata) : null,
    };
  });
  const metadata: Record<string, string> = {
    'snapshot-id': options.snapshotId.toString(),
    'sequence-number': options.sequenceNumber.toString(),
    'format-version': '2',
  };
  metadata['parent-snapshot-id'] = options.parentSnapshotId === undefined ? 'null' : options.parentSnapshotId.toString();
  return writeAvroFile({ schema: MANIFEST_FILE_SCHEMA, metadata, records });
}

/** Reads a manifest list (v1 or v2); `file` names it in errors. */
export function readManifestList(bytes: Uint8Array, file: string): ManifestFile[] {
  const { records } = readAvroFile(bytes, file);
  try {
    return records.map((raw): ManifestFile => {
      const r = raw as Record<string, unknown>;
      const rawCount = (v2: string, v1: string): number | null | undefined => (r[v2] ?? r[v1]) as number | null | undefined;
      const count = (v2: string, v1: string): number => Number(rawCount(v2, v1) ?? 0);
      const countsUnknown = rawCount('added_files_count', 'added_data_files_count') == null || rawCount('existing_files_count', 'existing_data_files_count') == null;
      const rows = (key: string): bigint => (r[key] as bigint | null) ?? 0n;
      const partitions = r.partitions as Record<string, unknown>[] | null | undefined;
      return {
        manifestPath: r.manifest_path as string,
        manifestLength: r.manifest_length as bigint,
        partitionSpecId: r.partition_spec_id as number,
        content: ((r.content as number | undefined) ?? 0) as ManifestContent,
        sequenceNumber: (r.sequence_number as bigint | undefined) ?? 0n,
        minSequenceNumber: (r.min_sequence_number as bigint | undefined) ?? 0n,
        addedSnapshotId: r.added_snapshot_id as bigint,
        addedFilesCount: count('added_files_count', 'added_data_files_count'),
        existingFilesCount: count('existing_files_count', 'existing_data_files_count'),
        deletedFilesCount: count('deleted_files_count', 'deleted_data_files_count'),
        addedRowsCount: rows('added_rows_count'),
        existingRowsCount: rows('existing_rows_count'),
        deletedRowsCount: rows('deleted_rows_count'),
        ...(countsUnknown ? { countsUnknown: true } : {}),
        ...optional('partitions', partitions?.map((p) => ({
          containsNull: p.contains_null as boolean,
          ...optional('containsNan', (p.contains_nan as boolean | null) ?? undefined),
          ...optional('lowerBound', p.lower_bound ? bytesOf(p.lower_bound as Buffer) : undefined),
          ...optional('upperBound', p.upper_bound ? bytesOf(p.upper_bound as Buffer) : undefined),
        }))),
        ...optional('keyMetadata', r.key_metadata ? bytesOf(r.key_metadata as Buffer) : undefined),
      };
    });
  } catch (error) {
    throw new MetadataInvalidError(`${file}: manifest list entries do not follow the spec (${(error as Error).message})`, { cause: error, context: { file } });
  }
}
