// The demo's CDC-fed table: a `customers` table in the stack's Postgres, captured by the CDC producer (initial
// snapshot, then a streamed update and insert) into Kafka. The sink maps its topic to the Iceberg table
// demo.customers, the dbt project's second source.
// Its replication slot and publication are dropped afterwards (an idle slot keeps WAL forever).
// Must never: touch any Postgres schema but the demo's own, or print the source password.
import pg from 'pg';
import type { CdcStats } from '../producers/postgres-cdc/cdc.js';
import { startCdc } from '../producers/postgres-cdc/cdc.js';
import { defaultReplicationNames } from '../producers/postgres-cdc/names.js';
import { quoteIdent } from '../shared/duckdb.js';
import { DuckHouseError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { StackEndpoints } from '../stack/config.js';

export const DEMO_CUSTOMERS: readonly [string, string, string, string][] = [
  ['alice', 'Alice Liddell', 'GB', 'gold'],
  ['bob', 'Bob Marley', 'JM', 'standard'],
  ['carol', 'Carol Danvers', 'US', 'standard'],
  ['dave', 'Dave Brubeck', 'US', 'gold'],
  ['erin', 'Erin Brockovich', 'US', 'standard'],
  ['frank', 'Frank Zappa', 'US', 'standard'],
  ['heidi', 'Heidi Klum', 'DE', 'gold'],
  ['grace', 'Grace Hopper', 'US', 'platinum'],
];

export interface DemoCustomersOptions {
  endpoints: StackEndpoints;
  /** Postgres schema of the demo table (recreated on each run). */
  schema: string;
  topicPrefix: string;
  logger: Logger;
  report: (line: string) => void;
}

/** Creates the table, captures it (snapshot + streamed changes) and returns the CDC topic and stats. */
export async function produceDemoCustomers(options: DemoCustomersOptions): Promise<{ topic: string; stats: CdcStats }> {
  const { postgres, kafka, schemaRegistry } = options.endpoints;
  const table = `${quoteIdent(options.schema)}.customers`;
  const client = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, database: postgres.database });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(options.schema)}`);
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.query(`CREATE TABLE ${table} (customer text PRIMARY KEY, full_name text NOT NULL, country text NOT NULL, tier text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
    for (const row of DEMO_CUSTOMERS.slice(0, -1)) await client.query(`INSERT INTO ${table} (customer, full_name, country, tier) VALUES ($1, $2, $3, $4)`, row);
    const name = `demo_${options.topicPrefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`.slice(0, 40);
    const { slot, publication } = defaultReplicationNames(name);
    const source = `postgres://${encodeURIComponent(postgres.user)}:${encodeURIComponent(postgres.password)}@${postgres.host}:${postgres.port}/${postgres.database}`;
    const cdc = await startCdc({
      source, tables: [`${options.schema}.customers`], name, topicPrefix: options.topicPrefix, resnapshot: true,
      brokers: kafka.brokers, registryUrl: schemaRegistry.url, logger: options.logger, progressIntervalMs: 0,
    });
    try {
      // While streaming: alice moves up a tier, and a new customer signs up.
      await client.query(`UPDATE ${table} SET tier = 'platinum', updated_at = now() WHERE customer = 'alice'`);
      const last = DEMO_CUSTOMERS.at(-1)!;
      await client.query(`INSERT INTO ${table} (customer, full_name, country, tier) VALUES ($1, $2, $3, $4)`, last);
      const expected = DEMO_CUSTOMERS.length + 1;
      const changes = (s: CdcStats): number => Object.values(s.tables).reduce((n, t) => n + t.snapshot + t.inserts + t.updates + t.deletes, 0);
      const done = (s: CdcStats): boolean => changes(s) >= expected && s.kafka.acked >= s.kafka.sent;
      for (const deadline = Date.now() + 60_000; !done(cdc.stats()); await new Promise((r) => setTimeout(r, 100))) {
        if (Date.now() > deadline) throw new DuckHouseError('internal', `demo: the CDC producer sent ${changes(cdc.stats())} of ${expected} changes of ${options.schema}.customers within 60 s`);
      }
    } catch (error) {
      await cdc.stop().catch(() => undefined);
      throw error;
    }
    const stats = await cdc.stop();
    // The demo captures once: an idle slot would keep WAL forever.
    await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(publication)}`);
    const topic = Object.values(stats.tables)[0]?.topic;
    if (!topic) throw new DuckHouseError('internal', 'demo: the CDC producer reported no topic');
    const counts = Object.values(stats.tables)[0];
    options.report(`cdc: ${(counts?.snapshot ?? 0) + (counts?.inserts ?? 0) + (counts?.updates ?? 0)} changes of ${options.schema}.customers (snapshot of ${DEMO_CUSTOMERS.length - 1} rows, then an update and an insert streamed from the WAL) → ${topic}`);
    return { topic, stats };
  } finally {
    await client.end();
  }
}
