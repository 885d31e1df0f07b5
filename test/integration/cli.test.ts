// The `duckhouse` command as a user runs it (a child process over the real Postgres catalog): `tables` list, describe,
// history, snapshots and time travel, `compact`, settings from a config file and the environment, and exit codes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { TableIdentifier } from '../../src/catalog/catalogs/catalog.js';
import { buildSchema } from '../../src/catalog/spec/schema.js';
import { commitAction } from '../../src/catalog/transaction/action.js';
import { fastAppend } from '../../src/catalog/transaction/fast-append.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';
import { makeRows, TEST_FIELDS, writeRows } from '../interop/pyiceberg.js';
import type { CatalogFixture } from './catalog-fixtures.js';
import { catalogFixture } from './catalog-fixtures.js';
import { uniqueName } from './helpers.js';

const ENTRY = path.join(PROJECT_ROOT, 'src', 'bin', 'duckhouse.ts');
/** tsx by URL: the commands run in a temporary folder, where a bare `tsx` would not resolve. */
const TSX = import.meta.resolve('tsx');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let fixture: CatalogFixture;
let dir: string;
let id: TableIdentifier;
let table: string;
let firstSnapshot: string;

async function duckhouse(args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', TSX, ENTRY, ...args], { cwd: dir, env: { ...process.env, DUCKHOUSE_LOG_LEVEL: 'warn', ...env }, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

before(async () => {
  fixture = await catalogFixture('sql-local');
  dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-cli-'));
  id = { namespace: [uniqueName('cli').replace('-', '_')], name: 'items' };
  table = `${id.namespace[0]}.items`;
  await fixture.catalog.createNamespace(id.namespace);
  const { schema } = buildSchema(TEST_FIELDS, { identifierFields: ['id'] });
  const created = await fixture.catalog.createTable(id, { schema });
  await commitAction(fixture.catalog, id, fastAppend(await writeRows(created, makeRows(0, 30))));
  firstSnapshot = String((await fixture.catalog.loadTable(id)).metadata.currentSnapshotId);
  for (let i = 0; i < 5; i++) {
    const loaded = await fixture.catalog.loadTable(id);
    await commitAction(fixture.catalog, id, fastAppend(await writeRows(loaded, makeRows(30 + i * 10, 40 + i * 10))));
  }
  // Settings through the config file: every command below finds the catalog without flags.
  await writeFile(path.join(dir, 'duckhouse.yaml'), `catalog-name: ${fixture.pyiceberg.catalog}\nwarehouse: ${fixture.warehouse}\n`);
});

after(async () => {
  await fixture?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('the duckhouse command', () => {
  it('lists, describes and shows the history and snapshots of tables, in text and JSON', async () => {
    const list = await duckhouse(['tables', 'list', id.namespace[0]!, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const [overview] = JSON.parse(list.stdout) as { table: string; rows: number; dataFiles: number; snapshots: number }[];
    assert.deepEqual([overview?.table, overview?.rows, overview?.dataFiles, overview?.snapshots], [table, 80, 6, 6]);
    const text = await duckhouse(['tables', 'list']);
    assert.match(text.stdout, new RegExp(`^${table}\\s+80\\s+6\\s+0\\s`, 'm'));

    const describeRun = await duckhouse(['tables', 'describe', table]);
    assert.equal(describeRun.code, 0, describeRun.stderr);
    assert.match(describeRun.stdout, /^1\s+id\s+long\s+no\s+key$/m);
    assert.match(describeRun.stdout, /^6\s+ts\s+timestamptz\s+yes$/m);

    const history = JSON.parse((await duckhouse(['tables', 'history', table, '--json'])).stdout) as { snapshotId: string }[];
    assert.equal(history.length, 6);
    assert.equal(history.at(-1)!.snapshotId, firstSnapshot);
    const snapshots = JSON.parse((await duckhouse(['tables', 'snapshots', table, '--json', '--limit', '2'])).stdout) as { isCurrent: boolean; totalRows: number }[];
    assert.deepEqual(snapshots.map((s) => [s.isCurrent, s.totalRows]), [[true, 80], [false, 70]]);
  });

  it('reads a table at a snapshot and as of a time, and says what is missing with exit code 4', async () => {
    const past = await duckhouse(['tables', 'query', table, '--snapshot', firstSnapshot, '--limit', '100', '--json']);
    assert.equal(past.code, 0, past.stderr);
    const rows = JSON.parse(past.stdout) as { id: number; ts: string | null }[];
    assert.equal(rows.length, 30, 'the first snapshot had 30 rows');
    assert.ok(rows.every((r) => r.ts === null || /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(r.ts)), 'timestamps with microseconds');
    const now = await duckhouse(['tables', 'query', table, '--as-of', new Date(Date.now() + 60_000).toISOString(), '--columns', 'id,name', '--limit', '3']);
    assert.match(now.stdout, /^3 rows of 80 \(--limit\)/m);
    assert.match(now.stdout, /^id\s+name$/m);

    const missing = await duckhouse(['tables', 'describe', `${id.namespace[0]}.nope`]);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /does not exist/);
    const tooEarly = await duckhouse(['tables', 'query', table, '--as-of', '2001-01-01']);
    assert.equal(tooEarly.code, 4);
    assert.match(tooEarly.stderr, /had no snapshot at 2001-01-01T00:00:00\.000Z; its oldest retained snapshot is from/);
  });

  it('compacts with a result line, and exits 2 for bad flags, bad settings and bad values', async () => {
    const compact = await duckhouse(['compact', table, '--no-expire', '--orphans', 'never', '--min-input-files', '2', '--no-refresh-views', '--quiet']);
    assert.equal(compact.code, 0, compact.stderr);
    assert.match(compact.stdout, new RegExp(`^${table}: 6 files rewritten into 1 .*data files 6 → 1`, 'm'));
    const after = JSON.parse((await duckhouse(['tables', 'list', id.namespace[0]!, '--json'])).stdout) as { rows: number; dataFiles: number }[];
    assert.deepEqual([after[0]?.rows, after[0]?.dataFiles], [80, 1]);

    const cases: [string[], Record<string, string>, RegExp][] = [
      [['tables', 'lst'], {}, /unknown command 'lst'/],
      [['tables', 'list', '--bogus'], {}, /unknown option '--bogus'/],
      [['tables', 'query', table, '--snapshot', 'abc'], {}, /expected a snapshot id/],
      [['compact', table, '--orphans', 'sometimes'], {}, /Allowed choices are auto, always, never/],
      [['tables', 'history', table, '--limit', '0'], {}, /expected a whole number ≥ 1/],
      [['tables', 'list'], { DUCKHOUSE_CATALOG: 'rest' }, /DUCKHOUSE_CATALOG="rest" \(option --catalog\) is invalid/],
      [['--config', 'nope.yaml', 'tables', 'list'], {}, /config file .*nope\.yaml does not exist/],
      [['compact'], {}, /name the tables to compact/],
    ];
    for (const [args, env, expected] of cases) {
      const run = await duckhouse(args, env);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, expected, args.join(' '));
    }
    await writeFile(path.join(dir, 'bad.yaml'), 'tables:\n  flush-rows: 3\n');
    const badFile = await duckhouse(['--config', 'bad.yaml', 'tables', 'list']);
    assert.equal(badFile.code, 2);
    assert.match(badFile.stderr, /unknown setting "tables\.flush-rows": `duckhouse tables` has no option --flush-rows/);
    // The environment beats the file: a catalog name that does not exist lists nothing.
    const envWins = await duckhouse(['tables', 'list', '--json'], { DUCKHOUSE_CATALOG_NAME: uniqueName('empty').replace('-', '_') });
    assert.equal(envWins.code, 0, envWins.stderr);
    assert.deepEqual(JSON.parse(envWins.stdout), []);
  });
});
