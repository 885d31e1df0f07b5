// `duckhouse demo`: the whole pipeline on the running stack — CSV and Postgres CDC producers → Kafka → sink → Iceberg
// (SQL catalog in Postgres, Parquet on MinIO) → workers (DuckDB views, compaction, dbt marts) — read back by DuckHouse
// and PyIceberg, and prints the table and the marts.
import path from 'node:path';
import { Command } from 'commander';
import { PROJECT_ROOT, readEndpoints } from '../stack/config.js';
import type { CatalogFlags } from './catalog-options.js';
import { addCatalogOptions, openCatalog } from './catalog-options.js';
import { defaultDuckDBFile } from './worker-command.js';

export function demoCommand(): Command {
  const command = new Command('demo')
    .description('CSV + Postgres CDC → Avro (schema registry) → Kafka → sink (upserts, deletes, exactly once) → Iceberg on MinIO → workers: DuckDB views and dbt marts; DuckHouse and PyIceberg read the same rows')
    .option('--csv <file>', 'the CSV file to send (an "op" column of d deletes a row)', path.join(PROJECT_ROOT, 'scripts', 'demo-data', 'orders.csv'))
    .option('--prefix <prefix>', 'topic prefix', 'duckhouse');
  return addCatalogOptions(command).action(async (options: CatalogFlags & { csv: string; prefix: string }) => {
    const report = (line: string): void => void process.stdout.write(`demo  ${line}\n`);
    // Loaded on use: the demo pulls in DuckDB's native library, which other commands should not carry in memory.
    const { runDemo } = await import('../demo/pipeline-demo.js');
    const stack = readEndpoints();
    const catalog = openCatalog(options, stack);
    try {
      const result = await runDemo(stack, { csvFile: path.resolve(options.csv), databaseFile: defaultDuckDBFile(), dbtProject: path.join(PROJECT_ROOT, 'dbt'), catalog, catalogName: options.catalogName, prefix: options.prefix, report });
      report(`demo.orders is at snapshot ${result.snapshotId} (${result.metadataLocation}); Kafka offsets recorded in it: ${result.offsets}`);
      console.table(result.rows);
      report(`dbt marts in ${defaultDuckDBFile()} (analytics.customer_revenue, analytics.daily_orders):`);
      console.table(result.marts.customerRevenue);
      console.table(result.marts.dailyOrders);
      if (JSON.stringify(result.rows) !== JSON.stringify(result.pyiceberg)) {
        process.stderr.write('duckhouse: PyIceberg read other rows than DuckHouse:\n');
        console.table(result.pyiceberg);
        process.exitCode = 1;
      }
    } finally {
      await catalog.close();
    }
  });
}
