// The FileIO contract as tests, run against every implementation (memory and local here beside the code, S3 from
// test/integration/file-io-s3.test.ts against MinIO). This file only exports the suite; it registers no tests itself.
// Must never: depend on one implementation's quirks, or leave objects behind outside the base it is given.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckHouseError, FileExistsError, NotFoundError } from '../../shared/errors.js';
import type { FileIO, FileInfo } from './file-io.js';

export interface FileIOContractSubject {
  readonly io: FileIO;
  /** A location ending in `/` that only this suite uses; everything written goes below it. */
  readonly base: string;
  readonly cleanup?: () => Promise<void>;
}

export async function listAll(io: FileIO, prefix: string): Promise<FileInfo[]> {
  const found: FileInfo[] = [];
  for await (const info of io.list(prefix)) found.push(info);
  return found.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
}

export function sameBytes(actual: Uint8Array, expected: Uint8Array): boolean {
  return Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected);
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

export function fileIOContract(name: string, setup: () => Promise<FileIOContractSubject>): void {
  describe(`FileIO contract: ${name}`, () => {
    let subject: FileIOContractSubject;
    let io: FileIO;
    let localDir: string;
    let counter = 0;
    /** A fresh folder below the base for one test. */
    const folder = (): string => `${subject.base}t${++counter}/`;

    before(async () => {
      subject = await setup();
      io = subject.io;
      localDir = await mkdtemp(path.join(tmpdir(), 'duckhouse-contract-'));
    });
    after(async () => {
      if (io) {
        const left = await listAll(io, subject.base).catch(() => []);
        if (left.length > 0) await io.deleteMany(left.map((f) => f.location)).catch(() => undefined);
        await subject.cleanup?.();
        await io.close?.();
      }
      if (localDir) await rm(localDir, { recursive: true, force: true });
    });

    test('write then read returns the same bytes (binary, empty, nested folders)', async () => {
      const dir = folder();
      const binary = randomBytes(70_000);
      await io.write(`${dir}a/b/c/data.bin`, binary);
      await io.write(`${dir}empty`, new Uint8Array(0));
      const got = await io.read(`${dir}a/b/c/data.bin`);
      assert.ok(got instanceof Uint8Array);
      assert.ok(sameBytes(got, binary));
      assert.equal((await io.read(`${dir}empty`)).byteLength, 0);
    });

    test('a plain write replaces the object', async () => {
      const location = `${folder()}v.json`;
      await io.write(location, text('first'));
      await io.write(location, text('second, longer'));
      assert.equal(decode(await io.read(location)), 'second, longer');
    });

    test('reading a missing object throws NotFoundError naming the location', async () => {
      const location = `${folder()}missing/nothing.avro`;
      await assert.rejects(io.read(location), (error: unknown) => {
        assert.ok(error instanceof NotFoundError, `expected NotFoundError, found ${String(error)}`);
        assert.equal(error.kind, 'not-found');
        assert.ok(error.message.includes(location), error.message);
        return true;
      });
    });

    test('exists is true only for written objects', async () => {
      const dir = folder();
      await io.write(`${dir}x/y.txt`, text('y'));
      assert.equal(await io.exists(`${dir}x/y.txt`), true);
      assert.equal(await io.exists(`${dir}x/z.txt`), false);
      assert.equal(await io.exists(`${dir}nothing/here`), false);
    });

    test('ifNoneMatch creates when absent and refuses to overwrite, keeping the first object', async () => {
      const location = `${folder()}metadata/v1.metadata.json`;
      await io.write(location, text('first'), { ifNoneMatch: true, contentType: 'application/json' });
      await assert.rejects(io.write(location, text('second'), { ifNoneMatch: true }), (error: unknown) => {
        assert.ok(error instanceof FileExistsError, `expected FileExistsError, found ${String(error)}`);
        assert.ok(error.message.includes(location), error.message);
        assert.equal(error.retriable, false);
        return true;
      });
      assert.equal(decode(await io.read(location)), 'first');
    });

    test('concurrent create-only writes of one location: exactly one wins, the object is the winner', async () => {
      const location = `${folder()}pointer.json`;
      const contents = Array.from({ length: 8 }, (_, i) => `writer-${i}-${'x'.repeat(i * 1000)}`);
      const results = await Promise.allSettled(contents.map((c) => io.write(location, text(c), { ifNoneMatch: true })));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1, `expected exactly one winner, found ${winners.length}`);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof FileExistsError, String(r.reason));
      }
      assert.equal(decode(await io.read(location)), contents[winners[0] ?? -1]);
    });

    test('upload copies a local file (the source stays), and honours ifNoneMatch', async () => {
      const dir = folder();
      const source = path.join(localDir, `upload-${counter}.parquet`);
      const bytes = randomBytes(300_000);
      await writeFile(source, bytes);
      await io.upload(source, `${dir}data/part-0.parquet`, { contentType: 'application/octet-stream' });
      assert.ok(sameBytes(await io.read(`${dir}data/part-0.parquet`), bytes));
      assert.ok((await readFile(source)).equals(bytes), 'the source file must remain unchanged');
      await assert.rejects(io.upload(source, `${dir}data/part-0.parquet`, { ifNoneMatch: true }), FileExistsError);
      await io.upload(source, `${dir}data/part-1.parquet`, { ifNoneMatch: true });
      assert.equal(await io.exists(`${dir}data/part-1.parquet`), true);
    });

    test('upload of an empty local file makes an empty object', async () => {
      const source = path.join(localDir, `empty-${counter}`);
      await writeFile(source, '');
      const location = `${folder()}empty.bin`;
      await io.upload(source, location);
      assert.equal((await io.read(location)).byteLength, 0);
    });

    test('upload of a missing local file throws NotFoundError naming the local path', async () => {
      const source = path.join(localDir, 'does-not-exist.parquet');
      await assert.rejects(io.upload(source, `${folder()}x.parquet`), (error: unknown) => {
        assert.ok(error instanceof NotFoundError, String(error));
        assert.ok(error.message.includes(source), error.message);
        return true;
      });
    });

    test('upload of a folder is an io error naming the local path', async () => {
      await assert.rejects(io.upload(localDir, `${folder()}x.parquet`), (error: unknown) => {
        assert.ok(error instanceof DuckHouseError && error.kind === 'io', String(error));
        assert.ok(error.message.includes(localDir), error.message);
        return true;
      });
    });

    test('delete removes an object; deleting a missing one is fine', async () => {
      const location = `${folder()}gone.txt`;
      await io.write(location, text('bye'));
      await io.delete(location);
      assert.equal(await io.exists(location), false);
      await io.delete(location);
      await io.delete(`${folder()}never/was.txt`);
    });

    test('deleteMany removes exactly the listed objects (missing ones are fine)', async () => {
      const dir = folder();
      const names = ['a', 'b', 'c', 'd/e', 'd/f'];
      await Promise.all(names.map((n) => io.write(`${dir}${n}`, text(n))));
      await io.deleteMany([`${dir}a`, `${dir}d/e`, `${dir}c`, `${dir}not-there`, `${dir}a`]);
      assert.deepEqual(
        (await listAll(io, dir)).map((f) => f.location),
        [`${dir}b`, `${dir}d/f`],
      );
      await io.deleteMany([]);
    });

    test('list finds every object under a prefix, recursively, with sizes and times', async () => {
      const dir = folder();
      const startedMs = Date.now();
      const files: Record<string, number> = { 'data/a.parquet': 10, 'data/x/b.parquet': 20, 'data/x/y/c.parquet': 0, 'metadata/v1.json': 5 };
      for (const [name, size] of Object.entries(files)) await io.write(`${dir}${name}`, randomBytes(size));
      const listed = await listAll(io, `${dir}data/`);
      assert.deepEqual(
        listed.map((f) => [f.location, f.size]),
        [
          [`${dir}data/a.parquet`, 10],
          [`${dir}data/x/b.parquet`, 20],
          [`${dir}data/x/y/c.parquet`, 0],
        ],
      );
      for (const f of listed) {
        assert.ok(Number.isInteger(f.lastModifiedMs), `lastModifiedMs ${f.lastModifiedMs}`);
        assert.ok(Math.abs(f.lastModifiedMs - startedMs) < 10 * 60_000, `lastModifiedMs ${f.lastModifiedMs} vs ${startedMs}`);
      }
      assert.equal((await listAll(io, dir)).length, 4);
      assert.deepEqual(await listAll(io, `${dir}nothing/`), []);
    });

    test('list prefixes are string prefixes: a trailing slash means a folder', async () => {
      const dir = folder();
      for (const name of ['t/1', 't2/1', 'tx', 'u/1']) await io.write(`${dir}${name}`, text(name));
      assert.deepEqual(
        (await listAll(io, `${dir}t/`)).map((f) => f.location),
        [`${dir}t/1`],
      );
      assert.deepEqual(
        (await listAll(io, `${dir}t`)).map((f) => f.location),
        [`${dir}t/1`, `${dir}t2/1`, `${dir}tx`],
      );
    });

    test('errors are DuckHouseErrors with a kind', async () => {
      await assert.rejects(io.read(`${folder()}nope`), (error: unknown) => error instanceof DuckHouseError && error.kind === 'not-found');
    });
  });
}
