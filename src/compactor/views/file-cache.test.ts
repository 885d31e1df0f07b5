import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MemoryFileIO } from '../../catalog/io/memory-file-io.js';
import { DuckHouseError, MetadataInvalidError } from '../../shared/errors.js';
import { cacheDirOf, cachePathOf, escapeSegment, FileCache, localFileOf, PART_SUFFIX } from './file-cache.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-cache-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => !e.isDirectory()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

describe('cache paths', () => {
  it('mirror the location: <cacheDir>/<scheme>/<bucket>/<key>', () => {
    assert.equal(cachePathOf('/c', 's3://lake/wh/db/t/data/x.parquet'), '/c/s3/lake/wh/db/t/data/x.parquet');
    assert.equal(cachePathOf('/c', 's3a://lake/wh/x.parquet'), '/c/s3a/lake/wh/x.parquet');
    assert.equal(cachePathOf('/c', 'S3://lake/x'), '/c/s3/lake/x');
    assert.equal(cachePathOf('/c', 'memory://wh/db/t/a.parquet'), '/c/memory/wh/db/t/a.parquet');
    assert.equal(cachePathOf('/c', 'file:///data/wh/t/a.parquet'), '/c/file/data/wh/t/a.parquet');
    assert.equal(cacheDirOf('/c', 's3://lake/wh/db/t/'), '/c/s3/lake/wh/db/t');
  });

  it('escape what would escape the cache, collide or glob', () => {
    assert.equal(escapeSegment('..'), '%2E%2E');
    assert.equal(escapeSegment('.'), '%2E');
    assert.equal(escapeSegment(''), '%');
    assert.equal(escapeSegment('a*b?[c]%\\'), 'a%2Ab%3F%5Bc%5D%25%5C');
    assert.equal(escapeSegment('..x'), '..x');
    assert.equal(cachePathOf('/c', 's3://lake/../../etc/passwd'), '/c/s3/lake/%2E%2E/%2E%2E/etc/passwd');
    assert.notEqual(cachePathOf('/c', 's3://lake/a//b'), cachePathOf('/c', 's3://lake/a/b'));
    assert.notEqual(cachePathOf('/c', 's3://lake/a%2Ab'), cachePathOf('/c', 's3://lake/a*b'));
    assert.throws(() => cachePathOf('/c', 's3:///key'), DuckHouseError);
  });

  it('local files are read in place unless DuckDB would expand a glob character in their path', () => {
    assert.deepEqual(localFileOf('/c', 'file:///wh/t/a.parquet'), { location: 'file:///wh/t/a.parquet', local: '/wh/t/a.parquet', placement: 'in-place' });
    assert.deepEqual(localFileOf('/c', '/wh/t/a.parquet').placement, 'in-place');
    assert.deepEqual(localFileOf('/c', 'file:///wh/t[1]/a.parquet'), { location: 'file:///wh/t[1]/a.parquet', local: '/c/file/wh/t%5B1%5D/a.parquet', placement: 'link' });
    assert.deepEqual(localFileOf('/c', 's3://b/k.parquet'), { location: 's3://b/k.parquet', local: '/c/s3/b/k.parquet', placement: 'download' });
  });
});

describe('FileCache', () => {
  it('downloads what is missing (once), links glob-named local files, and checks local files exist', async (t) => {
    const dir = await tempDir(t);
    const io = new MemoryFileIO();
    await io.write('memory://wh/t/a.parquet', new Uint8Array([1, 2, 3]));
    await io.write('memory://wh/t/b.parquet', new Uint8Array([4]));
    const local = path.join(dir, 'wh', 't*', 'c.parquet');
    await mkdir(path.dirname(local), { recursive: true });
    await writeFile(local, 'c');
    const cache = new FileCache(path.join(dir, 'cache'));
    const files = ['memory://wh/t/a.parquet', 'memory://wh/t/b.parquet', `file://${local}`].map((l) => cache.localFileOf(l));
    const seen: number[] = [];
    assert.equal(await cache.ensure(io, files, { onFile: (done) => seen.push(done) }), 3);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual([...await readFile(files[0]!.local)], [1, 2, 3]);
    assert.equal(await readlink(files[2]!.local), local);
    assert.equal(await cache.ensure(io, files), 0, 'cached files are not downloaded again');
    await assert.rejects(cache.ensure(io, [cache.localFileOf(`file://${dir}/missing.parquet`)]), MetadataInvalidError);
    await assert.rejects(cache.ensure(io, [cache.localFileOf('memory://wh/t/missing.parquet')]), /missing from the warehouse/);
  });

  it('never leaves a partial file under a cached name', async (t) => {
    const dir = await tempDir(t);
    const failing = new MemoryFileIO();
    failing.read = () => Promise.reject(new Error('connection reset'));
    const cache = new FileCache(dir);
    await assert.rejects(cache.ensure(failing, [cache.localFileOf('memory://wh/t/a.parquet')]), (e: unknown) => e instanceof DuckHouseError && e.retriable);
    assert.deepEqual(await filesUnder(dir), []);
  });

  it('evicts what no view keeps, spares downloads in progress, never touches files outside the cache', async (t) => {
    const dir = await tempDir(t);
    const cacheDir = path.join(dir, 'cache');
    const cache = new FileCache(cacheDir);
    const tableDir = cacheDirOf(cacheDir, 's3://b/wh/t');
    const file = (rel: string): string => path.join(tableDir, rel);
    for (const f of ['data/keep.parquet', 'data/gone.parquet', 'data/old/gone2.parquet', `data/x.parquet.1${PART_SUFFIX}`, `data/y.parquet.2${PART_SUFFIX}`]) {
      await mkdir(path.dirname(file(f)), { recursive: true });
      await writeFile(file(f), 'x');
    }
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(file(`data/y.parquet.2${PART_SUFFIX}`), old, old);
    const elsewhere = cachePathOf(cacheDir, 's3://b/other/moved.parquet');
    await mkdir(path.dirname(elsewhere), { recursive: true });
    await writeFile(elsewhere, 'x');
    const outside = path.join(dir, 'warehouse.parquet');
    await writeFile(outside, 'x');

    const evicted = await cache.evict([tableDir], [elsewhere, outside], new Set([file('data/keep.parquet')]));
    assert.equal(evicted, 4, 'gone, gone2, the stale download, the candidate outside the table dir');
    assert.deepEqual(await filesUnder(cacheDir), ['s3/b/wh/t/data/keep.parquet', `s3/b/wh/t/data/x.parquet.1${PART_SUFFIX}`]);
    assert.ok(await lstat(outside), 'files outside the cache are never evicted');
    assert.equal(await cache.evict([path.join(dir, 'nope')], [], new Set()), 0);
  });
});
