// SnapshotCopy against real DuckDB files in a temp folder: copies follow the live file, a writer holding the lock
// yields the previous copy (stale), a WAL left behind is folded into the copy, and copies go only when unused.
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { withDuckDBFile } from '../../compactor/duckdb-file.js';
import { openDuckDB } from '../../shared/duckdb.js';
import { NotFoundError } from '../../shared/errors.js';
import { SnapshotCopy } from './snapshot-copy.js';
import { SqlUnavailableError } from './sql-errors.js';

const exists = (file: string): Promise<boolean> => access(file).then(() => true, () => false);

async function write(file: string, statements: string[], options: { keepWal?: boolean } = {}): Promise<void> {
  const { instance, connection } = await openDuckDB(file);
  try {
    if (options.keepWal) await connection.run('PRAGMA disable_checkpoint_on_shutdown');
    for (const sql of statements) await connection.run(sql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function read(file: string, sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowsJS();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Holds the writer lock of `file` until the returned function is called. */
async function holdLock(file: string): Promise<() => Promise<void>> {
  let release!: () => void;
  let held!: () => void;
  const isHeld = new Promise<void>((resolve) => (held = resolve));
  const holding = withDuckDBFile(file, async () => {
    held();
    await new Promise<void>((resolve) => (release = resolve));
  });
  await isHeld;
  return async () => {
    release();
    await holding;
  };
}

describe('SnapshotCopy', () => {
  let dir: string;
  let file: string;
  let copies: SnapshotCopy;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-sql-copy-'));
    file = path.join(dir, 'views.duckdb');
    copies = new SnapshotCopy({ databaseFile: file, lockWaitMs: 100 });
  });

  afterEach(async () => {
    await copies.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('says there are no views yet when the file does not exist', async () => {
    await assert.rejects(copies.acquire(), (error: unknown) => error instanceof NotFoundError && /^no views yet/.test(error.message));
  });

  it('copies once per version of the live file, and deletes a copy only when no query holds it', async () => {
    await write(file, ['CREATE TABLE t AS SELECT 1 AS v']);
    const first = await copies.acquire();
    const again = await copies.acquire();
    assert.equal(again.path, first.path, 'unchanged file: same copy');
    assert.equal(first.stale, false);
    assert.equal(path.dirname(first.path), copies.folder);
    assert.ok(copies.folder.startsWith(path.join(dir, '.sql-copies')));
    assert.deepEqual(await read(first.path, 'SELECT v FROM t'), [[1]]);

    await write(file, ['UPDATE t SET v = 2']);
    const second = await copies.acquire();
    assert.notEqual(second.path, first.path);
    assert.deepEqual(await read(second.path, 'SELECT v FROM t'), [[2]]);
    assert.ok(await exists(first.path), 'still held by two leases');
    first.release();
    first.release();
    assert.ok(await exists(first.path), 'a second release of the same lease does not count');
    again.release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await exists(first.path), false, 'deleted once unused and no longer current');
    second.release();
    assert.ok(await exists(second.path), 'the current copy stays');
  });

  it('serves the previous copy, stale, while a writer holds the lock; the next query after sees the change', async () => {
    await write(file, ['CREATE TABLE t AS SELECT 1 AS v']);
    const before = await copies.acquire();
    before.release();
    const release = await holdLock(file);
    await write(file, ['UPDATE t SET v = 2']);
    const during = await copies.acquire();
    assert.deepEqual([during.path, during.stale, during.asOf], [before.path, true, before.asOf]);
    during.release();
    await release();
    const after = await copies.acquire();
    assert.equal(after.stale, false);
    assert.ok(after.asOf >= before.asOf);
    assert.deepEqual(await read(after.path, 'SELECT v FROM t'), [[2]]);
    after.release();
  });

  it('refuses with a retriable error when a writer holds the lock and no copy exists yet', async () => {
    await write(file, ['CREATE TABLE t AS SELECT 1 AS v']);
    const release = await holdLock(file);
    try {
      await assert.rejects(copies.acquire({ firstWaitMs: 150 }), (error: unknown) => error instanceof SqlUnavailableError && error.retriable && /is being written/.test(error.message));
    } finally {
      await release();
    }
  });

  it('folds a WAL left behind into the copy', async () => {
    await write(file, ['CREATE TABLE t AS SELECT 1 AS v']);
    await write(file, ['INSERT INTO t VALUES (2)'], { keepWal: true });
    assert.ok(await exists(`${file}.wal`), 'the test needs a WAL left behind');
    const lease = await copies.acquire();
    assert.equal(await exists(`${lease.path}.wal`), false);
    assert.deepEqual(await read(lease.path, 'SELECT v FROM t ORDER BY v'), [[1], [2]]);
    lease.release();
  });

  it('removes its folder on close once the last lease is released, and sweeps folders of dead processes', async () => {
    await write(file, ['CREATE TABLE t AS SELECT 1 AS v']);
    const dead = path.join(dir, '.sql-copies', '999999999-0badc0de');
    const other = path.join(dir, '.sql-copies', 'not-a-copy-folder');
    await mkdir(dead, { recursive: true });
    await mkdir(other, { recursive: true });
    const lease = await copies.acquire();
    assert.deepEqual((await readdir(path.join(dir, '.sql-copies'))).sort(), [path.basename(copies.folder), 'not-a-copy-folder'].sort());
    await copies.close();
    assert.ok(await exists(lease.path), 'held by a query');
    lease.release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await exists(copies.folder), false);
    await assert.rejects(copies.acquire(), /used after close/);
  });
});
