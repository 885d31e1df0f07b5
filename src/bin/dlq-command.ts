// `duckhouse dlq list | replay`: looks at the sink's dead letters (the Iceberg DLQ table) and sends the ones that can
// be taken now back to their topics (consumers/dlq-replay.ts), removing them from the table once Kafka has them.
// The summary goes to stdout, logs to stderr. Reads the running stack's endpoints unless told otherwise; never prints
// credentials.
import { Command, Option } from 'commander';
import { tableIdentifier } from '../catalog/catalogs/catalog.js';
import type { DeadLetterFilter, ReplayResult } from '../consumers/dlq-replay.js';
import { readDeadLetters, REPLAYABLE_KINDS, replayDeadLetters, SKIP_REASONS } from '../consumers/dlq-replay.js';
import type { DeadLetterKind } from '../producers/dead-letter.js';
import { createKafka } from '../producers/kafka/client.js';
import { createLogger } from '../shared/logger.js';
import { readEndpoints } from '../stack/config.js';
import type { CatalogFlags } from './catalog-options.js';
import { addCatalogOptions, openCatalog } from './catalog-options.js';
import { addConnectionOptions, addJsonOption, brokerList, parseTime, positiveInt } from './common-options.js';
import type { Output } from './output.js';
import { columns, plural } from './output.js';

interface DlqFlags extends CatalogFlags {
  dlqTable: string;
  table?: string;
  kind?: DeadLetterKind;
  topic?: string;
  since?: Date;
  limit?: number;
}

interface ReplayFlags extends DlqFlags {
  dryRun?: boolean;
  brokers?: string;
}

interface ListFlags extends DlqFlags {
  json?: boolean;
}

function addFilterOptions(command: Command, limit: string): Command {
  command
    .option('--dlq-table <ns.table>', 'the Iceberg table of dead letters', 'duckhouse.dead_letters')
    .option('--table <ns.table>', 'only letters meant for this table')
    .addOption(new Option('--kind <kind>', 'only letters of this kind').choices([...REPLAYABLE_KINDS]))
    .option('--topic <topic>', 'only letters from this topic')
    .option('--since <time>', 'only letters dead-lettered at or after this ISO time', parseTime)
    .option('--limit <n>', limit, positiveInt);
  return addCatalogOptions(command);
}

function filterOf(flags: DlqFlags): DeadLetterFilter {
  if (flags.table !== undefined) tableIdentifier(flags.table);
  return {
    ...(flags.table !== undefined ? { table: flags.table } : {}),
    ...(flags.kind !== undefined ? { kind: flags.kind } : {}),
    ...(flags.topic !== undefined ? { topic: flags.topic } : {}),
    ...(flags.since !== undefined ? { since: flags.since } : {}),
  };
}

function describeFilter(flags: DlqFlags): string {
  const parts = [['table', flags.table], ['kind', flags.kind], ['topic', flags.topic], ['since', flags.since?.toISOString()]].filter(([, v]) => v !== undefined);
  return parts.length === 0 ? '' : ` (${parts.map(([k, v]) => `${k} ${v}`).join(', ')})`;
}

export function formatPlan(result: ReplayResult, filter: string): string {
  const lines = [`${result.dlqTable}${result.readSnapshotId === undefined ? '' : ` at snapshot ${result.readSnapshotId}`}: ${plural(result.matched, 'letter')} match${result.matched === 1 ? 'es' : ''}${filter}`];
  for (const [reason, n] of result.skipped) lines.push(`  skipped ${n}: ${SKIP_REASONS[reason]}`);
  if (result.duplicates > 0) lines.push(`  ${plural(result.duplicates, 'row')} repeat${result.duplicates === 1 ? 's' : ''} a letter of the same topic, partition and offset: sent once, all removed`);
  if (result.deferred > 0) lines.push(`  ${plural(result.deferred, 'letter')} left for a later replay (--limit)`);
  const total = [...result.topics.values()].reduce((a, b) => a + b, 0);
  if (total > 0) lines.push(`${result.dryRun ? 'would replay' : 'replaying'} ${plural(total, 'letter')} to their original topics (original key and value, original partition, offset order):`);
  for (const [topic, n] of result.topics) lines.push(`  ${topic}: ${n}`);
  return `${lines.join('\n')}\n`;
}

export function formatOutcome(result: ReplayResult): string {
  if (result.topics.size === 0) return 'nothing to replay\n';
  if (result.dryRun) return 'dry run: nothing was sent and nothing removed from the DLQ table\n';
  return [
    `sent ${plural(result.sent, 'letter')}, acknowledged by all in-sync replicas`,
    `removed ${plural(result.removed, 'row')} from ${result.dlqTable}${result.snapshotId === undefined ? '' : ` in snapshot ${result.snapshotId}`}`,
    'The sink takes them as new records: a letter that still cannot be taken is dead-lettered again, as a new letter at its new offset.',
    '',
  ].join('\n');
}

export function dlqCommand(out: Output = process.stdout): Command {
  const dlq = new Command('dlq').description("the sink's dead letters: list them, or replay them to their topics once the cause is fixed");

  const list = addJsonOption(new Command('list').description('print the dead letters of the DLQ table (oldest first)'), 'print the letters as a JSON array');
  addFilterOptions(list, 'print at most this many letters').action(async (flags: ListFlags) => {
    const filter = filterOf(flags);
    const id = tableIdentifier(flags.dlqTable);
    const catalog = openCatalog(flags, readEndpoints());
    try {
      const letters = (await catalog.tableExists(id)) ? await readDeadLetters(await catalog.loadTable(id), filter) : [];
      const shown = letters.slice(0, flags.limit ?? letters.length);
      if (flags.json) {
        out.write(`${JSON.stringify(shown.map((l) => l.letter), null, 2)}\n`);
        return;
      }
      const rows = shown.map(({ letter: l }) => {
        const where = l.topic === null ? (l.file === null ? '-' : `${l.file}:${l.line ?? ''}`) : `${l.topic}[${l.partition ?? '?'}]@${l.offset ?? '?'}`;
        const message = l.message.replace(/\s+/g, ' ');
        return [l.time, l.kind, l.table ?? '-', where, message.length > 160 ? `${message.slice(0, 159)}…` : message];
      });
      if (rows.length > 0) out.write(`${columns([['TIME', 'KIND', 'TABLE', 'TOPIC[PARTITION]@OFFSET', 'MESSAGE'], ...rows])}\n`);
      const more = shown.length < letters.length ? ` (showing ${shown.length})` : '';
      out.write(`${plural(letters.length, 'letter')} in ${flags.dlqTable}${describeFilter(flags)}${more}\n`);
    } finally {
      await catalog.close().catch(() => undefined);
    }
  });

  const replay = new Command('replay')
    .description('send dead letters back to their topics (the sink takes them again) and remove them from the DLQ table once Kafka acknowledged them; if sending fails midway nothing is removed, and replaying again sends the letters already sent a second time')
    .option('--dry-run', 'print what would be replayed; send and remove nothing');
  addConnectionOptions(replay, { registry: false });
  addFilterOptions(replay, 'replay at most this many letters (oldest first)').action(async (flags: ReplayFlags) => {
    const filter = filterOf(flags);
    const stack = readEndpoints();
    const catalog = openCatalog(flags, stack);
    try {
      const result = await replayDeadLetters({
        ...filter,
        catalog,
        dlqTable: tableIdentifier(flags.dlqTable),
        kafka: createKafka({ brokers: brokerList(flags, stack), clientId: 'duckhouse-dlq-replay' }),
        ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
        dryRun: flags.dryRun === true,
        onPlan: (plan) => out.write(formatPlan(plan, describeFilter(flags))),
        logger: createLogger('dlq-replay', process.env.DUCKHOUSE_LOG_LEVEL ?? 'warn'),
      });
      out.write(formatOutcome(result));
    } finally {
      await catalog.close().catch(() => undefined);
    }
  });

  return dlq.addCommand(list).addCommand(replay);
}
