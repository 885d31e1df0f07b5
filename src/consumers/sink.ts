// The sink process: a kafkajs consumer group whose records are routed topic → table, decoded, micro-batched per table
// and flushed when a batch is old, long or large enough (first limit wins). Each flush records its dead letters, then
// commits the table (fenced by the offsets the table records), then commits the group's offsets as a courtesy and
// publishes a commit event. Partitions are positioned from the table's offsets when first seen (start, rebalance,
// after a reset), never from the group's. Full buffers pause their topics until a flush drains them.
// Must never: commit a table past a record it did not take or dead-letter, or crash on a bad record.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Logger } from '../shared/logger.js';
import { DataInvalidError, DuckHouseError, describeError } from '../shared/errors.js';
import { ConsumerLag, sinkConsumed } from '../shared/metrics.js';
import type { Catalog, TableIdentifier } from '../catalog/catalogs/catalog.js';
import { formatIdentifier } from '../catalog/catalogs/catalog.js';
import type { TableWriterOptions } from '../catalog/writer/table-writer.js';
import type { CommitEvent, CommitEventPublisher } from '../compactor/queues.js';
import '../producers/kafka/sender.js'; // registers the snappy codec for compressed topics
import type { ChangeBuffer } from './change-buffer.js';
import { RecordDecoder } from './decode.js';
import { KeyPartitions } from './key-partitions.js';
import type { KafkaRecord } from './decode.js';
import { DeadLetterSink } from './dead-letters.js';
import type { PartitionKey } from './offsets.js';
import { byTopic, parsePartitionKey, partitionKeyOf } from './offsets.js';
import type { RoutingOptions } from './routing.js';
import { tableForTopic } from './routing.js';
import type { FlushOutcome } from './table-flush.js';
import { TableSink } from './table-sink.js';

export interface FlushLimits {
  /** Flush a batch this old (ms). */
  readonly intervalMs: number;
  /** … or holding this many rows (changes, for keyed tables). */
  readonly rows: number;
  /** … or this many bytes of Kafka keys and values. */
  readonly bytes: number;
}

/**
 * Fetch sizes of the sink's consumer: small enough that a fetch of gzip batches does not dominate memory (4/32 MiB
 * measured ~600 MB RSS for a bare consumer, these ~300 MB, at the same throughput: bench/sink.ts), and a short wait so
 * a stop is quick.
 */
export const CONSUMER_FETCH = { maxBytesPerPartition: 1024 * 1024, maxBytes: 4 * 1024 * 1024, maxWaitTimeInMs: 1000 } as const;

export const DEFAULT_FLUSH: FlushLimits = { intervalMs: 5_000, rows: 500_000, bytes: 128 * 1024 * 1024 };

export interface SinkOptions {
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  readonly catalog: Catalog;
  readonly group: string;
  readonly topics?: readonly string[];
  readonly topicPattern?: RegExp;
  readonly routing: RoutingOptions;
  /** `namespace.table` → partition spec text, for tables the sink creates. */
  readonly partitionBy?: ReadonlyMap<string, string>;
  readonly flush?: Partial<FlushLimits>;
  /** Bytes held across all tables (batches filling and flushing) before every topic is paused. Default 512 MiB. */
  readonly maxBufferedBytes?: number;
  readonly deadLetters: { readonly topic: string; readonly table: TableIdentifier };
  readonly commitEvents?: CommitEventPublisher;
  readonly logger: Logger;
  readonly writerOptions?: TableWriterOptions;
  /** How long the group waits for a silent member before moving its partitions (default 30 s; the broker's minimum is 6 s). */
  readonly sessionTimeoutMs?: number;
  /** Called after each table commit (progress, tests). */
  readonly onCommit?: (event: CommitEvent) => void;
}

interface PartitionState {
  /** Next offset to take (undefined: from the beginning). */
  next: bigint | undefined;
}

export interface SinkStats {
  records: number;
  commits: number;
  rowsAdded: number;
  rowsDeleted: number;
  deadLetters: number;
  resets: number;
}

export class Sink {
  readonly stats: SinkStats = { records: 0, commits: 0, rowsAdded: 0, rowsDeleted: 0, deadLetters: 0, resets: 0 };
  private readonly consumer: Consumer;
  private readonly decoder: RecordDecoder;
  private readonly keyPartitions: KeyPartitions;
  private readonly dlq: DeadLetterSink;
  private readonly limits: FlushLimits;
  private readonly tables = new Map<string, TableSink>();
  private readonly topicTables = new Map<string, TableSink>();
  private readonly partitions = new Map<PartitionKey, PartitionState>();
  private readonly flushing = new Map<TableSink, { buffer: ChangeBuffer; done: Promise<void> }>();
  private readonly paused = new Set<string>();
  private readonly lag = new ConsumerLag();
  private producer: ReturnType<Kafka['producer']> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inBatch: Promise<void> = Promise.resolve();
  private stopping = false;
  private running = false;

  constructor(private readonly options: SinkOptions) {
    this.limits = { ...DEFAULT_FLUSH, ...options.flush };
    const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    this.consumer = options.kafka.consumer({ groupId: options.group, sessionTimeout, heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)), rebalanceTimeout: 60_000, ...CONSUMER_FETCH });
    this.decoder = new RecordDecoder(options.registry);
    this.keyPartitions = new KeyPartitions(options.kafka, options.registry);
    this.producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.dlq = new DeadLetterSink({ catalog: options.catalog, table: options.deadLetters.table, topic: options.deadLetters.topic, producer: this.producer, logger: options.logger });
  }

  async start(): Promise<void> {
    const { topics, topicPattern } = this.options;
    if (!topics?.length && !topicPattern) throw new DuckHouseError('config', 'the sink needs --topics or --topic-pattern');
    for (const topic of topics ?? []) this.tableOf(topic); // unmappable names fail now, not mid-stream
    await this.producer!.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: topicPattern ? [topicPattern] : [...topics!], fromBeginning: true });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => this.onAssignment(event.payload.memberAssignment));
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => {
        const done = this.onBatch(payload);
        this.inBatch = done.catch(() => undefined);
        return done;
      },
    });
    this.timer = setInterval(() => this.tick(), Math.min(250, this.limits.intervalMs));
    this.timer.unref();
  }

  private tableOf(topic: string): TableSink {
    let table = this.topicTables.get(topic);
    if (table) return table;
    const id = tableForTopic(topic, this.options.routing);
    const name = formatIdentifier(id);
    table = this.tables.get(name);
    if (!table) {
      const partitionBy = this.options.partitionBy?.get(name);
      const sink: TableSink = new TableSink({
        catalog: this.options.catalog, id, group: this.options.group, logger: this.options.logger, keyPartitions: this.keyPartitions,
        ...(partitionBy ? { partitionBy } : {}),
        ...(this.options.writerOptions ? { writerOptions: this.options.writerOptions } : {}),
        flushNow: () => this.flushTable(sink),
      });
      table = sink;
      this.tables.set(name, table);
    }
    this.topicTables.set(topic, table);
    return table;
  }

  /** A rebalance: partitions no longer ours are forgotten, and their tables start over from what they committed. */
  private onAssignment(assignment: Record<string, number[]>): void {
    const owned = new Set(Object.entries(assignment).flatMap(([topic, parts]) => parts.map((p) => partitionKeyOf(topic, p))));
    const lost = [...this.partitions.keys()].filter((tp) => !owned.has(tp));
    const affected = new Set(lost.map((tp) => this.topicTables.get(parsePartitionKey(tp).topic)).filter((t): t is TableSink => t !== undefined));
    for (const tp of lost) this.partitions.delete(tp);
    for (const { topic, partition } of lost.map(parsePartitionKey)) this.lag.forget(topic, partition);
    for (const table of affected) this.resetTable(table, 'partitions were reassigned', owned);
    this.options.logger.info({ partitions: owned.size, lost: lost.length }, 'partitions assigned');
  }

  /**
   * Drops a table's batch and makes its partitions read again: each one still ours is sought back to where the
   * dropped batch started, so records are fetched again even when no new ones arrive (the next batch then positions
   * the partition from the table's offsets, which may have moved on).
   */
  private resetTable(table: TableSink, why: string, owned?: ReadonlySet<PartitionKey>): void {
    this.stats.resets++;
    const released = table.reset();
    for (const [tp] of this.partitions) if (this.topicTables.get(parsePartitionKey(tp).topic) === table) this.partitions.delete(tp);
    for (const [tp, offset] of released) {
      if (owned && !owned.has(tp)) continue;
      const { topic, partition } = parsePartitionKey(tp);
      try {
        this.consumer.seek({ topic, partition, offset: offset === undefined ? '-2' : String(offset) });
      } catch (error) {
        this.options.logger.debug({ topic, partition, error: describeError(error) }, 'not sought (no longer assigned)');
      }
    }
    this.options.logger.warn({ table: table.name, partitions: released.length, why }, 'batch dropped; reading again from the offsets the table records');
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopping || batch.messages.length === 0) return;
    const { topic, partition } = batch;
    const tp = partitionKeyOf(topic, partition);
    let table: TableSink;
    try {
      table = this.tableOf(topic);
    } catch (error) {
      this.consumer.pause([{ topic }]);
      this.options.logger.error({ topic, error: describeError(error) }, 'topic paused: it does not map to a table');
      return;
    }
    let state = this.partitions.get(tp);
    if (!state) {
      const offset = await this.retrying(`positioning ${topic} partition ${partition}`, () => table.claim(topic, partition));
      state = { next: offset };
      this.partitions.set(tp, state);
      this.lag.committed(topic, partition, offset);
      const first = BigInt(batch.messages[0]!.offset);
      // The table has nothing from this partition (read it from the beginning), or the fetch is elsewhere: seek.
      const seek = offset === undefined ? first !== 0n : first !== offset;
      this.options.logger.info({ topic, partition, offset: offset === undefined ? 'earliest' : String(offset), fetched: String(first), seek }, 'positioned from the table');
      if (seek) {
        this.consumer.seek({ topic, partition, offset: offset === undefined ? '-2' : String(offset) });
        return;
      }
    }
    const messages = batch.messages;
    this.lag.fetched(topic, partition, batch.highWatermark, state.next ?? BigInt(messages[0]!.offset));
    const taken = this.stats.records;
    let resolved: string | undefined;
    for (let i = 0; i < messages.length; i++) {
      if (this.stopping || !isRunning() || ((i & 255) === 0 && isStale())) break;
      const message = messages[i]!;
      const offset = BigInt(message.offset);
      if (state.next !== undefined && offset < state.next) continue;
      const record: KafkaRecord = { topic, partition, offset, key: message.key ?? null, value: message.value ?? null, timestampMs: Number(message.timestamp) };
      // Known schemas and a settled table: no waiting. Otherwise (a new schema, a new table, the registry or catalog
      // down) the same work with waits, retried until it goes through.
      const known = this.decoder.decodeKnown(record);
      let taken = known === undefined ? undefined : table.ingestKnown(record, tp, known);
      taken ??= await this.retrying(`taking ${topic} partition ${partition} offset ${offset}`, async () => {
        let decoded;
        try {
          decoded = await this.decoder.decode(record);
        } catch (error) {
          if (!(error instanceof DataInvalidError)) throw error;
          decoded = error;
        }
        return table.ingest(record, decoded);
      });
      if (!taken) break; // the table was reset meanwhile: the partition is positioned again from the table
      state.next = offset + 1n;
      resolved = message.offset;
      this.stats.records++;
      if (this.full(table.pending) || (i & 4095) === 4095) {
        resolveOffset(message.offset);
        await this.keepUp(table, heartbeat);
      }
    }
    if (resolved !== undefined) resolveOffset(resolved);
    sinkConsumed(topic, this.stats.records - taken);
    await heartbeat();
    this.backpressure();
  }

  /**
   * Between records of a long batch: flushes a table whose batch is full or old (waiting for its previous flush if that
   * is still running: a fetch can hold far more than a batch), and lets timers and I/O run.
   */
  private async keepUp(table: TableSink, heartbeat: () => Promise<void>): Promise<void> {
    if (this.due(table.pending)) {
      const flushing = this.flushing.get(table);
      if (flushing) {
        await flushing.done;
        await heartbeat();
      }
      this.scheduleFlush(table);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Runs `fn` until it succeeds, backing off, while the error is not about the data (catalog, storage, registry down). */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (this.stopping && attempt > 3) throw error;
        this.options.logger.warn({ what, attempt, error: describeError(error) }, 'retrying');
        await sleep(Math.min(30_000, 250 * 2 ** Math.min(attempt, 7)));
      }
    }
  }

  /** A batch holding as many rows or bytes as a flush takes. */
  private full(buffer: ChangeBuffer | undefined): boolean {
    return buffer !== undefined && (buffer.rows >= this.limits.rows || buffer.bytes >= this.limits.bytes);
  }

  /** A batch to flush now: full, or as old as the flush interval. */
  private due(buffer: ChangeBuffer | undefined): boolean {
    return buffer !== undefined && (this.full(buffer) || Date.now() - buffer.openedAtMs >= this.limits.intervalMs);
  }

  private tick(): void {
    for (const table of this.tables.values()) if (this.due(table.pending)) this.scheduleFlush(table);
  }

  private scheduleFlush(table: TableSink): void {
    if (this.flushing.has(table)) return;
    const buffer = table.takeBuffer();
    if (!buffer) return;
    const done = this.runFlush(table, buffer).finally(() => {
      this.flushing.delete(table);
      this.backpressure();
      if (this.stopping ? table.pending !== undefined : this.due(table.pending)) this.scheduleFlush(table);
    });
    this.flushing.set(table, { buffer, done });
  }

  /** Flushes what a table holds now (and what it is flushing) and waits: before a schema change, and at shutdown. */
  async flushTable(table: TableSink): Promise<void> {
    await this.flushing.get(table)?.done;
    this.scheduleFlush(table);
    await this.flushing.get(table)?.done;
  }

  private async runFlush(table: TableSink, buffer: ChangeBuffer): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!buffer.deadLettersSent) {
          await this.dlq.send(buffer.deadLetters);
          buffer.deadLettersSent = true;
        }
        await this.dlq.append(buffer.deadLetters);
        this.stats.deadLetters += buffer.deadLetters.length;
        buffer.deadLetters.length = 0;
        const outcome = await table.flush(buffer);
        if (outcome) await this.afterCommit(table, outcome);
        return;
      } catch (error) {
        // A fence, a conflict commitAction gave up on, a schema moved by another writer, or an unknown outcome: the
        // table decides what happened, so read again from what it records.
        if (error instanceof DuckHouseError && (error.kind === 'commit-conflict' || error.kind === 'commit-state-unknown')) {
          this.resetTable(table, describeError(error));
          return;
        }
        if (this.stopping && attempt >= 3) {
          this.options.logger.error({ table: table.name, error: describeError(error) }, 'flush failed at shutdown; the batch will be read again on restart');
          return;
        }
        this.options.logger.warn({ table: table.name, attempt, error: describeError(error) }, 'flush failed; retrying');
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  private async afterCommit(table: TableSink, outcome: FlushOutcome): Promise<void> {
    this.stats.commits++;
    this.stats.rowsAdded += outcome.rowsAdded;
    this.stats.rowsDeleted += outcome.rowsDeleted;
    const commits = [...outcome.offsets].map(([tp, next]) => ({ ...parsePartitionKey(tp), offset: String(next) }));
    for (const { topic, partition, offset } of commits) this.lag.committed(topic, partition, BigInt(offset));
    const event: CommitEvent = {
      table: table.name,
      snapshotId: outcome.snapshotId === undefined ? null : String(outcome.snapshotId),
      rowsAdded: outcome.rowsAdded,
      rowsDeleted: outcome.rowsDeleted,
      dataFiles: outcome.dataFiles,
      deleteFiles: outcome.deleteFiles,
      offsets: byTopic(outcome.offsets, String),
      committedAt: new Date().toISOString(),
    };
    this.options.logger.info(event, 'committed');
    // The group's offsets are a courtesy (monitoring lag); the table's are the truth.
    await this.consumer.commitOffsets(commits).catch((error: unknown) => this.options.logger.debug({ error: describeError(error) }, 'group offsets not committed'));
    if (this.options.commitEvents) {
      await this.options.commitEvents.publish(event).catch((error: unknown) => this.options.logger.warn({ table: table.name, error: describeError(error) }, 'commit event not published'));
    }
    this.options.onCommit?.(event);
  }

  /** Pauses the topics of tables holding two batches' worth, or every topic past the global budget; resumes the rest. */
  private backpressure(): void {
    if (!this.running) return;
    const budget = this.options.maxBufferedBytes ?? 512 * 1024 * 1024;
    let total = 0;
    for (const table of this.tables.values()) total += (table.pending?.bytes ?? 0) + (this.flushing.get(table)?.buffer.bytes ?? 0);
    for (const [topic, table] of this.topicTables) {
      const full = total >= budget || (this.flushing.has(table) && this.full(table.pending));
      if (full && !this.paused.has(topic)) {
        this.consumer.pause([{ topic }]);
        this.paused.add(topic);
        this.options.logger.debug({ topic, bufferedBytes: total }, 'paused: buffers full');
      } else if (!full && this.paused.has(topic)) {
        this.consumer.resume([{ topic }]);
        this.paused.delete(topic);
      }
    }
  }

  /**
   * Graceful stop: stops taking records, flushes and commits every batch, then leaves the group. (An abort is the
   * process exiting: what was not committed is read again on the next start.)
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.timer);
    await this.inBatch;
    for (const table of this.tables.values()) await this.flushTable(table);
    this.running = false;
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }
}
