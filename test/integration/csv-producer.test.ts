// The CSV producer against real Kafka and the registry: typed round trip, the bad-CSV corpus (every bad row on the
// dead-letter topic with its line and reason, no good row lost), idempotency per file, resume, schema versions.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { produceCsv, type CsvProduceOptions } from '../../src/producers/csv/csv-producer.js';
import { FileLedger, ledgerKey, ledgerTopic } from '../../src/producers/csv/file-ledger.js';
import { prepareCsvInput } from '../../src/producers/csv/row-encoder.js';
import type { DeadLetter } from '../../src/producers/dead-letter.js';
import { createKafka, createProducer, dlqTopic } from '../../src/producers/kafka/client.js';
import { readAll } from '../../src/producers/kafka/read-to-end.js';
import type { ChangeEvent } from '../../src/schemas/envelope.js';
import { createRegistry, latestAvro, SchemaCache, type SchemaRegistry, valueSubject } from '../../src/schemas/registry.js';
import { endpoints, uniqueName } from './helpers.js';

let kafka: Kafka;
let registry: SchemaRegistry;
let dir: string;

before(async () => {
  kafka = createKafka({ brokers: endpoints().kafka.brokers, quiet: true });
  registry = createRegistry({ url: endpoints().schemaRegistry.url });
  dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-csv-'));
});

async function produce(file: string, options: Omit<CsvProduceOptions, 'input' | 'namespace'> & { prefix: string }) {
  const { prefix, ...rest } = options;
  return produceCsv(kafka, registry, { input: await prepareCsvInput(file), namespace: 'csvtest', topicPrefix: prefix, partitions: 2, ...rest });
}

/** avsc decodes records as class instances: plain objects compare with deepStrictEqual. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

async function readEvents(topic: string): Promise<{ key: unknown; event: ChangeEvent; partition: number }[]> {
  const cache = new SchemaCache(registry);
  const out = [];
  for (const { partition, message } of await readAll(kafka, topic)) {
    const key = message.key ? plain((await cache.decode(message.key, 'key')).value) : null;
    out.push({ key, event: plain((await cache.decode(message.value!, 'value')).value) as ChangeEvent, partition });
  }
  return out.sort((a, b) => Number(a.event.source.line! - b.event.source.line!));
}

async function readDeadLetters(prefix: string): Promise<DeadLetter[]> {
  return (await readAll(kafka, dlqTopic(prefix))).map(({ message }) => JSON.parse(message.value!.toString()) as DeadLetter).sort((a, b) => a.line! - b.line!);
}

describe('CSV producer', () => {
  test('round trip: what is read back from the topic equals the file, typed', async () => {
    const prefix = uniqueName('csvrt');
    const file = path.join(dir, 'typed.csv');
    // A BOM, CRLF line ends, quoted delimiters, doubled quotes, a line break inside a field, unicode and nulls.
    const rows = [
      'id,name,amount,qty,seen_at,day,active,ratio',
      '1,"Smith, Jane",12.50,3,2024-01-02T03:04:05.123456Z,2024-01-02,true,0.25',
      '2,"She said ""hi""",-0.10,,2024-02-29T23:59:59+01:00,2024-02-29,false,1e-3',
      '3,"two\r\nlines",1000000.00,7,1970-01-01T00:00:00Z,1969-12-31,true,',
      '4,Zoë 🦆,0.00,-5,2038-01-19T03:14:08Z,,,NaN',
    ];
    await writeFile(file, `\uFEFF${rows.join('\r\n')}\r\n`);
    const result = await produce(file, { prefix, table: 'typed', keyColumns: ['id'] });
    assert.equal(result.status, 'completed');
    assert.deepEqual([result.rows, result.sent, result.rejected], [4, 4, 0]);
    assert.deepEqual(
      result.columns.map((c) => `${c.name}:${c.type}`),
      ['id:int', 'name:string', 'amount:decimal(9, 2)', 'qty:int', 'seen_at:timestamptz', 'day:date', 'active:boolean', 'ratio:double'],
    );
    const events = await readEvents(result.topic);
    assert.deepEqual(events.map((e) => e.event.source.line), [2n, 3n, 4n, 6n], 'the third row spans lines 4-5');
    const after = events.map((e) => e.event.after);
    assert.deepEqual(after[0], { id: 1, name: 'Smith, Jane', amount: 1250n, qty: 3, seen_at: 1704164645123456n, day: 19724, active: true, ratio: 0.25 });
    assert.deepEqual(after[1], { id: 2, name: 'She said "hi"', amount: -10n, qty: null, seen_at: 1709247599000000n, day: 19782, active: false, ratio: 0.001 });
    assert.deepEqual(after[2], { id: 3, name: 'two\r\nlines', amount: 100000000n, qty: 7, seen_at: 0n, day: -1, active: true, ratio: null });
    assert.equal(after[3]!.name, 'Zoë 🦆');
    assert.ok(Number.isNaN(after[3]!.ratio));
    assert.deepEqual(events.map((e) => e.key), [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]);
    for (const { event } of events) {
      assert.equal(event.op, 'c');
      assert.equal(event.source.connector, 'csv');
      assert.equal(event.source.file_sha256, result.sha256);
      assert.deepEqual([event.source.schema, event.source.table], ['csvtest', 'typed']);
    }
  });

  test('the bad-CSV corpus: each bad row is rejected with its line and reason, and no good row is lost', async () => {
    const prefix = uniqueName('csvbad');
    const header = 'id,name,amount,qty,big,ok,day,at,local,t,uid,ratio,blob,op';
    const good = (id: number): string => `${id},good ${id},1.50,1,10,true,2024-01-01,2024-01-01T00:00:00Z,2024-01-01 00:00:00,12:00:00,0d9c1a2e-5e4f-4a5b-8c7d-6e5f4a3b2c1d,0.5,aGVsbG8=,`;
    const withField = (id: number, index: number, value: string): string => {
      const fields = good(id).split(',');
      fields[index] = value;
      return fields.join(',');
    };
    // Each case: the bad line(s) and a pattern its reason must match. A good row follows every case.
    const cases: { kind: string; text: string | Buffer; reason: RegExp }[] = [
      { kind: 'csv-column-count', text: '100,too,few', reason: /expected 14 columns .* found 3/ },
      { kind: 'csv-column-count', text: `${good(101)},extra`, reason: /expected 14 columns .* found 15/ },
      { kind: 'csv-value', text: withField(102, 3, '12a'), reason: /column "qty" \(int\): "12a" is not an integer/ },
      { kind: 'csv-value', text: withField(103, 4, '99999999999999999999'), reason: /does not fit long/ },
      { kind: 'csv-value', text: withField(104, 2, '1.234'), reason: /has 3 decimal places, decimal\(10, 2\) allows 2/ },
      { kind: 'csv-value', text: withField(105, 2, '123456789.00'), reason: /more than 8 digits before the point/ },
      { kind: 'csv-value', text: withField(106, 5, 'maybe'), reason: /"maybe" is not a boolean/ },
      { kind: 'csv-value', text: withField(107, 6, '2024-02-30'), reason: /is not a date/ },
      { kind: 'csv-value', text: withField(108, 7, 'yesterday'), reason: /"yesterday" is not a timestamp/ },
      { kind: 'csv-value', text: withField(109, 7, '2024-01-01 00:00:00'), reason: /has no time zone/ },
      { kind: 'csv-value', text: withField(110, 8, '2024-01-01T00:00:00+02:00'), reason: /has a time zone, but the column is a timestamp without zone/ },
      { kind: 'csv-value', text: withField(111, 9, '25:00:00'), reason: /not a valid time of day/ },
      { kind: 'csv-value', text: withField(112, 10, 'not-a-uuid'), reason: /is not a UUID/ },
      { kind: 'csv-value', text: withField(113, 11, '1.2.3'), reason: /is not a number/ },
      { kind: 'csv-value', text: withField(114, 12, '!!!'), reason: /is not base64/ },
      { kind: 'csv-value', text: withField(115, 7, '2024-01-01T00:00:00.1234567Z'), reason: /sub-microsecond/ },
      { kind: 'csv-key-missing', text: withField(0, 0, ''), reason: /key column "id" is empty/ },
      { kind: 'csv-op', text: withField(117, 13, 'x'), reason: /op column "op": expected d\/delete/ },
      { kind: 'csv-malformed', text: withField(118, 1, '"quoted"name'), reason: /bad quoting: a quoted field must be followed by a delimiter/ },
      { kind: 'csv-malformed', text: withField(119, 1, 'na"me'), reason: /bad quoting: a quote inside an unquoted field/ },
      { kind: 'csv-encoding', text: Buffer.concat([Buffer.from('120,'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from(good(120).slice(good(120).indexOf(',', 4)))]), reason: /invalid UTF-8/ },
      { kind: 'csv-malformed', text: withField(121, 1, '"never closed'), reason: /bad quoting: a quoted field is never closed/ },
    ];
    const parts: Buffer[] = [Buffer.from(`${header}\n`)];
    const expectedRejects: { line: number; kind: string; reason: RegExp }[] = [];
    const goodIds: number[] = [];
    let line = 1;
    for (const [i, c] of cases.entries()) {
      parts.push(Buffer.isBuffer(c.text) ? c.text : Buffer.from(c.text), Buffer.from('\n'));
      expectedRejects.push({ line: ++line, kind: c.kind, reason: c.reason });
      // The unclosed quote is last: it swallows everything to the end of the file, so nothing follows it.
      if (i === cases.length - 1) break;
      parts.push(Buffer.from(`${good(i + 1)}\n`));
      goodIds.push(i + 1);
      line++;
    }
    // A good multi-line row and a good delete before the last case.
    parts.splice(parts.length - 2, 0, Buffer.from(`200,"multi\nline",2.00,2,20,false,2024-01-02,2024-01-02T00:00:00Z,2024-01-02 00:00:00,13:00:00,0d9c1a2e-5e4f-4a5b-8c7d-6e5f4a3b2c1d,1,,\n${withField(201, 13, 'd')}\n`));
    expectedRejects.at(-1)!.line += 3;
    const file = path.join(dir, 'bad.csv');
    await writeFile(file, Buffer.concat(parts));
    const schemaFile = path.join(dir, 'bad.schema.json');
    await writeFile(schemaFile, JSON.stringify({
      columns: [
        { name: 'id', type: 'long', required: true }, { name: 'name', type: 'string' }, { name: 'amount', type: 'decimal(10,2)' },
        { name: 'qty', type: 'int' }, { name: 'big', type: 'long' }, { name: 'ok', type: 'boolean' }, { name: 'day', type: 'date' },
        { name: 'at', type: 'timestamptz' }, { name: 'local', type: 'timestamp' }, { name: 't', type: 'time' }, { name: 'uid', type: 'uuid' },
        { name: 'ratio', type: 'double' }, { name: 'blob', type: 'binary' },
      ],
    }));
    const result = await produce(file, { prefix, table: 'bad', keyColumns: ['id'], schemaFile, opColumn: 'op' });
    assert.equal(result.rejected, cases.length);
    assert.equal(result.sent, goodIds.length + 2);
    assert.equal(result.deletes, 1);

    const letters = await readDeadLetters(prefix);
    assert.equal(letters.length, cases.length, `dead letters: ${letters.map((l) => l.message).join('\n')}`);
    for (const [i, expected] of expectedRejects.entries()) {
      const letter = letters[i]!;
      assert.equal(letter.line, expected.line, `case ${i} (${expected.kind}): ${letter.message}`);
      assert.equal(letter.kind, expected.kind, letter.message);
      assert.match(letter.message, expected.reason);
      assert.match(letter.message, new RegExp(`^bad\\.csv:${expected.line}: `));
      assert.equal(letter.file_sha256, result.sha256);
      assert.equal(letter.table, 'csvtest.bad');
      assert.ok(Buffer.from(letter.raw_base64, 'base64').length > 0, 'the raw line is kept');
    }
    const events = await readEvents(result.topic);
    assert.deepEqual(events.filter((e) => e.event.op === 'c').map((e) => Number((e.event.after as { id: bigint }).id)), [...goodIds, 200]);
    assert.equal((events.find((e) => Number((e.event.after as { id: bigint } | null)?.id) === 200)?.event.after as { name: string }).name, 'multi\nline');
    const deletes = events.filter((e) => e.event.op === 'd');
    assert.deepEqual(deletes.map((e) => [e.key, e.event.after]), [[{ id: 201n }, null]]);
  });

  test('idempotent per file: a completed file is not sent again; an interrupted one resumes after its last acked line', async () => {
    const prefix = uniqueName('csvidem');
    const file = path.join(dir, 'idem.csv');
    await writeFile(file, `id,v\n${Array.from({ length: 50 }, (_, i) => `${i + 1},${i * 2}`).join('\n')}\n`);
    const first = await produce(file, { prefix, table: 'idem', keyColumns: ['id'] });
    assert.deepEqual([first.status, first.sent], ['completed', 50]);
    const again = await produce(file, { prefix, table: 'idem', keyColumns: ['id'] });
    assert.equal(again.status, 'already-completed');
    assert.equal(again.previous?.sent, 50);
    assert.equal((await readAll(kafka, first.topic)).length, 50, 'nothing was sent the second time');

    // Simulate a run interrupted after line 21 was acknowledged (the ledger's checkpoint), on another table.
    const input = await prepareCsvInput(file);
    const producer = createProducer(kafka);
    await producer.connect();
    const ledger = new FileLedger(kafka, producer, ledgerTopic(prefix));
    const now = new Date().toISOString();
    await ledger.record(ledgerKey('csvtest.resumed', input.sha256), { status: 'started', table: 'csvtest.resumed', file: 'idem.csv', sha256: input.sha256, bytes: input.bytes, ackedLine: 21, sent: 20, rejected: 0, startedAt: now, updatedAt: now });
    await producer.disconnect();
    const resumed = await produce(file, { prefix, table: 'resumed', keyColumns: ['id'] });
    assert.deepEqual([resumed.status, resumed.resumedAfterLine, resumed.sent], ['completed', 21, 30]);
    const events = await readEvents(resumed.topic);
    assert.deepEqual(events.map((e) => Number(e.event.source.line)), Array.from({ length: 30 }, (_, i) => i + 22));

    const forced = await produce(file, { prefix, table: 'idem', keyColumns: ['id'], force: true });
    assert.deepEqual([forced.status, forced.sent], ['completed', 50]);
  });

  test('a second file with a new column registers a new schema version; existing columns keep their types and field ids', async () => {
    const prefix = uniqueName('csvevo');
    const v1 = path.join(dir, 'v1.csv');
    const v2 = path.join(dir, 'v2.csv');
    await writeFile(v1, 'id,amount\n1,10\n2,20\n');
    await writeFile(v2, 'id,note,amount\n3,hello,3000000000\n');
    const first = await produce(v1, { prefix, table: 'evo', keyColumns: ['id'] });
    const before = (await latestAvro(registry, valueSubject(first.topic)))!;
    const second = await produce(v2, { prefix, table: 'evo', keyColumns: ['id'] });
    const afterVersion = (await latestAvro(registry, valueSubject(second.topic)))!;
    assert.ok(afterVersion.version > before.version, 'a new version was registered');
    const row = (schema: Record<string, unknown>): { name: string; 'field-id': number }[] =>
      ((schema.fields as { name: string; type: unknown[] }[])[0]!.type[1] as { fields: { name: string; 'field-id': number }[] }).fields;
    const ids = (schema: Record<string, unknown>): Record<string, number> => Object.fromEntries(row(schema).map((f) => [f.name, f['field-id']]));
    assert.deepEqual(ids(before.schema), { id: 1, amount: 2 });
    assert.deepEqual(ids(afterVersion.schema), { id: 1, amount: 2, note: 3 });
    // `amount` was registered as int from the first file: the 3,000,000,000 does not fit and is rejected, not widened silently.
    assert.equal(second.rejected, 1);
    assert.match(second.columns.find((c) => c.name === 'amount')!.origin, /registered/);
  });
});

after(async () => {
  // Topics and subjects are uniquely named per test; nothing to clean in the shared services.
});
