// S3FileIO against the stack's MinIO: the shared FileIO contract, then what only S3 has (multipart uploads, conditional
// Complete, pagination, batched deletes, error mapping). Faults that cannot be caused for real (a lost response) are
// injected into one client's middleware stack; every request still goes to MinIO. Objects live under a random prefix.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { fileIOContract, listAll, sameBytes } from '../../src/catalog/io/file-io-contract.test.js';
import { createS3Client } from '../../src/catalog/io/s3-client.js';
import { S3FileIO } from '../../src/catalog/io/s3-file-io.js';
import { DuckHouseError, FileExistsError, NotFoundError } from '../../src/shared/errors.js';
import { endpoints, uniqueName } from './helpers.js';

const s3Endpoint = endpoints().s3;
const Bucket = s3Endpoint.bucket;
const runPrefix = uniqueName('file-io-s3');
const MiB = 1024 * 1024;

fileIOContract('S3FileIO on MinIO', async () => ({
  io: new S3FileIO({ clientOptions: s3Endpoint }),
  base: `s3://${Bucket}/${runPrefix}/contract/`,
}));

type Step = 'initialize' | 'deserialize';
type Hook = (commandName: string, input: Record<string, unknown>) => Promise<void> | void;

/**
 * Runs `hook` around every request of one command: at `initialize` once per send (before it), at `deserialize` after
 * each attempt got its response (inside the SDK's retry loop, so a throw there looks like a lost response).
 */
function onCommand(client: S3Client, step: Step, hook: Hook): void {
  const middleware =
    (next: (args: { input: Record<string, unknown> }) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: { input: Record<string, unknown> }): Promise<unknown> => {
      if (step === 'initialize') await hook(context.commandName ?? '', args.input);
      const result = await next(args);
      if (step === 'deserialize') await hook(context.commandName ?? '', args.input);
      return result;
    };
  client.middlewareStack.add(middleware as never, { step, priority: 'high' } as never);
}

/** A transient error as the socket layer reports it; the SDK retries it. */
const lostResponse = (): Error => Object.assign(new Error('injected: the response was lost'), { name: 'TimeoutError' });

describe('S3FileIO on MinIO: multipart, conditional writes, pagination, errors', () => {
  const plain = createS3Client(s3Endpoint);
  let localDir: string;
  let big1: { file: string; bytes: Buffer };
  let big2: { file: string; bytes: Buffer };
  let n = 0;
  const location = (name: string): string => `s3://${Bucket}/${runPrefix}/s3/${++n}-${name}`;
  const keyOf = (loc: string): string => loc.slice(`s3://${Bucket}/`.length);
  /** A FileIO over its own client, so hooks stay local to one test. */
  const fresh = (options: { listPageSize?: number; deleteBatchSize?: number } = {}) => {
    const client = createS3Client(s3Endpoint);
    return { client, io: new S3FileIO({ client, ...options }) };
  };
  const pendingUploads = async (key: string): Promise<number> => {
    const out = await plain.send(new ListMultipartUploadsCommand({ Bucket, Prefix: key }));
    return (out.Uploads ?? []).length;
  };

  before(async () => {
    localDir = await mkdtemp(path.join(tmpdir(), 'duckhouse-s3-io-'));
    const make = async (name: string) => {
      const bytes = randomBytes(20 * MiB + 123);
      const file = path.join(localDir, name);
      await writeFile(file, bytes);
      return { file, bytes };
    };
    big1 = await make('big1.parquet');
    big2 = await make('big2.parquet');
  });

  after(async () => {
    const Prefix = `${runPrefix}/`;
    const uploads = await plain.send(new ListMultipartUploadsCommand({ Bucket, Prefix }));
    for (const u of uploads.Uploads ?? []) {
      await plain.send(new AbortMultipartUploadCommand({ Bucket, Key: u.Key, UploadId: u.UploadId }));
    }
    const cleaner = new S3FileIO({ client: plain });
    const left = await listAll(cleaner, `s3://${Bucket}/${Prefix}`);
    await cleaner.deleteMany(left.map((f) => f.location));
    plain.destroy();
    await rm(localDir, { recursive: true, force: true });
  });

  test('a 20 MiB local file goes up in 8 MiB parts and reads back byte for byte', async () => {
    const { client, io } = fresh();
    const parts: number[] = [];
    onCommand(client, 'initialize', (name, input) => {
      if (name === 'UploadPartCommand') parts.push(input.PartNumber as number);
    });
    const loc = location('big.parquet');
    await io.upload(big1.file, loc);
    assert.deepEqual(parts.sort(), [1, 2, 3]);
    const head = await plain.send(new HeadObjectCommand({ Bucket, Key: keyOf(loc) }));
    assert.equal(head.ContentLength, big1.bytes.length);
    assert.match(head.ETag ?? '', /-3"?$/, 'a three-part multipart ETag');
    assert.ok(sameBytes(await io.read(loc), big1.bytes));
    await io.close();
    client.destroy();
  });

  test('a create-only multipart upload onto an existing key fails, keeps the object, leaves no upload behind', async () => {
    const { client, io } = fresh();
    const loc = location('exists.parquet');
    await plain.send(new PutObjectCommand({ Bucket, Key: keyOf(loc), Body: 'first' }));
    await assert.rejects(io.upload(big1.file, loc, { ifNoneMatch: true }), (error: unknown) => {
      assert.ok(error instanceof FileExistsError, String(error));
      assert.ok(error.message.includes(loc), error.message);
      return true;
    });
    assert.equal(new TextDecoder().decode(await io.read(loc)), 'first');
    assert.equal(await pendingUploads(keyOf(loc)), 0);
    client.destroy();
  });

  test('the condition is checked at Complete: a key created while the parts upload wins, and the upload is aborted', async () => {
    const { client, io } = fresh();
    const loc = location('racer.parquet');
    let raced = false;
    onCommand(client, 'initialize', async (name) => {
      if (name !== 'CompleteMultipartUploadCommand') return;
      await plain.send(new PutObjectCommand({ Bucket, Key: keyOf(loc), Body: 'racer', IfNoneMatch: '*' }));
      raced = true;
    });
    await assert.rejects(io.upload(big1.file, loc, { ifNoneMatch: true }), FileExistsError);
    assert.ok(raced);
    assert.equal(new TextDecoder().decode(await io.read(loc)), 'racer');
    assert.equal(await pendingUploads(keyOf(loc)), 0);
    client.destroy();
  });

  test('two concurrent create-only 20 MiB uploads of one key: exactly one wins, the object is the winner', async () => {
    const { client, io } = fresh();
    const loc = location('contended.parquet');
    const sources = [big1, big2];
    const results = await Promise.allSettled(sources.map((s) => io.upload(s.file, loc, { ifNoneMatch: true })));
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1, `expected one winner, found ${winners.length}`);
    const loser = results.find((r) => r.status === 'rejected');
    assert.ok(loser?.status === 'rejected' && loser.reason instanceof FileExistsError, String(loser));
    assert.ok(sameBytes(await io.read(loc), sources[winners[0] ?? 0]!.bytes));
    assert.equal(await pendingUploads(keyOf(loc)), 0);
    client.destroy();
  });

  test('a lost response on a create-only write is recognised as our own object, not a conflict', async () => {
    const { client, io } = fresh();
    let faults = 0;
    onCommand(client, 'deserialize', (name) => {
      if (name === 'PutObjectCommand' && faults++ === 0) throw lostResponse();
    });
    const loc = location('pointer.json');
    await io.write(loc, new TextEncoder().encode('ours'), { ifNoneMatch: true });
    assert.equal(faults, 1, 'the first attempt landed and its response was dropped; the retry got 412');
    assert.equal(new TextDecoder().decode(await io.read(loc)), 'ours');
    await assert.rejects(io.write(loc, new TextEncoder().encode('again'), { ifNoneMatch: true }), FileExistsError);
    client.destroy();
  });

  test('a lost response, then someone else’s object: still FileExistsError', async () => {
    const { client, io } = fresh();
    const loc = location('pointer.json');
    let faults = 0;
    onCommand(client, 'deserialize', async (name) => {
      if (name !== 'PutObjectCommand' || faults++ > 0) return;
      await plain.send(new PutObjectCommand({ Bucket, Key: keyOf(loc), Body: 'theirs' }));
      throw lostResponse();
    });
    await assert.rejects(io.write(loc, new TextEncoder().encode('ours'), { ifNoneMatch: true }), FileExistsError);
    assert.equal(new TextDecoder().decode(await io.read(loc)), 'theirs');
    client.destroy();
  });

  test('a lost response on CompleteMultipartUpload is recognised as our own upload (conditional and plain)', async () => {
    for (const ifNoneMatch of [true, false]) {
      const { client, io } = fresh();
      let faults = 0;
      onCommand(client, 'deserialize', (name) => {
        if (name === 'CompleteMultipartUploadCommand' && faults++ === 0) throw lostResponse();
      });
      const loc = location(`lost-complete-${ifNoneMatch}.parquet`);
      await io.upload(big2.file, loc, { ifNoneMatch });
      assert.equal(faults, 1, 'one response dropped; the retried Complete was refused (412 or NoSuchUpload)');
      assert.ok(sameBytes(await io.read(loc), big2.bytes));
      client.destroy();
    }
  });

  test('list pages through ListObjectsV2 (page size 2) and keeps the prefix’s scheme', async () => {
    const { client, io } = fresh({ listPageSize: 2 });
    let pages = 0;
    onCommand(client, 'initialize', (name) => {
      if (name === 'ListObjectsV2Command') pages++;
    });
    const dir = location('listed/');
    for (const name of ['a', 'b/c', 'b/d', 'e', 'f/g/h']) await io.write(`${dir}${name}`, new Uint8Array([1, 2]));
    const listed = await listAll(io, dir);
    assert.deepEqual(
      listed.map((f) => [f.location.slice(dir.length), f.size]),
      [['a', 2], ['b/c', 2], ['b/d', 2], ['e', 2], ['f/g/h', 2]],
    );
    assert.equal(pages, 3);
    const viaS3a = await listAll(io, dir.replace(/^s3:/, 's3a:'));
    assert.ok(viaS3a.every((f) => f.location.startsWith('s3a://')));
    client.destroy();
  });

  test('deleteMany sends DeleteObjects in batches (batch size 2)', async () => {
    const { client, io } = fresh({ deleteBatchSize: 2 });
    const batches: number[] = [];
    onCommand(client, 'initialize', (name, input) => {
      if (name === 'DeleteObjectsCommand') batches.push((input.Delete as { Objects: unknown[] }).Objects.length);
    });
    const dir = location('deleted/');
    const locations = ['1', '2', '3', '4', '5'].map((k) => `${dir}${k}`);
    for (const loc of locations) await io.write(loc, new Uint8Array([1]));
    await io.deleteMany(locations);
    assert.deepEqual(batches, [2, 2, 1]);
    assert.deepEqual(await listAll(io, dir), []);
    client.destroy();
  });

  test('wrong credentials: non-retriable io errors naming operation and location, never the secret', async () => {
    const secret = 'not-the-secret-0123456789';
    const io = new S3FileIO({ clientOptions: { ...s3Endpoint, secretAccessKey: secret } });
    const loc = location('denied.json');
    const checkNoSecret = (error: DuckHouseError): void => {
      assert.ok(!error.message.includes(secret) && !JSON.stringify(error.context).includes(secret));
      assert.ok(!error.message.includes(s3Endpoint.secretAccessKey));
    };
    await assert.rejects(io.read(loc), (error: unknown) => {
      assert.ok(error instanceof DuckHouseError && error.kind === 'io', String(error));
      assert.equal(error.retriable, false);
      assert.ok(error.message.startsWith(`read ${loc} failed: `), error.message);
      checkNoSecret(error);
      return true;
    });
    const doomed = [location('x'), location('y')];
    await assert.rejects(io.deleteMany(doomed), (error: unknown) => {
      assert.ok(error instanceof DuckHouseError && error.kind === 'io', String(error));
      const failures = error.context.failures as { location: string; code: string; retriable: boolean }[];
      assert.deepEqual(failures.map((f) => f.location), doomed);
      assert.ok(failures.every((f) => f.code === 'SignatureDoesNotMatch' && !f.retriable), JSON.stringify(failures));
      checkNoSecret(error);
      return true;
    });
    await io.close();
  });

  test('an unreachable endpoint is a retriable io error', async () => {
    const client = new S3Client({
      endpoint: 'http://127.0.0.1:1',
      region: s3Endpoint.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3Endpoint.accessKeyId, secretAccessKey: s3Endpoint.secretAccessKey },
      maxAttempts: 1,
    });
    const io = new S3FileIO({ client });
    const loc = location('unreachable');
    await assert.rejects(io.read(loc), (error: unknown) => {
      assert.ok(error instanceof DuckHouseError && error.kind === 'io', String(error));
      assert.equal(error.retriable, true);
      assert.ok(error.message.includes(`read ${loc}`) && error.message.includes('ECONNREFUSED'), error.message);
      return true;
    });
    client.destroy();
  });

  test('a missing bucket is an io error (misconfiguration), not NotFoundError', async () => {
    const io = new S3FileIO({ client: plain });
    const loc = `s3://no-such-bucket-${runPrefix}/x.json`;
    await assert.rejects(io.read(loc), (error: unknown) => {
      assert.ok(error instanceof DuckHouseError && !(error instanceof NotFoundError), String(error));
      assert.ok(error.message.includes(loc) && error.message.includes('NoSuchBucket'), error.message);
      return true;
    });
  });

  test('close destroys only a client the FileIO made', async () => {
    const { client, io } = fresh();
    await io.close();
    await assert.rejects(io.exists(location('x')), /closed/);
    const listed = await client.send(new ListObjectsV2Command({ Bucket, Prefix: `${runPrefix}/`, MaxKeys: 1 }));
    assert.equal(listed.$metadata.httpStatusCode, 200);
    client.destroy();
  });
});
