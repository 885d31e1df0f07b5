import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { endpoints, uniqueName } from './helpers.js';

test('Postgres: wal_level is logical, a logical replication slot is created and a change is read from it', async (t) => {
  const { postgres } = endpoints();
  const client = new pg.Client({ ...postgres });
  await client.connect();
  const table = uniqueName('smoke_cdc').replace('-', '_');
  const slot = `${table}_slot`;
  t.after(async () => {
    await client.query('select pg_drop_replication_slot($1) from pg_replication_slots where slot_name = $1', [slot]);
    await client.query(`drop table if exists "${table}"`);
    await client.end();
  });

  assert.equal((await client.query('show wal_level')).rows[0].wal_level, 'logical');
  await client.query(`create table "${table}" (id int primary key, name text)`);
  await client.query("select pg_create_logical_replication_slot($1, 'test_decoding')", [slot]);
  await client.query(`insert into "${table}" values (1, 'duck')`);
  await client.query(`update "${table}" set name = 'goose' where id = 1`);

  const changes = await client.query<{ data: string }>('select data from pg_logical_slot_get_changes($1, null, null)', [slot]);
  const data = changes.rows.map((r) => r.data);
  assert.ok(data.some((d) => d.includes(`table public.${table}: INSERT: id[integer]:1 name[text]:'duck'`)), data.join('\n'));
  assert.ok(data.some((d) => d.includes(`table public.${table}: UPDATE: id[integer]:1 name[text]:'goose'`)), data.join('\n'));
  // Consumed changes are gone from the slot.
  assert.equal((await client.query('select data from pg_logical_slot_get_changes($1, null, null)', [slot])).rowCount, 0);
});
