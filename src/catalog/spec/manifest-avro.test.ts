import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetadataInvalidError } from '../../shared/errors.js';
import { readAvroFile } from './avro-file.js';
import { decimalRequiredBytes } from './avro-values.js';
import type { DataFile, ManifestEntry, ManifestFile } from './manifest.js';
import { DataFileContent, inheritSequenceNumbers, ManifestContent, ManifestEntryStatus, UNASSIGNED_SEQUENCE_NUMBER } from './manifest.js';
import { readManifest, readManifestList, writeManifest, writeManifestList } from './manifest-avro.js';
import type { PartitionSpec } from './partition-spec.js';
import { buildSchema } from './schema.js';
import { decimal, primitive } from './types.js';

const { schema } = buildSchema([
  { name: 'id', type: primitive('long'), required: true },
  { name: 'day', type: primitive('date') },
  { name: 'ts', type: primitive('timestamptz') },
  { name: 'amount', type: decimal(9, 2) },
  { name: 'user', type: primitive('uuid') },
  { name: 'name', type: primitive('string') },
]);

const spec: PartitionSpec = {
  specId: 3,
  fields: [
    { sourceId: 2, fieldId: 1000, name: 'day', transform: { kind: 'identity' } },
    { sourceId: 3, fieldId: 1001, name: 'ts_hour', transform: { kind: 'hour' } },
    { sourceId: 4, fieldId: 1002, name: 'amount', transform: { kind: 'identity' } },
    { sourceId: 5, fieldId: 1003, name: 'user', transform: { kind: 'identity' } },
    { sourceId: 6, fieldId: 1004, name: 'name_trunc', transform: { kind: 'truncate', width: 2 } },
    { sourceId: 1, fieldId: 1005, name: 'id_bucket', transform: { kind: 'bucket', n: 8 } },
  ],
};

const BIG_ID = 9_007_199_254_740_993n; // 2^53 + 1: not representable as a JS number.

function dataFile(path: string, partition: unknown[], extra: Partial<DataFile> = {}): DataFile {
  return {
    content: DataFileContent.DATA,
    filePath: path,
    fileFormat: 'PARQUET',
    specId: 3,
    partition,
    recordCount: 10n,
    fileSizeInBytes: 1234n,
    columnSizes: new Map([[1, 100n], [6, 200n]]),
    valueCounts: new Map([[1, 10n]]),
    nullValueCounts: new Map([[1, 0n], [6, 3n]]),
    nanValueCounts: new Map(),
    lowerBounds: new Map([[1, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0)]]),
    upperBounds: new Map([[1, Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0)]]),
    splitOffsets: [4n],
    sortOrderId: 0,
    ...extra,
  };
}

describe('manifest Avro files', () => {
  it('round-trips entries, partition values of every kind and 64-bit ids', () => {
    const entries: ManifestEntry[] = [
      { status: ManifestEntryStatus.ADDED, snapshotId: BIG_ID, sequenceNumber: undefined, fileSequenceNumber: undefined, dataFile: dataFile('s3://b/a.parquet', [19000, 456789, -12345n, '0f8fad5b-d9cb-469f-a165-70867728950e', 'ab', 3]) },
      { status: ManifestEntryStatus.EXISTING, snapshotId: 7n, sequenceNumber: 2n, fileSequenceNumber: 2n, dataFile: dataFile('s3://b/b.parquet', [null, null, null, null, null, 0]) },
    ];
    const bytes = writeManifest({ schema, spec, content: ManifestContent.DATA, entries });
    const read = readManifest(bytes, 'm.avro');
    assert.equal(read.specId, 3);
    assert.equal(read.content, ManifestContent.DATA);
    assert.equal(read.formatVersion, 2);
    assert.deepEqual(read.entries, entries);
  });

  it('embeds field ids, element ids and the map logical type in the header schema', () => {
    const bytes = writeManifest({ schema, spec, content: ManifestContent.DATA, entries: [] });
    const { schema: header, metadata } = readAvroFile(bytes, 'm.avro');
    const text = JSON.stringify(header);
    assert.match(text, /"name":"data_file","type":\{[^]*\},"field-id":2/);
    assert.match(text, /"logicalType":"map"/);
    assert.match(text, /"element-id":133/);
    assert.match(text, /"name":"k117_v118"/);
    assert.equal(metadata['format-version'], '2');
    assert.equal(metadata['partition-spec-id'], '3');
    assert.equal(metadata.content, 'data');
    assert.equal(JSON.parse(metadata['partition-spec']!).length, 6);
    assert.equal(JSON.parse(metadata.schema!)['schema-id'], 0);
  });

  it('refuses a file of another spec or content, naming the file', () => {
    assert.throws(
      () => writeManifest({ schema, spec, content: ManifestContent.DELETES, entries: [{ status: 1, snapshotId: 1n, sequenceNumber: undefined, fileSequenceNumber: undefined, dataFile: dataFile('x.parquet', [null, null, null, null, null, 0]) }] }),
      /x\.parquet \(content 0\) cannot go into a delete manifest/,
    );
  });

  it('names the file when bytes are corrupt or truncated', () => {
    const bytes = writeManifest({ schema, spec, content: ManifestContent.DATA, entries: [{ status: 1, snapshotId: 1n, sequenceNumber: undefined, fileSequenceNumber: undefined, dataFile: dataFile('a', [1, 1, 1n, null, 'x', 1]) }] });
    assert.throws(() => readManifest(bytes.slice(0, bytes.length - 20), 's3://w/t/metadata/m1.avro'), (e: unknown) => e instanceof MetadataInvalidError && /s3:\/\/w\/t\/metadata\/m1\.avro/.test(e.message));
    assert.throws(() => readManifest(Uint8Array.of(1, 2, 3, 4, 5), 'bad.avro'), /bad\.avro: not a valid Avro file \(bad magic bytes\)/);
  });

  it('position delete manifests keep content 1', () => {
    const del: DataFile = { ...dataFile('d.parquet', [null, null, null, null, null, 1]), content: DataFileContent.POSITION_DELETES };
    const bytes = writeManifest({ schema, spec, content: ManifestContent.DELETES, entries: [{ status: 1, snapshotId: 5n, sequenceNumber: undefined, fileSequenceNumber: undefined, dataFile: del }] });
    const read = readManifest(bytes, 'd.avro');
    assert.equal(read.content, ManifestContent.DELETES);
    assert.equal(read.entries[0]!.dataFile.content, DataFileContent.POSITION_DELETES);
  });
});

describe('manifest lists', () => {
  const manifest: ManifestFile = {
    manifestPath: 's3://b/t/metadata/m0.avro',
    manifestLength: 4242n,
    partitionSpecId: 3,
    content: ManifestContent.DATA,
    sequenceNumber: UNASSIGNED_SEQUENCE_NUMBER,
    minSequenceNumber: UNASSIGNED_SEQUENCE_NUMBER,
    addedSnapshotId: BIG_ID,
    addedFilesCount: 2,
    existingFilesCount: 1,
    deletedFilesCount: 0,
    addedRowsCount: 20n,
    existingRowsCount: 10n,
    deletedRowsCount: 0n,
    partitions: [{ containsNull: true, containsNan: false, lowerBound: Uint8Array.of(1, 2), upperBound: Uint8Array.of(3) }, { containsNull: false }],
  };

  it('assigns the snapshot sequence number to new manifests and round-trips', () => {
    const old: ManifestFile = { ...manifest, manifestPath: 'old.avro', sequenceNumber: 4n, minSequenceNumber: 1n, addedSnapshotId: 3n };
    const bytes = writeManifestList({ snapshotId: BIG_ID, parentSnapshotId: 3n, sequenceNumber: 5n, manifests: [manifest, old] });
    const read = readManifestList(bytes, 'snap.avro');
    assert.deepEqual(read, [{ ...manifest, sequenceNumber: 5n, minSequenceNumber: 5n }, old]);
    const { metadata } = readAvroFile(bytes, 'snap.avro');
    assert.equal(metadata['snapshot-id'], BIG_ID.toString());
    assert.equal(metadata['parent-snapshot-id'], '3');
    assert.equal(metadata['sequence-number'], '5');
  });
});

describe('sequence numbers', () => {
  const manifest = { sequenceNumber: 9n, addedSnapshotId: 77n } as ManifestFile;
  it('added entries inherit the manifest sequence number; existing ones keep theirs', () => {
    const added = inheritSequenceNumbers(manifest, { status: 1, snapshotId: undefined, sequenceNumber: undefined, fileSequenceNumber: undefined, dataFile: {} as DataFile });
    assert.equal(added.sequenceNumber, 9n);
    assert.equal(added.fileSequenceNumber, 9n);
    assert.equal(added.snapshotId, 77n);
    const existing = inheritSequenceNumbers(manifest, { status: 0, snapshotId: 5n, sequenceNumber: 2n, fileSequenceNumber: 3n, dataFile: {} as DataFile });
    assert.equal(existing.sequenceNumber, 2n);
    assert.equal(existing.fileSequenceNumber, 3n);
  });

  it('decimal fixed sizes follow the precision', () => {
    assert.deepEqual([1, 2, 9, 10, 18, 19, 38].map(decimalRequiredBytes), [1, 1, 4, 5, 8, 9, 16]);
  });
});

describe('partition field names', () => {
  it('partition fields named after columns Avro cannot name (dashes, spaces, leading digits) are sanitized as Java does', () => {
    const { schema: odd } = buildSchema([{ name: 'event-day', type: primitive('date') }, { name: '1st name', type: primitive('string') }]);
    const oddSpec: PartitionSpec = {
      specId: 0,
      fields: [
        { sourceId: 1, fieldId: 1000, name: 'event-day', transform: { kind: 'identity' } },
        { sourceId: 2, fieldId: 1001, name: '1st name', transform: { kind: 'identity' } },
      ],
    };
    const file: DataFile = { content: DataFileContent.DATA, filePath: 's3://w/t/data/x.parquet', fileFormat: 'PARQUET', specId: 0, partition: [19000, 'ab'], recordCount: 1n, fileSizeInBytes: 1n };
    const bytes = writeManifest({ schema: odd, spec: oddSpec, content: ManifestContent.DATA, entries: [{ status: ManifestEntryStatus.ADDED, snapshotId: 1n, sequenceNumber: undefined, fileSequenceNumber: undefined, dataFile: file }] });
    const read = readManifest(bytes, 'm.avro');
    assert.deepEqual(read.entries[0]!.dataFile.partition, [19000, 'ab']);
    const header = JSON.stringify(readAvroFile(bytes, 'm.avro').schema);
    assert.match(header, /"name":"event_x2Dday","type":\["null",\{"type":"int","logicalType":"date"\}\],"default":null,"field-id":1000,"iceberg-field-name":"event-day"/);
    assert.match(header, /"name":"_1st_x20name"/);
  });
});
