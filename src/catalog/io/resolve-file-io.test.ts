import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckHouseError } from '../../shared/errors.js';
import { LocalFileIO } from './local-file-io.js';
import { localPathOf, parseS3Location } from './location.js';
import { MemoryFileIO } from './memory-file-io.js';
import { fileIOFor, joinLocation, locationScheme } from './resolve-file-io.js';
import { S3FileIO } from './s3-file-io.js';

const isConfigError = (error: unknown): boolean => error instanceof DuckHouseError && error.kind === 'config';

test('fileIOFor picks the implementation by scheme', async () => {
  assert.ok(fileIOFor('file:///tmp/warehouse') instanceof LocalFileIO);
  assert.ok(fileIOFor('/tmp/warehouse') instanceof LocalFileIO);
  assert.ok(fileIOFor('memory://wh') instanceof MemoryFileIO);
  const memory = new MemoryFileIO();
  assert.equal(fileIOFor('memory://wh', { memory }), memory);
  const s3 = fileIOFor('s3a://warehouse/db', {
    s3: { clientOptions: { endpoint: 'http://127.0.0.1:1', region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b' } },
  });
  assert.ok(s3 instanceof S3FileIO);
  await s3.close?.();
});

test('fileIOFor refuses unknown schemes, relative paths and S3 without options', () => {
  assert.throws(() => fileIOFor('gs://bucket/x'), (error: unknown) => isConfigError(error) && /found gs/.test(String(error)));
  assert.throws(() => fileIOFor('warehouse/x'), isConfigError);
  assert.throws(() => fileIOFor('s3://bucket/x'), (error: unknown) => isConfigError(error) && /no S3 options/.test(String(error)));
  assert.equal(locationScheme('S3://b/k'), 's3');
});

test('joinLocation joins with single slashes and refuses dot segments', () => {
  assert.equal(joinLocation('s3://b/wh/', 'db', '/t/', 'metadata/v1.json'), 's3://b/wh/db/t/metadata/v1.json');
  assert.equal(joinLocation('s3://b', 'k'), 's3://b/k');
  assert.equal(joinLocation('memory://', 'x', '', 'y'), 'memory://x/y');
  assert.equal(joinLocation('/tmp/wh', 'a'), '/tmp/wh/a');
  assert.equal(joinLocation('file:///tmp/wh/'), 'file:///tmp/wh/');
  assert.throws(() => joinLocation('s3://b/wh', '../other'), isConfigError);
  assert.throws(() => joinLocation('s3://b/wh', 'a/./b'), isConfigError);
});

test('S3 and local locations are split literally (no percent-decoding)', () => {
  assert.deepEqual(parseS3Location('s3://bucket/a/b%20c/d.parquet'), { scheme: 's3', bucket: 'bucket', key: 'a/b%20c/d.parquet' });
  assert.deepEqual(parseS3Location('s3n://bucket'), { scheme: 's3n', bucket: 'bucket', key: '' });
  assert.throws(() => parseS3Location('file:///x'), isConfigError);
  assert.equal(localPathOf('file:///tmp/a%20b'), '/tmp/a%20b');
  assert.equal(localPathOf('file:/tmp/x'), '/tmp/x');
  assert.equal(localPathOf('file://localhost/tmp/x'), '/tmp/x');
  assert.throws(() => localPathOf('file://host/tmp/x'), isConfigError);
});
