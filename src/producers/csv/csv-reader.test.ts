import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readCsv, recordBytes } from './csv-reader.js';

async function read(content: string | Buffer, options: Parameters<typeof readCsv>[1] = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-csv-reader-'));
  const file = path.join(dir, 'in.csv');
  await writeFile(file, content);
  const records: { line: number; endLine: number; fields: string[]; raw: string }[] = [];
  const rejects: { line: number; reason: string; raw: string }[] = [];
  for await (const chunk of readCsv(file, options)) {
    for (const r of chunk.records) records.push({ line: r.line, endLine: r.endLine, fields: r.fields, raw: recordBytes(file, r).toString() });
    for (const r of chunk.rejects) rejects.push({ line: r.line, reason: r.reason, raw: r.raw.toString('latin1') });
  }
  return { records, rejects };
}

for (const chunkBytes of [3, 64 * 1024]) {
  test(`line numbers follow the file: blank lines, CRLF, BOM, line breaks inside quotes (chunks of ${chunkBytes} bytes)`, async () => {
    const { records, rejects } = await read('\uFEFFa,b\r\n1,"x\r\ny"\r\n\r\n\r\n2,z\r\n3,"""q"""', { chunkBytes });
    assert.deepEqual(rejects, []);
    assert.deepEqual(records.map((r) => [r.line, r.endLine, r.fields]), [
      [1, 1, ['a', 'b']],
      [2, 3, ['1', 'x\r\ny']],
      [6, 6, ['2', 'z']],
      [7, 7, ['3', '"q"']],
    ]);
    assert.equal(records[1]!.raw, '1,"x\r\ny"');
  });

  test(`after bad quoting, reading resumes at the next line and loses no good record (chunks of ${chunkBytes} bytes)`, async () => {
    const input = ['h1,h2', '1,"ok"', '2,"bad"x', '3,fine', '4,in"side', '5,"open', '6,after', '7,"multi', 'line"', '8,"never closed'].join('\n');
    const { records, rejects } = await read(`${input}\n`, { chunkBytes });
    assert.deepEqual(records.map((r) => r.fields[0]), ['h1', '1', '3', '6', '7']);
    assert.deepEqual(rejects.map((r) => [r.line, r.raw]), [[3, '2,"bad"x'], [5, '4,in"side'], [6, '5,"open'], [10, '8,"never closed']]);
    assert.match(rejects[0]!.reason, /must be followed by a delimiter/);
    assert.match(rejects[1]!.reason, /quote inside an unquoted field/);
    assert.match(rejects[3]!.reason, /never closed/);
    assert.deepEqual(records.find((r) => r.fields[0] === '7')!.fields, ['7', 'multi\nline']);
  });
}

test('invalid UTF-8 rejects exactly its line, also when a multi-byte character straddles chunks', async () => {
  const content = Buffer.concat([Buffer.from('a,b\n1,é\n2,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n3,ü\n4,'), Buffer.from([0xff]), Buffer.from('\n5,€\n')]);
  for (const chunkBytes of [1, 2, 5, 1024]) {
    const { records, rejects } = await read(content, { chunkBytes });
    assert.deepEqual(records.map((r) => r.fields), [['a', 'b'], ['1', 'é'], ['3', 'ü'], ['5', '€']], `chunks of ${chunkBytes}`);
    assert.deepEqual(rejects.map((r) => r.line), [3, 5], `chunks of ${chunkBytes}`);
    assert.match(rejects[0]!.reason, /invalid UTF-8/);
  }
});

test('a runaway quote stops at the record size limit and costs only its own line', async () => {
  const long = 'x'.repeat(3000);
  const { records, rejects } = await read(`a,b\n1,"${long}\n2,${long}\n3,${long}\n4,end\n`, { maxRecordBytes: 4096 });
  assert.deepEqual(rejects.map((r) => r.line), [2]);
  assert.match(rejects[0]!.reason, /maximum record size/);
  assert.deepEqual(records.map((r) => r.fields[0]), ['a', '2', '3', '4']);
});

test('other delimiters', async () => {
  const { records } = await read('a;b\n1;"x;y"\n', { delimiter: ';' });
  assert.deepEqual(records.map((r) => r.fields), [['a', 'b'], ['1', 'x;y']]);
});
