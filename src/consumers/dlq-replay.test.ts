import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Catalog, Table, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { EmbeddedCatalog } from '../catalog/catalogs/embedded-catalog.js';
import { LocalFileIO } from '../catalog/io/local-file-io.js';
import { planFiles } from '../catalog/read/plan-files.js';
import { scanRows } from '../catalog/read/scan-table.js';
import { currentSchema } from '../catalog/spec/table-metadata.js';
import { commitAction } from '../catalog/transaction/action.js';
import { fastAppend } from '../catalog/transaction/fast-append.js';
import { rewriteFiles } from '../catalog/transaction/rewrite-files.js';
import { closeWriterDuckDB } from '../catalog/writer/parquet-file.js';
import { TableWriter } from '../catalog/writer/table-writer.js';
import type { DeadLetter } from '../producers/dead-letter.js';
import { deadLetter } from '../producers/dead-letter.js';
import { RowBatchBuilder } from '../schemas/row-batch.js';
import { DEAD_LETTER_SCHEMA, deadLetterRow } from './dead-letters.js';
import type { StoredLetter } from './dlq-replay.js';
import { planReplay, readDeadLetters, removeDeadLetters, REPLAYED_LETTERS_PROPERTY } from './dlq-replay.js';
import { encodeOffsets, KAFKA_OFFSETS_PROPERTY, tableProgress } from './offsets.js';

const dirs: string[] = [];
after(async () => {
  await closeWriterDuckDB();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

let clock = Date.parse('2024-05-01T00:00:00Z');
function letter(fields: Partial<DeadLetter> & { raw?: string }): DeadLetter {
  const { raw, ...rest } = fields;
  clock += 1000;
  return deadLetter({ kind: 'decode', message: 'bad', table: 'shop.t', topic: 't', partition: 0, raw: raw ?? 'x', ...rest }, new Date(clock));
}

const stored = (l: DeadLetter, pos = 0): StoredLetter => ({ letter: l, timeMicros: BigInt(Date.parse(l.time)) * 1000n, file: 'f', pos: BigInt(pos) });

describe('planReplay', () => {
  it('sends sink letters per topic-partition in offset order, skipping what cannot be sent', () => {
    const letters = [
      letter({ offset: '9', raw: 'a9' }),
      letter({ offset: '3', raw: 'a3' }),
      letter({ topic: 'u', partition: 7, offset: '1' }), // u has 2 partitions now: the partitioner picks
      letter({ kind: 'csv-value', topic: null, partition: null, offset: null, file: 'x.csv', line: 3 }),
      letter({ topic: null, partition: null }),
      letter({ topic: 'gone', offset: '1' }),
      letter({ partition: 1, offset: '5' }),
      letter({ offset: '3', raw: 'a3' }), // the same record twice in the table
      letter({ partition: null, offset: null, raw: 'hand-made' }),
    ].map((l, i) => stored(l, i));
    const plan = planReplay(letters, new Map([['t', 2], ['u', 2]]));
    assert.deepEqual(plan.batches.map((b) => [b.topic, b.partition, b.letters.map((l) => l.letter.offset)]), [
      ['t', 0, ['3', '9']],
      ['t', 1, ['5']],
      ['t', undefined, [null]],
      ['u', undefined, ['1']],
    ]);
    assert.deepEqual(Object.fromEntries(plan.skipped), { 'not-from-sink': 1, 'no-topic': 1, 'topic-missing': 1 });
    assert.equal(plan.duplicates, 1);
    assert.equal(plan.deferred, 0);
    assert.deepEqual(plan.rows.map((r) => Number(r.pos)).sort((a, b) => a - b), [0, 1, 2, 6, 7, 8]);
  });

  it('takes the oldest letters up to the limit; duplicates of those are removed too', () => {
    const letters = [letter({ offset: '1' }), letter({ offset: '2' }), letter({ offset: '1' }), letter({ offset: '3' })].map((l, i) => stored(l, i));
    const plan = planReplay(letters, new Map([['t', 1]]), 2);
    assert.deepEqual(plan.batches.map((b) => b.letters.map((l) => l.letter.offset)), [['1', '2']]);
    assert.equal(plan.deferred, 1);
    assert.equal(plan.duplicates, 1);
    assert.deepEqual(plan.rows.map((r) => Number(r.pos)), [0, 1, 2]);
  });
});

describe('readDeadLetters and removeDeadLetters', () => {
  const id: TableIdentifier = { namespace: ['dlq'], name: 'dead_letters' };
  const offsets = encodeOffsets(new Map([['t:0', 100n]]));

  async function dlqTable(letters: readonly DeadLetter[]): Promise<{ catalog: Catalog; table: Table }> {
    const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-dlq-'));
    dirs.push(dir);
    const catalog = new EmbeddedCatalog({ warehouse: `file://${dir}`, io: new LocalFileIO() });
    await catalog.createNamespace(id.namespace);
    let table = await catalog.createTable(id, { schema: DEAD_LETTER_SCHEMA });
    const builder = new RowBatchBuilder(currentSchema(table.metadata));
    for (const l of letters) builder.append(deadLetterRow(l));
    const writer = new TableWriter(table);
    await writer.write(builder.build());
    ({ table } = await commitAction(catalog, id, fastAppend(await writer.close(), { summary: { [KAFKA_OFFSETS_PROPERTY]: offsets } })));
    return { catalog, table };
  }

  it('reads letters with their row positions, filtered, and removes the chosen ones in one commit', async () => {
    const letters = [letter({ offset: '1' }), letter({ kind: 'schema', offset: '2' }), letter({ topic: 'u', offset: '3', table: 'shop.u' }), letter({ offset: '4', key_base64: 'a2V5' })];
    const { catalog, table } = await dlqTable(letters);
    const all = await readDeadLetters(table);
    assert.deepEqual(all.map((l) => l.letter), letters);
    assert.deepEqual(all.map((l) => l.pos), [0n, 1n, 2n, 3n]);
    assert.deepEqual((await readDeadLetters(table, { kind: 'schema' })).map((l) => l.letter.offset), ['2']);
    assert.deepEqual((await readDeadLetters(table, { topic: 'u' })).map((l) => l.letter.offset), ['3']);
    assert.deepEqual((await readDeadLetters(table, { table: 'shop.t', since: new Date(letters[1]!.time) })).map((l) => l.letter.offset), ['2', '4']);

    const { removed, snapshotId } = await removeDeadLetters(catalog, id, table, [all[0]!, all[3]!]);
    assert.equal(removed, 2);
    const latest = await catalog.loadTable(id);
    assert.equal(latest.metadata.currentSnapshotId, snapshotId);
    assert.equal(latest.metadata.snapshots.length, 2, 'one commit');
    const summary = latest.metadata.snapshots.at(-1)!.summary;
    assert.equal(summary[REPLAYED_LETTERS_PROPERTY], '2');
    assert.equal(summary['added-position-deletes'], '2');
    assert.equal(tableProgress(latest.metadata).offsets.get('t:0'), 100n, 'the letters recorded stay recorded');
    assert.deepEqual((await readDeadLetters(latest)).map((l) => l.letter.offset), ['2', '3']);
  });

  it('finds the letters again when their data file was rewritten meanwhile', async () => {
    const letters = [letter({ offset: '1' }), letter({ offset: '2' }), letter({ offset: '3' })];
    const { catalog, table } = await dlqTable(letters);
    const read = await readDeadLetters(table);
    // A compaction: the same rows, in another order, in a new file.
    const rows: Record<string, unknown>[] = [];
    for await (const chunk of scanRows(table)) rows.push(...chunk);
    const builder = new RowBatchBuilder(currentSchema(table.metadata));
    for (const row of rows.reverse()) builder.append(row);
    const writer = new TableWriter(table);
    await writer.write(builder.build());
    const old = (await planFiles(table)).map((t) => t.file);
    await commitAction(catalog, id, rewriteFiles({ removed: old, added: await writer.close(), startingSnapshotId: table.metadata.currentSnapshotId }));

    const { removed } = await removeDeadLetters(catalog, id, table, [read[0]!]);
    assert.equal(removed, 1);
    assert.deepEqual((await readDeadLetters(await catalog.loadTable(id))).map((l) => l.letter.offset), ['2', '3']);
  });
});
