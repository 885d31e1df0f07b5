// The embedded catalog's pointer scheme under races the integration suite cannot stage on purpose: a writer that
// stalls between listing the pointers and creating the next one while others commit and prune, and a storage error
// right after a pointer was created.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommitStateUnknownError } from '../../shared/errors.js';
import type { FileIO, FileInfo, WriteOptions } from '../io/file-io.js';
import { MemoryFileIO } from '../io/memory-file-io.js';
import { planFiles } from '../read/plan-files.js';
import type { DataFile } from '../spec/manifest.js';
import { DataFileContent } from '../spec/manifest.js';
import { buildSchema } from '../spec/schema.js';
import { primitive } from '../spec/types.js';
import { commitAction } from '../transaction/action.js';
import { fastAppend } from '../transaction/fast-append.js';
import { updateProperties } from '../transaction/update-properties.js';
import type { TableIdentifier } from './catalog.js';
import { EmbeddedCatalog } from './embedded-catalog.js';

const id: TableIdentifier = { namespace: ['db'], name: 't' };
const isPointer = (location: string): boolean => /\/\.catalog\/tables\/.*\/v\d+\.json$/.test(location);

/** Delegates to a MemoryFileIO; hooks run before pointer writes and lists. */
class HookedFileIO implements FileIO {
  beforePointerWrite: (location: string) => Promise<void> = () => Promise.resolve();
  beforeList: (prefix: string) => void = () => undefined;
  constructor(readonly inner: MemoryFileIO) {}
  read(location: string): Promise<Uint8Array> {
    return this.inner.read(location);
  }
  async write(location: string, data: Uint8Array, options?: WriteOptions): Promise<void> {
    if (isPointer(location)) await this.beforePointerWrite(location);
    return this.inner.write(location, data, options);
  }
  upload(localPath: string, location: string, options?: WriteOptions): Promise<void> {
    return this.inner.upload(localPath, location, options);
  }
  exists(location: string): Promise<boolean> {
    return this.inner.exists(location);
  }
  delete(location: string): Promise<void> {
    return this.inner.delete(location);
  }
  deleteMany(locations: readonly string[]): Promise<void> {
    return this.inner.deleteMany(locations);
  }
  list(prefix: string): AsyncIterable<FileInfo> {
    this.beforeList(prefix);
    return this.inner.list(prefix);
  }
}

async function setup(keepPointers: number): Promise<{ memory: MemoryFileIO; hooked: HookedFileIO; stalled: EmbeddedCatalog; other: EmbeddedCatalog }> {
  const memory = new MemoryFileIO();
  const hooked = new HookedFileIO(memory);
  const other = new EmbeddedCatalog({ warehouse: 'memory://wh', io: memory, keepPointers });
  const stalled = new EmbeddedCatalog({ warehouse: 'memory://wh', io: hooked, keepPointers });
  await other.createNamespace(['db']);
  const { schema } = buildSchema([{ name: 'id', type: primitive('long'), required: true }]);
  await other.createTable(id, { schema });
  return { memory, hooked, stalled, other };
}

describe('embedded catalog pointers', () => {
  it('a writer that stalls while others commit and prune never reports a commit that is not in the table', async () => {
    const { hooked, stalled, other } = await setup(2);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reached!: () => void;
    const atGate = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let first = true;
    hooked.beforePointerWrite = async () => {
      if (!first) return;
      first = false;
      reached();
      await gate;
    };
    // The stalled writer has listed v1 and is about to create v2 ...
    const slow = commitAction(stalled, id, updateProperties({ slow: 'yes' }), { minWaitMs: 1, maxWaitMs: 2 });
    await atGate;
    // ... while three commits land (v2, v3, v4) and prune v1 and v2 (keepPointers = 2).
    for (const n of [1, 2, 3]) await commitAction(other, id, updateProperties({ [`fast${n}`]: 'yes' }));
    release();
    await slow;
    const table = await other.loadTable(id);
    assert.equal(table.metadata.properties.slow, 'yes', 'the stalled writer reported success, so its change must be in the table');
    for (const n of [1, 2, 3]) assert.equal(table.metadata.properties[`fast${n}`], 'yes');
  });

  it('a storage error after the pointer was created is an unknown outcome: nothing the commit wrote is deleted', async () => {
    const { hooked, stalled } = await setup(10);
    let created = false;
    hooked.beforePointerWrite = () => {
      created = true;
      return Promise.resolve();
    };
    hooked.beforeList = () => {
      if (created) {
        created = false;
        throw new Error('injected: list failed');
      }
    };
    const file: DataFile = { content: DataFileContent.DATA, filePath: 'memory://wh/db/t/data/a.parquet', fileFormat: 'PARQUET', specId: 0, partition: [], recordCount: 1n, fileSizeInBytes: 10n };
    await commitAction(stalled, id, fastAppend([file])).then(
      () => undefined,
      (error: unknown) => assert.ok(error instanceof CommitStateUnknownError, `expected CommitStateUnknownError, found ${String(error)}`),
    );
    hooked.beforeList = () => undefined;
    const table = await stalled.loadTable(id);
    // The pointer was created, so the snapshot is the table's: its manifest list and manifests must still be there.
    assert.deepEqual((await planFiles(table)).map((t) => t.file.filePath), [file.filePath]);
  });
});
