// `duckhouse produce csv <file|-> --table ns.name …`: the CSV producer's command line (progress on stderr, the summary
// on stdout, exit code 3 when rejects pass --max-rejects).
import { setFlagsFromString } from 'node:v8';
import { Command, Option } from 'commander';
import { createKafka } from '../producers/kafka/client.js';
import { produceCsv } from '../producers/csv/csv-producer.js';
import { prepareCsvInput } from '../producers/csv/row-encoder.js';
import { createRegistry } from '../schemas/registry.js';
import { DuckHouseError } from '../shared/errors.js';
import { addConnectionOptions, addPrefixOption, addQuietOption, brokerList, positiveInt, registryUrl, stackUnless } from './common-options.js';
import { EXIT } from './exit-codes.js';
import { startProgress } from './progress.js';

interface ProduceCsvFlags {
  table: string;
  key?: string;
  delimiter: string;
  schema?: string;
  opColumn?: string;
  nullValue: string;
  prefix: string;
  partitions: number;
  sampleRows: number;
  compression: 'gzip' | 'snappy' | 'none';
  maxRejects: string;
  force?: boolean;
  brokers?: string;
  registry?: string;
  quiet?: boolean;
}

/** `--max-rejects`: a count (`100`) or a share of the rows read (`0.5%`). */
export function rejectThreshold(value: string): (rejected: number, rows: number) => boolean {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (percent) {
    const share = Number(percent[1]) / 100;
    return (rejected, rows) => rows > 0 && rejected / rows > share;
  }
  if (!/^\d+$/.test(value)) throw new DuckHouseError('config', `--max-rejects ${value}: expected a count like 100 or a share like 0.5%`);
  const limit = Number(value);
  return (rejected) => rejected > limit;
}

export function produceCommand(): Command {
  const produce = new Command('produce').description('send data into DuckHouse topics');
  produce
    .command('csv')
    .description('stream a CSV file (or - for stdin) into a table topic as keyed Avro change events')
    .argument('<file>', 'the CSV file, or - to read stdin')
    .requiredOption('--table <namespace.name>', 'the target table, e.g. sales.orders')
    .option('--key <columns>', 'comma-separated key columns: a row with an existing key is an upsert')
    .option('--delimiter <char>', 'field delimiter', ',')
    .option('--schema <file>', 'column types: an Avro record, or {"columns": [{"name", "type", "required"}]} with Iceberg type names')
    .option('--op-column <column>', 'a column whose value d/delete marks a delete (needs --key)')
    .option('--null-value <text>', 'the text that means null', '')
    .option('--partitions <n>', 'partitions of a new table topic', positiveInt, 4)
    .option('--sample-rows <n>', 'rows read to infer column types', positiveInt, 10_000)
    .addOption(new Option('--compression <codec>', 'Kafka batch compression').choices(['gzip', 'snappy', 'none']).default('gzip'))
    .option('--max-rejects <n|p%>', 'exit with code 3 when more rows than this are rejected', '0')
    .option('--force', 'send the file again even if it was completed before');
  const csv = produce.commands.find((c) => c.name() === 'csv')!;
  addPrefixOption(csv);
  addConnectionOptions(csv);
  addQuietOption(csv);
  csv.action(async (file: string, flags: ProduceCsvFlags) => {
      // Smaller young-generation semi-spaces: the sender thread allocates many short-lived buffers, and V8's default
      // growth alone took the process past 300 MB RSS on a 2 GB file (bench/csv-producer.ts --memory).
      setFlagsFromString('--max-semi-space-size=4');
      const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(flags.table);
      if (!match) throw new DuckHouseError('config', `--table ${flags.table}: expected <namespace>.<name> using letters, digits, _ and -`);
      const overThreshold = rejectThreshold(flags.maxRejects);
      const stack = stackUnless(Boolean(flags.brokers && flags.registry));
      const kafka = createKafka({ brokers: brokerList(flags, stack), clientId: 'duckhouse-produce-csv' });
      const registry = createRegistry({ url: registryUrl(flags, stack) });
      const shown: string[] = [];
      let hidden = 0;
      const input = await prepareCsvInput(file);
      const progress = startProgress({ quiet: flags.quiet, unit: 'MB', total: Math.max(1, Math.round(input.bytes / 1048576)), suffix: '| {rows} rows | {rate} rows/s | rejected {rejected}' });
      const result = await produceCsv(kafka, registry, {
        input,
        namespace: match[1]!,
        table: match[2]!,
        ...(flags.key ? { keyColumns: flags.key.split(',').map((k) => k.trim()).filter(Boolean) } : {}),
        delimiter: flags.delimiter,
        ...(flags.schema ? { schemaFile: flags.schema } : {}),
        ...(flags.opColumn ? { opColumn: flags.opColumn } : {}),
        nullValue: flags.nullValue,
        topicPrefix: flags.prefix,
        partitions: flags.partitions,
        sampleRows: flags.sampleRows,
        compression: flags.compression,
        force: flags.force ?? false,
        onReject: (letter) => {
          if (shown.length < 10) {
            shown.push(`rejected ${letter.message}`);
            progress.note(shown.at(-1)!);
          } else hidden++;
        },
        onProgress: (p) => {
          const rate = p.seconds > 0 ? Math.round(p.rows / p.seconds) : 0;
          progress.update(Math.round(p.bytesRead / 1048576), { rows: p.rows.toLocaleString('en-US'), rate: rate.toLocaleString('en-US'), rejected: p.rejected.toLocaleString('en-US') });
        },
      });
      progress.stop();
      if (hidden > 0) process.stderr.write(`… and ${hidden} more rejects (all on topic ${flags.prefix}.dlq)\n`);
      if (result.status === 'already-completed') {
        const p = result.previous!;
        process.stdout.write(`${input.name} (sha256 ${result.sha256.slice(0, 12)}…) was already sent to ${result.topic} on ${p.updatedAt}: ${p.sent} rows sent, ${p.rejected} rejected. Nothing sent; use --force to send it again.\n`);
        return;
      }
      const rate = result.seconds > 0 ? Math.round(result.rows / result.seconds) : result.rows;
      const lines = [
        `${input.name} → ${result.topic} (value schema id ${result.valueSchemaId}${result.keySchemaId === undefined ? ', no key' : `, key schema id ${result.keySchemaId}`})`,
        ...(result.resumedAfterLine > 0 ? [`resumed after line ${result.resumedAfterLine} (an earlier run was interrupted there)`] : []),
        `columns: ${result.columns.map((c) => `${c.name} ${c.type} [${c.origin}]`).join(', ')}`,
        `rows read ${result.rows}, sent ${result.sent} (${result.deletes} deletes), rejected ${result.rejected} in ${result.seconds.toFixed(1)} s (${rate} rows/s, ${(input.bytes / 1048576).toFixed(1)} MB)`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      if (overThreshold(result.rejected, result.rows)) {
        process.stderr.write(`duckhouse: ${result.rejected} of ${result.rows} rows were rejected, more than --max-rejects ${flags.maxRejects}; they are on topic ${flags.prefix}.dlq with their line and reason\n`);
        process.exitCode = EXIT.ATTENTION;
      }
    });
  return produce;
}
