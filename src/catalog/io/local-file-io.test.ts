import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DuckHouseError, FileExistsError } from '../../shared/errors.js';
import { fileIOContract, listAll, sameBytes } from './file-io-contract.test.js';
import { LOCAL_TEMP_SUFFIX, LocalFileIO } from './local-file-io.js';

const tempRoot = async (): Promise<string> => mkdtemp(path.join(tmpdir(), 'duckhouse-local-io-'));

fileIOContract('LocalFileIO with file:// URIs', async () => {
  const dir = await tempRoot();
  return { io: new LocalFileIO(), base: `file://${dir}/`, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

fileIOContract('LocalFileIO with plain absolute paths', async () => {
  const dir = await tempRoot();
  return { io: new LocalFileIO(), base: `${dir}/`, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

let root: string;
const io = new LocalFileIO();
before(async () => {
  root = await tempRoot();
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('file:///abs, file:/abs, file://localhost/abs and /abs all name the same file', async () => {
  const file = path.join(root, 'spellings', 'x.json');
  await io.write(`file://${file}`, new TextEncoder().encode('same'));
  for (const location of [file, `file:${file}`, `file://localhost${file}`]) {
    assert.equal(new TextDecoder().decode(await io.read(location)), 'same', location);
  }
});

test('relative paths and remote file hosts are refused as config errors', async () => {
  for (const location of ['relative/x.json', 'file://otherhost/tmp/x', 'file:relative']) {
    await assert.rejects(io.read(location), (error: unknown) => error instanceof DuckHouseError && error.kind === 'config');
  }
});

test('writes leave no temp files behind, also when a create-only write loses', async () => {
  const dir = path.join(root, 'no-temp');
  await io.write(path.join(dir, 'a'), new Uint8Array([1]));
  await io.write(path.join(dir, 'a'), new Uint8Array([2]));
  await io.write(path.join(dir, 'b'), new Uint8Array([3]), { ifNoneMatch: true });
  await assert.rejects(io.write(path.join(dir, 'b'), new Uint8Array([4]), { ifNoneMatch: true }), FileExistsError);
  await assert.rejects(io.write(path.join(dir, 'a', 'under-a-file'), new Uint8Array([5])));
  assert.deepEqual((await readdir(dir)).sort(), ['a', 'b']);
});

test('readers never see a partly written file while it is being replaced', async () => {
  const location = path.join(root, 'atomic', 'big.bin');
  const versions = [randomBytes(2 * 1024 * 1024), randomBytes(2 * 1024 * 1024)];
  await io.write(location, versions[0]!);
  let writing = true;
  const writer = (async () => {
    for (let i = 0; i < 20; i++) await io.write(location, versions[i % 2]!);
    writing = false;
  })();
  let reads = 0;
  while (writing) {
    const got = await io.read(location);
    assert.ok(sameBytes(got, versions[0]!) || sameBytes(got, versions[1]!), `read ${reads} saw a torn file (${got.byteLength} bytes)`);
    reads++;
  }
  await writer;
  assert.ok(reads > 0);
});

test('create-only writes under contention: exactly one of 32 wins', async () => {
  const location = path.join(root, 'race', 'v1.metadata.json');
  const results = await Promise.allSettled(
    Array.from({ length: 32 }, (_, i) => io.write(location, new TextEncoder().encode(`w${i}`), { ifNoneMatch: true })),
  );
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.deepEqual(await readdir(path.dirname(location)), ['v1.metadata.json']);
});

test('list skips in-flight temp files and non-files', async () => {
  const dir = path.join(root, 'list-skips');
  await io.write(path.join(dir, 'real.parquet'), new Uint8Array(3));
  await writeFile(path.join(dir, `.real.parquet.0123456789ab${LOCAL_TEMP_SUFFIX}`), 'partial');
  await mkdir(path.join(dir, 'empty-folder'));
  assert.deepEqual(
    (await listAll(io, `${dir}/`)).map((f) => f.location),
    [path.join(dir, 'real.parquet')],
  );
});

test('errors name the operation and location; errno codes are kept in the context', async () => {
  const dir = path.join(root, 'errors');
  await io.write(path.join(dir, 'file'), new Uint8Array(1));
  const underFile = path.join(dir, 'file', 'child');
  await assert.rejects(io.write(underFile, new Uint8Array(1)), (error: unknown) => {
    assert.ok(error instanceof DuckHouseError);
    assert.equal(error.kind, 'io');
    assert.equal(error.retriable, false);
    assert.ok(error.message.startsWith(`write ${underFile} failed`), error.message);
    assert.equal(error.context.code, 'ENOTDIR');
    return true;
  });
  await assert.rejects(io.read(dir), (error: unknown) => error instanceof DuckHouseError && error.context.code === 'EISDIR');
  assert.equal(await io.exists(dir), false, 'a directory is not an object');
});

test('deleteMany reports each location it could not delete', async () => {
  const dir = path.join(root, 'delete-many');
  await io.write(path.join(dir, 'ok'), new Uint8Array(1));
  await mkdir(path.join(dir, 'folder'));
  await assert.rejects(io.deleteMany([path.join(dir, 'ok'), path.join(dir, 'folder')]), (error: unknown) => {
    assert.ok(error instanceof DuckHouseError && error.kind === 'io', String(error));
    const failures = error.context.failures as { location: string; code: string }[];
    assert.deepEqual(failures.map((f) => f.location), [path.join(dir, 'folder')]);
    assert.ok(['EISDIR', 'EPERM'].includes(failures[0]?.code ?? ''), failures[0]?.code);
    return true;
  });
  assert.equal(await io.exists(path.join(dir, 'ok')), false);
});

test('LocalFileIO is unusable after close', async () => {
  const closed = new LocalFileIO();
  await closed.close();
  await assert.rejects(closed.read(path.join(root, 'x')), /closed/);
});
