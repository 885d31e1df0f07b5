// The Postgres CDC producer's library API: `startCdc(options)` checks the source, takes (or resumes after) a consistent
// snapshot, then streams every change of the tables to Kafka as Avro change envelopes until `stop()`. The snapshot is
// recorded complete in `<prefix>.cdc-state` after its rows are acknowledged; a restart streams on from the slot's
// confirmed position; tables added since the snapshot are refused (`resnapshot` redoes everything).
// Must never: start streaming from a slot whose snapshot is not recorded complete; log the source URL's password.
import type pg from 'pg';
import { createRegistry, SchemaCache } from '../../schemas/registry.js';
import { DuckHouseError } from '../../shared/errors.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { createKafka, createProducer, dlqTopic, ensureTopic, type Producer, tableTopic } from '../kafka/client.js';
import { type Compression, KafkaSender } from '../kafka/sender.js';
import { type CdcState, readCdcState, stateMessage, stateTopic } from './cdc-state.js';
import { checkCdcTable, checkWalLevel, connect, currentWalLsn, describeTable, dropSlot, ensurePublication, type PgSource, pgSource, type SlotInfo, slotInfo, slotInUseError, type TableDescription } from './catalog.js';
import { formatLsn } from './lsn.js';
import { checkSlotName, defaultReplicationNames, parseTableList, type TableRef, tableName } from './names.js';
import { Publisher, type TableChannel, type TableStats } from './publisher.js';
import { takeSnapshot } from './snapshot-run.js';
import { ReplicationStream } from './stream.js';

export interface CdcOptions {
  /** `postgres://user:password@host:port/database` (the password is never logged). */
  source: string;
  /** `schema.table` names (a comma-separated string or a list); exact, case-sensitive names. */
  tables: string | readonly string[];
  /** Producer name; slot and publication default to `duckhouse_<name>`. Default `duckhouse`. */
  name?: string;
  /** Topics are `<prefix>.<schema>.<table>`, plus `<prefix>.dlq` and `<prefix>.cdc-state`. Default `duckhouse`. */
  topicPrefix?: string;
  slot?: string;
  publication?: string;
  /** Partitions of topics this producer creates (existing topics keep theirs). Default 1. */
  partitions?: number;
  /** Drop the slot and take a new snapshot of every table. */
  resnapshot?: boolean;
  /** A tombstone (null value) after each delete, as Debezium does. Default true. */
  tombstones?: boolean;
  compression?: Compression;
  brokers: string[];
  registryUrl: string;
  logger?: Logger;
  /** Rows per snapshot cursor fetch. Default 2,000. */
  snapshotBatchRows?: number;
  /** Progress log interval; 0 turns it off. Default 10 s. */
  progressIntervalMs?: number;
  /**
   * How long to wait for an active slot to be released before refusing to start (a producer killed a moment ago
   * holds it until Postgres notices). Default 10 s.
   */
  slotWaitMs?: number;
}

export interface CdcStats {
  phase: 'snapshot' | 'streaming' | 'stopped' | 'failed';
  slot: string;
  publication: string;
  /** Whether this run took the initial snapshot or resumed streaming from the slot. */
  start: 'snapshot' | 'resume';
  tables: Record<string, TableStats & { topic: string }>;
  transactions: number;
  events: number;
  /** The position confirmed to Postgres as everything-before-it-is-in-Kafka (`X/Y`). */
  confirmedLsn: string | null;
  receivedLsn: string | null;
  /** Bytes of WAL between the server's current position and the confirmed one, at the last progress check. */
  lagBytes: number | null;
  kafka: { sent: number; acked: number; batches: number };
}

export interface CdcHandle {
  stats(): CdcStats;
  /** Stops streaming, waits for Kafka's acks, confirms them to Postgres, closes everything; returns the final stats. */
  stop(): Promise<CdcStats>;
  /** Resolves after stop(); rejects when the producer fails on its own (lost connection, Kafka refusing batches). */
  readonly done: Promise<void>;
}

interface Resolved {
  source: PgSource;
  refs: TableRef[];
  name: string;
  prefix: string;
  slot: string;
  publication: string;
}

function resolve(options: CdcOptions): Resolved {
  const name = options.name ?? 'duckhouse';
  const defaults = defaultReplicationNames(name);
  const partitions = options.partitions ?? 1;
  if (!Number.isInteger(partitions) || partitions < 1) throw new DuckHouseError('config', `--partitions: expected a whole number ≥ 1, found ${partitions}`);
  const prefix = options.topicPrefix ?? 'duckhouse';
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new DuckHouseError('config', `--prefix: expected letters, digits, _ and -, found ${JSON.stringify(prefix)}`);
  return {
    source: pgSource(options.source),
    refs: parseTableList(options.tables),
    name,
    prefix,
    slot: checkSlotName(options.slot ?? defaults.slot, '--slot'),
    publication: checkSlotName(options.publication ?? defaults.publication, '--publication'),
  };
}

export async function startCdc(options: CdcOptions): Promise<CdcHandle> {
  const r = resolve(options);
  const logger = options.logger ?? createLogger('cdc');
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    cleanups.length = 0;
  };
  let fatal: (error: Error) => void = () => undefined;
  const onConnectionError = (error: Error): void => fatal(error);
  try {
    const meta = await connect(r.source, { onError: onConnectionError });
    cleanups.push(() => meta.end());
    await checkWalLevel(meta, r.source);
    const db = (await meta.query<{ db: string }>('select current_database() as db')).rows[0]?.db ?? '';
    const described: TableDescription[] = [];
    for (const ref of r.refs) {
      const table = await describeTable(meta, ref, r.source);
      checkCdcTable(table, r.source);
      described.push(table);
    }

    const kafka = createKafka({ brokers: options.brokers, clientId: `duckhouse-cdc-${r.name}`, quiet: true });
    const producer: Producer = createProducer(kafka);
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sender = new KafkaSender(producer, { compression: options.compression ?? 'gzip' });
    const cache = new SchemaCache(createRegistry({ url: options.registryUrl }));
    const topics = new Map<string, { topic: string; partitions: number }>();
    for (const ref of r.refs) {
      const topic = tableTopic(r.prefix, ref.schema, ref.table);
      topics.set(tableName(ref), { topic, partitions: await ensureTopic(kafka, topic, { partitions: options.partitions ?? 1 }) });
    }
    await ensureTopic(kafka, dlqTopic(r.prefix));
    const states = stateTopic(r.prefix);
    await ensureTopic(kafka, states, { compacted: true });

    const names = r.refs.map(tableName);
    const [state, slot] = await Promise.all([readCdcState(kafka, states, r.slot), releasedSlot(meta, r, options.slotWaitMs ?? 10_000, logger)]);
    if (slot && (slot.plugin !== 'pgoutput' || slot.slotType !== 'logical' || slot.database !== db)) {
      throw new DuckHouseError('config', `replication slot ${r.slot} in Postgres at ${r.source.where} is a ${slot.slotType} slot of plugin ${slot.plugin} in database ${slot.database}; expected a logical pgoutput slot in ${db} (choose another --slot/--name, or drop it)`);
    }
    const resume = !options.resnapshot && slot !== undefined && state?.status === 'complete';
    if (resume) {
      const added = names.filter((n) => !state.tables.includes(n));
      if (added.length > 0) {
        throw new DuckHouseError('config', `table(s) ${added.join(', ')} were not part of the initial snapshot of slot ${r.slot} (it covered ${state.tables.join(', ') || 'nothing'}); restart with --resnapshot to drop the slot and snapshot every table again (snapshot rows are upserts: re-sending them is harmless)`);
      }
    }

    const publisher = new Publisher({ sender, cache, dlqTopic: dlqTopic(r.prefix), logger, name: r.prefix, db, tombstones: options.tombstones ?? true });
    const writeState = async (status: CdcState['status'], tables: string[], consistentPoint: string | null): Promise<void> => {
      await sender.send(stateMessage(states, { version: 1, slot: r.slot, publication: r.publication, status, tables, consistentPoint, updatedAt: new Date().toISOString() }));
      await sender.flush();
    };
    const stats: CdcStats = { phase: 'snapshot', slot: r.slot, publication: r.publication, start: resume ? 'resume' : 'snapshot', tables: {}, transactions: 0, events: 0, confirmedLsn: null, receivedLsn: null, lagBytes: null, kafka: sender.stats };
    let channels: TableChannel[];
    let startLsn: bigint;
    if (resume) {
      if (names.length !== state.tables.length) await writeState('complete', names, state.consistentPoint);
      await ensurePublication(meta, r.publication, r.refs);
      channels = [];
      for (const table of described) {
        const t = topics.get(tableName(table.ref))!;
        channels.push(await publisher.open(table.ref, table.oid, t.topic, t.partitions, table.shape));
      }
      startLsn = slot.confirmedFlushLsn ?? 0n;
      logger.info({ slot: r.slot, publication: r.publication, tables: names, from: formatLsn(startLsn) }, 'snapshot recorded complete: streaming from the slot');
    } else {
      const why = options.resnapshot ? 'resnapshot requested' : !slot ? 'no slot yet' : 'the slot has no completed snapshot';
      logger.info({ slot: r.slot, publication: r.publication, tables: names, why }, 'taking the initial snapshot');
      await ensurePublication(meta, r.publication, r.refs);
      await writeState('snapshotting', [], null);
      if (slot) await dropSlot(meta, r.slot, r.source);
      const snapshot = await takeSnapshot({ source: r.source, slot: r.slot, refs: r.refs, topics, publisher, logger, batchRows: options.snapshotBatchRows ?? 2000, onError: onConnectionError });
      channels = snapshot.channels;
      startLsn = snapshot.consistentPoint;
      await writeState('complete', names, formatLsn(startLsn));
      logger.info({ slot: r.slot, consistentPoint: formatLsn(startLsn), rows: snapshot.rows }, 'snapshot complete and recorded');
    }
    for (const channel of channels) stats.tables[channel.name] = Object.assign(channel.stats, { topic: channel.topic });

    let rejectDone: (error: Error) => void = () => undefined;
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((res, rej) => {
      resolveDone = res;
      rejectDone = rej;
    });
    done.catch(() => undefined);
    const stream = new ReplicationStream({ source: r.source, slot: r.slot, publication: r.publication, startLsn, channels, publisher, meta, logger, onFatal: (error) => fatal(error) });
    const snapshotStats = (): CdcStats => {
      stats.transactions = stream.stats.transactions;
      stats.events = stream.stats.events;
      stats.confirmedLsn = formatLsn(stream.confirmedLsn);
      stats.receivedLsn = stream.stats.receivedLsn > 0n ? formatLsn(stream.stats.receivedLsn) : null;
      return { ...stats, tables: { ...stats.tables }, kafka: { sent: sender.stats.sent, acked: sender.stats.acked, batches: sender.stats.batches } };
    };
    let progress: NodeJS.Timeout | undefined;
    let stopping: Promise<CdcStats> | undefined;
    fatal = (error: Error) => {
      if (stopping) return;
      stats.phase = 'failed';
      logger.error({ err: error, ...summary(snapshotStats()) }, 'CDC producer failed');
      stopping = (async () => {
        if (progress) clearInterval(progress);
        await stream.stop().catch(() => undefined);
        await cleanup();
        return snapshotStats();
      })();
      void stopping.finally(() => rejectDone(error));
    };
    await stream.start();
    stats.phase = 'streaming';
    logger.info({ slot: r.slot, from: formatLsn(startLsn), tables: Object.fromEntries(channels.map((c) => [c.name, c.topic])) }, 'streaming changes');
    const interval = options.progressIntervalMs ?? 10_000;
    if (interval > 0) {
      progress = setInterval(() => void reportProgress(meta, stream.confirmedLsn, stats, snapshotStats, logger), interval);
      progress.unref();
    }
    return {
      stats: snapshotStats,
      done,
      stop: () => {
        stopping ??= (async () => {
          if (progress) clearInterval(progress);
          try {
            await stream.stop();
            stats.lagBytes = await currentWalLsn(meta).then((lsn) => Number(lsn - stream.confirmedLsn), () => stats.lagBytes);
            stats.phase = 'stopped';
            const final = snapshotStats();
            logger.info(summary(final), 'CDC producer stopped: everything acknowledged by Kafka is confirmed to Postgres');
            return final;
          } catch (error) {
            stats.phase = 'failed';
            logger.error({ err: error, ...summary(snapshotStats()) }, 'CDC producer failed while stopping: what Kafka did not acknowledge is not confirmed');
            rejectDone(error instanceof Error ? error : new Error(String(error)));
            throw error;
          } finally {
            await cleanup();
            resolveDone();
          }
        })();
        return stopping;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** The slot's status once no other process streams from it (waits up to `waitMs`); undefined when there is no slot. */
async function releasedSlot(meta: pg.Client, r: Resolved, waitMs: number, logger: Logger): Promise<SlotInfo | undefined> {
  const deadline = Date.now() + waitMs;
  let slot = await slotInfo(meta, r.slot);
  if (slot?.active) logger.info({ slot: r.slot, pid: slot.activePid, waitMs }, 'replication slot is in use: waiting for it to be released');
  while (slot?.active && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 250));
    slot = await slotInfo(meta, r.slot);
  }
  if (slot?.active) throw slotInUseError(r.slot, slot.activePid, r.source);
  return slot;
}

function summary(stats: CdcStats): Record<string, unknown> {
  const tables = Object.fromEntries(
    Object.entries(stats.tables).map(([name, t]) => [name, { r: t.snapshot, c: t.inserts, u: t.updates, d: t.deletes, t: t.truncates, dlq: t.deadLetters, schemas: t.schemaIds.length }]),
  );
  return { phase: stats.phase, slot: stats.slot, tables, transactions: stats.transactions, confirmedLsn: stats.confirmedLsn, lagBytes: stats.lagBytes, kafka: stats.kafka };
}

async function reportProgress(meta: pg.Client, confirmed: bigint, stats: CdcStats, current: () => CdcStats, logger: Logger): Promise<void> {
  try {
    stats.lagBytes = Number((await currentWalLsn(meta)) - confirmed);
  } catch {
    // progress is best effort; a lost connection surfaces through the stream
  }
  logger.info(summary(current()), 'progress');
}
