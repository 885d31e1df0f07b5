import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckHouseError } from '../../shared/errors.js';
import { fileIOContract, listAll } from './file-io-contract.test.js';
import { MemoryFileIO } from './memory-file-io.js';

fileIOContract('MemoryFileIO', async () => ({ io: new MemoryFileIO(), base: 'memory://contract/' }));

test('MemoryFileIO copies bytes in and out: callers cannot change a stored object', async () => {
  const io = new MemoryFileIO();
  const data = new Uint8Array([1, 2, 3]);
  await io.write('memory://w/k', data);
  data[0] = 9;
  const first = await io.read('memory://w/k');
  first[1] = 9;
  assert.deepEqual([...(await io.read('memory://w/k'))], [1, 2, 3]);
});

test('MemoryFileIO stamps lastModifiedMs from the clock it was given', async () => {
  let now = 1_000;
  const io = new MemoryFileIO({ clock: () => now });
  await io.write('memory://w/a', new Uint8Array(4));
  now = 2_000;
  await io.write('memory://w/b', new Uint8Array(2));
  assert.deepEqual(await listAll(io, 'memory://w/'), [
    { location: 'memory://w/a', size: 4, lastModifiedMs: 1_000 },
    { location: 'memory://w/b', size: 2, lastModifiedMs: 2_000 },
  ]);
});

test('MemoryFileIO refuses locations of other schemes (a wiring bug, not a missing file)', async () => {
  const io = new MemoryFileIO();
  for (const location of ['s3://bucket/key', '/tmp/x', 'file:///tmp/x', 'memory://']) {
    await assert.rejects(io.write(location, new Uint8Array(1)), (error: unknown) => {
      assert.ok(error instanceof DuckHouseError && error.kind === 'config', String(error));
      assert.ok(error.message.includes(JSON.stringify(location)), error.message);
      return true;
    });
  }
});

test('MemoryFileIO is unusable after close', async () => {
  const io = new MemoryFileIO();
  await io.write('memory://w/a', new Uint8Array(1));
  await io.close();
  await assert.rejects(io.read('memory://w/a'), /closed/);
  await assert.rejects(io.exists('memory://w/a'), /closed/);
});
