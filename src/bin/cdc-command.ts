// `duckhouse cdc`: streams a Postgres database's changes (initial snapshot, then logical replication) into Kafka as
// Avro change envelopes, until SIGINT/SIGTERM, which flushes, confirms what Kafka acknowledged, and exits 0.
// Reads the environment (DUCKHOUSE_CDC_SOURCE) and the running stack's endpoints; never prints the source password.
import { Command, Option } from 'commander';
import { type CdcStats, startCdc } from '../producers/postgres-cdc/cdc.js';
import { DuckHouseError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import type { MetricsFlags } from './common-options.js';
import { addConnectionOptions, addMetricsOptions, addPrefixOption, brokerList, metricsServerFor, positiveInt, registryUrl, stackUnless } from './common-options.js';
import { stopOnSignal } from './signals.js';

interface CdcCommandOptions extends MetricsFlags {
  source?: string;
  tables: string;
  name: string;
  prefix: string;
  slot?: string;
  publication?: string;
  partitions: number;
  resnapshot: boolean;
  tombstones: boolean;
  compression: 'gzip' | 'snappy' | 'none';
  brokers?: string;
  registry?: string;
}

export function cdcCommand(): Command {
  const command = new Command('cdc')
    .description('Postgres CDC: a consistent snapshot of the tables, then every insert/update/delete/truncate, as Avro change envelopes keyed by primary key (one topic per table)')
    .option('--source <url>', 'Postgres URL postgres://user:password@host:port/database (env DUCKHOUSE_CDC_SOURCE)')
    .requiredOption('--tables <list>', 'comma-separated schema.table names (exact, case-sensitive)')
    .option('--name <name>', 'producer name; slot and publication default to duckhouse_<name>', 'duckhouse')
    .option('--slot <slot>', 'replication slot name (default duckhouse_<name>)')
    .option('--publication <name>', 'publication name (default duckhouse_<name>)')
    .option('--partitions <n>', 'partitions of topics created by this command', positiveInt, 1)
    .option('--resnapshot', 'drop the slot and take a new snapshot of every table', false)
    .option('--no-tombstones', 'no tombstone (null value) after each delete')
    .addOption(new Option('--compression <codec>', 'Kafka batch compression').choices(['gzip', 'snappy', 'none']).default('gzip'));
  addPrefixOption(command, 'topics are <prefix>.<schema>.<table>, plus <prefix>.dlq and <prefix>.cdc-state');
  addConnectionOptions(command);
  addMetricsOptions(command);
  return command.action(async (options: CdcCommandOptions) => {
      const source = options.source ?? process.env.DUCKHOUSE_CDC_SOURCE;
      if (!source) throw new DuckHouseError('config', 'cdc: expected --source <postgres url> or DUCKHOUSE_CDC_SOURCE, found neither');
      const stack = stackUnless(Boolean(options.brokers && options.registry));
      const logger = createLogger('cdc');
      const handle = await startCdc({
        source,
        tables: options.tables,
        name: options.name,
        topicPrefix: options.prefix,
        ...(options.slot ? { slot: options.slot } : {}),
        ...(options.publication ? { publication: options.publication } : {}),
        partitions: options.partitions,
        resnapshot: options.resnapshot,
        tombstones: options.tombstones,
        compression: options.compression,
        brokers: brokerList(options, stack),
        registryUrl: registryUrl(options, stack),
        logger,
      });
      const metrics = await metricsServerFor(options);
      const final: CdcStats = await stopOnSignal(logger, () => handle.stop(), {
        stopping: 'stopping: flushing to Kafka and confirming to Postgres',
        abort: 'second signal: exiting without waiting (unconfirmed changes are sent again on the next start)',
      }, handle.done).finally(() => metrics?.close());
      process.stdout.write(`cdc stopped: ${JSON.stringify({ slot: final.slot, confirmedLsn: final.confirmedLsn, transactions: final.transactions, events: final.events, tables: final.tables })}\n`);
    });
}
