import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/catalog/io/s3-client.js';
import { endpoints, uniqueName } from './helpers.js';

function client(): S3Client {
  return createS3Client(endpoints().s3);
}

test('S3 (MinIO): put/get, a multipart upload, and If-None-Match: * refuses to overwrite', async (t) => {
  const s3 = client();
  const Bucket = endpoints().s3.bucket;
  const prefix = `${uniqueName('smoke-s3')}/`;
  t.after(async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: prefix }));
    const Objects = (listed.Contents ?? []).map((o) => ({ Key: o.Key }));
    if (Objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects } }));
    s3.destroy();
  });

  await t.test('put then get returns the same bytes', async () => {
    const Key = `${prefix}hello.txt`;
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'hello, lakehouse' }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.equal(await got.Body?.transformToString(), 'hello, lakehouse');
  });

  await t.test('multipart upload of two parts reassembles byte for byte', async () => {
    const Key = `${prefix}big.bin`;
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(1024 * 1024 + 17);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const etags = [];
    for (const [i, Body] of [part1, part2].entries()) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }));
      etags.push({ ETag, PartNumber: i + 1 });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: etags } }));
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToByteArray());
    assert.equal(got.length, part1.length + part2.length);
    assert.ok(got.equals(Buffer.concat([part1, part2])));
  });

  await t.test('a conditional put (If-None-Match: *) on an existing key fails with 412 and keeps the first object', async () => {
    const Key = `${prefix}pointer.json`;
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'first', IfNoneMatch: '*' }));
    await assert.rejects(
      s3.send(new PutObjectCommand({ Bucket, Key, Body: 'second', IfNoneMatch: '*' })),
      (error: unknown) => error instanceof S3ServiceException && error.$metadata.httpStatusCode === 412,
    );
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.equal(await got.Body?.transformToString(), 'first');
  });
});
