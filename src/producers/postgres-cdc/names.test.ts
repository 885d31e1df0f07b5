import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckHouseError } from '../../shared/errors.js';
import { formatLsn, parseLsn } from './lsn.js';
import { checkSlotName, defaultReplicationNames, parseTableList, quoteIdent, quoteTable } from './names.js';

test('LSN text ⇄ bigint', () => {
  assert.equal(parseLsn('16/B374D848'), 0x16b374d848n);
  assert.equal(parseLsn('0/0'), 0n);
  assert.equal(formatLsn(0x16b374d848n), '16/B374D848');
  assert.equal(formatLsn(parseLsn('FFFFFFFF/FFFFFFFF')), 'FFFFFFFF/FFFFFFFF');
  assert.throws(() => parseLsn('16-B3'), /expected an LSN/);
});

test('table lists, slot and publication names are validated; identifiers are quoted', () => {
  assert.deepEqual(parseTableList('public.a, sales.Orders,b'), [
    { schema: 'public', table: 'a' },
    { schema: 'sales', table: 'Orders' },
    { schema: 'public', table: 'b' },
  ]);
  for (const bad of ['', 'a.b.c', 'public."x"', 'x;drop', 'public.a,public.a']) assert.throws(() => parseTableList(bad), DuckHouseError, bad);
  assert.deepEqual(defaultReplicationNames('My-Name'), { slot: 'duckhouse_my_name', publication: 'duckhouse_my_name' });
  assert.throws(() => defaultReplicationNames('a b'), /--name/);
  assert.throws(() => checkSlotName('Upper', '--slot'), /--slot: expected 1-63 lower-case/);
  assert.equal(checkSlotName('ok_1', '--slot'), 'ok_1');
  assert.equal(quoteIdent('we"ird'), '"we""ird"');
  assert.equal(quoteTable({ schema: 'public', table: 'Orders' }), '"public"."Orders"');
});
