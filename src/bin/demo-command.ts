// `duckhouse demo`: runs the end-to-end demo against the running stack and prints what DuckDB reads back.
import path from 'node:path';
import { Command } from 'commander';
import { PROJECT_ROOT, readEndpoints } from '../stack/config.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description('CSV → Avro (schema registry) → Kafka → Arrow → an Iceberg snapshot (Parquet with field ids) → DuckDB and PyIceberg, on the running stack')
    .option('--csv <file>', 'the CSV file to send', path.join(PROJECT_ROOT, 'scripts', 'demo-data', 'orders.csv'))
    .option('--out <dir>', 'where the demo warehouse (embedded Iceberg catalog) goes', path.join(PROJECT_ROOT, '.demo'))
    .action(async (options: { csv: string; out: string }) => {
      const report = (line: string): void => void process.stdout.write(`demo  ${line}\n`);
      // Loaded on use: the demo pulls in DuckDB's native library, which other commands should not carry in memory.
      const { runCsvDemo } = await import('../demo/csv-demo.js');
      const result = await runCsvDemo(readEndpoints(), { csvFile: path.resolve(options.csv), outDir: path.resolve(options.out), report });
      report(`DuckDB reads ${result.rows.length} rows from ${result.dataFiles.length} data file(s) of snapshot ${result.snapshotId}; field ids: ${result.fieldIds.map((f) => `${f.name}=${f.fieldId}`).join(', ')}`);
      console.table(result.rows);
    });
}
