// Streams changes from the replication slot (pg-logical-replication, pgoutput proto_version 1) into the Publisher, one
// message at a time in WAL order, and confirms positions to Postgres only as ConfirmTracker allows (Kafka acked every
// event up to that commit). Pitfalls of pg-logical-replication 2.5 handled here (see docs/cdc.md):
// - its pgoutput parser runs pg's global type parsers (Dates in local time, int8 as string): every column's parser is
//   replaced by the identity, so values reach pg-text.ts as Postgres's exact text;
// - `acknowledge(lsn)` reports lsn + 1 as flushed: we pass (position - 1) so Postgres sees exactly the commit end LSN
//   (one byte more would skip a transaction whose commit record starts right there on the next start);
// - its automatic acknowledgements (each message, and a timer with the last received LSN) would confirm events Kafka
//   has not acknowledged: both are off (`auto: false`, `timeoutSeconds: 0`), status updates are sent from here;
// - with flow control its keepalive events overtake queued data: a keepalive advances the position only when every
//   parsed message has been handled.
// Must never: confirm a position past an event Kafka has not acknowledged; keep going after a failed send.
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import type pg from 'pg';
import type { Logger } from 'pino';
import { DuckHouseError } from '../../shared/errors.js';
import { deleteEvents, insertEvents, type Outgoing, Positioner, type TransactionInfo, truncateEvents, updateEvents } from './change-events.js';
import { type PgSource, primaryKey, slotInUseError, tableColumns } from './catalog.js';
import { ConfirmTracker } from './confirm-tracker.js';
import { formatLsn, parseLsn } from './lsn.js';
import type { Publisher, TableChannel } from './publisher.js';
import type { PgTuple, TableShape } from './row-schema.js';

const identity = (raw: unknown): unknown => raw;

/** pgoutput with raw text values, counting the messages it has parsed (received, maybe not yet handled). */
class RawTextPgoutputPlugin extends PgoutputPlugin {
  received = 0;

  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer);
    this.received++;
    // The Relation object is cached by the parser and used for the tuples that follow: give it raw-text parsers.
    if (message.tag === 'relation') for (const column of message.columns) column.parser = identity;
    return message;
  }
}

export interface StreamOptions {
  source: PgSource;
  slot: string;
  publication: string;
  /** The slot's confirmed_flush_lsn: where streaming resumes. */
  startLsn: bigint;
  channels: TableChannel[];
  publisher: Publisher;
  /** A regular connection for catalog lookups (NOT NULL and key of a table whose shape changed). */
  meta: pg.Client;
  logger: Logger;
  /** Called once when the stream fails (lost connection, Kafka refused a batch, …). */
  onFatal: (error: Error) => void;
  /** How often to send a status update even when nothing changed (default 10 s). */
  statusIntervalMs?: number;
  /** How long a commit's messages may wait for more to share their Kafka batch (default 5 ms). */
  lingerMs?: number;
}

export interface StreamStats {
  transactions: number;
  events: number;
  receivedLsn: bigint;
}

export class ReplicationStream {
  readonly tracker: ConfirmTracker;
  readonly stats: StreamStats = { transactions: 0, events: 0, receivedLsn: 0n };
  private readonly service: LogicalReplicationService;
  private readonly plugin: RawTextPgoutputPlugin;
  private readonly byOid = new Map<number, TableChannel>();
  private readonly positions = new Positioner();
  private tx: TransactionInfo | undefined;
  private handled = 0;
  private current: Promise<void> = Promise.resolve();
  private stopping = false;
  private failed = false;
  private statusSent = 0n;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastStatusAt = 0;
  private heartbeatWaiters: (() => void)[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private subscription: Promise<unknown> | undefined;

  constructor(private readonly options: StreamOptions) {
    this.tracker = new ConfirmTracker(options.startLsn);
    this.statusSent = options.startLsn;
    for (const channel of options.channels) this.byOid.set(channel.oid, channel);
    this.plugin = new RawTextPgoutputPlugin({ protoVersion: 1, publicationNames: [options.publication] });
    this.service = new LogicalReplicationService(options.source.config, { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } });
  }

  /** Starts streaming from the slot; resolves once Postgres streams (rejects when the slot is in use, …). */
  async start(): Promise<void> {
    const { service } = this;
    let started = false;
    service.on('data', (lsn: string, message: Pgoutput.Message) => {
      this.current = this.handle(lsn, message);
      return this.current;
    });
    service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) => this.heartbeat(lsn, shouldRespond));
    // Before the stream starts, a failure rejects start() instead (subscribe() rejects with it too).
    service.on('error', (error: Error) => {
      if (started) this.fail(this.streamError(error));
    });
    await new Promise<void>((resolve, reject) => {
      service.once('start', () => {
        started = true;
        resolve();
      });
      this.subscription = service.subscribe(this.plugin, this.options.slot, formatLsn(this.options.startLsn)).then(
        () => {
          if (!this.stopping) this.fail(new DuckHouseError('io', `the replication stream of slot ${this.options.slot} ended without being stopped`, { retriable: true }));
        },
        (error: unknown) => {
          const failure = this.streamError(error);
          if (started) return this.fail(failure);
          this.stopping = true;
          void this.close();
          reject(failure);
        },
      );
    });
    this.statusTimer = setInterval(() => {
      const interval = this.options.statusIntervalMs ?? 10_000;
      if (this.tracker.confirmed > this.statusSent || Date.now() - this.lastStatusAt >= interval) void this.sendStatus(false);
    }, 500);
  }

  private streamError(error: unknown): Error {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === '55006') return slotInUseError(this.options.slot, /PID (\d+)/.exec(message)?.[1] ?? null, this.options.source);
    return new DuckHouseError('io', `replication from slot ${this.options.slot} in Postgres at ${this.options.source.where} failed: ${message}`, { cause: error, retriable: true });
  }

  private async handle(lsnText: string, message: Pgoutput.Message): Promise<void> {
    try {
      if (this.stopping || this.failed) return;
      const lsn = parseLsn(lsnText, 'XLogData');
      if (lsn > this.stats.receivedLsn) this.stats.receivedLsn = lsn;
      switch (message.tag) {
        case 'begin':
          this.tx = { xid: BigInt(message.xid >>> 0), commitLsn: parseLsn(message.commitLsn ?? lsnText, 'Begin'), commitTimeMs: BigInt(message.commitTime as unknown as bigint) / 1000n };
          this.positions.reset();
          break;
        case 'relation':
          await this.relation(message);
          break;
        case 'insert':
          await this.emit(message.relation, (ch, tx) => insertEvents(ch.ctx, tx, lsn, this.positions, message.new as PgTuple));
          break;
        case 'update':
          await this.emit(message.relation, (ch, tx) => updateEvents(ch.ctx, tx, lsn, this.positions, { old: message.old as PgTuple | null, key: message.key as PgTuple | null, new: message.new as PgTuple }));
          break;
        case 'delete':
          await this.emit(message.relation, (ch, tx) => deleteEvents(ch.ctx, tx, lsn, this.positions, { old: message.old as PgTuple | null, key: message.key as PgTuple | null }));
          break;
        case 'truncate':
          for (const relation of message.relations) await this.emit(relation, (ch, tx) => truncateEvents(ch.ctx, tx, lsn, this.positions));
          break;
        case 'commit':
          this.tracker.commit(parseLsn(message.commitEndLsn ?? lsnText, 'Commit'));
          this.tx = undefined;
          this.stats.transactions++;
          this.scheduleFlush();
          break;
        default:
          break;
      }
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.handled++;
    }
  }

  /**
   * The sender sends a batch when it is full; a committed transaction must not wait for that (its confirmation
   * waits on the ack): within `lingerMs` of a commit, whatever is queued is sent. Commits of a burst share batches.
   */
  private scheduleFlush(): void {
    if (this.flushTimer || this.tracker.pending === 0) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.options.publisher.sender.flush().catch((error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))));
    }, this.options.lingerMs ?? 5);
  }

  private channel(relation: { relationOid: number; schema: string; name: string } | undefined): TableChannel | undefined {
    if (!relation) return undefined;
    const known = this.byOid.get(relation.relationOid);
    if (known) return known;
    // A table dropped and created again under the same name has a new OID.
    const named = this.options.channels.find((c) => c.ref.schema === relation.schema && c.ref.table === relation.name);
    if (named) this.byOid.set(relation.relationOid, named);
    return named;
  }

  private async emit(relation: Pgoutput.MessageRelation | undefined, build: (channel: TableChannel, tx: TransactionInfo) => Outgoing[]): Promise<void> {
    const channel = this.channel(relation);
    if (!channel) return;
    if (!this.tx) throw new DuckHouseError('internal', `pgoutput sent a change of ${channel.name} outside a transaction`);
    const items = build(channel, this.tx);
    this.stats.events += items.filter((i) => i.kind !== 'tombstone').length;
    await this.options.publisher.publish(channel, items, () => this.tracker.message());
  }

  /** A Relation message: the table's columns now; NOT NULL and the key come from the catalog. */
  private async relation(message: Pgoutput.MessageRelation): Promise<void> {
    const channel = this.channel(message);
    if (!channel) return;
    const [catalogColumns, key] = await Promise.all([tableColumns(this.options.meta, message.relationOid), primaryKey(this.options.meta, message.relationOid)]);
    const notNull = new Map(catalogColumns.map((c) => [c.name, c.notNull]));
    const primary = key.length > 0 && key.every((k) => message.columns.some((c) => c.name === k)) ? key : channel.ctx.codec.shape.primaryKey;
    const shape: TableShape = {
      columns: message.columns.map((c) => ({ name: c.name, typeOid: c.typeOid, typeMod: c.typeMod, notNull: notNull.get(c.name) ?? false })),
      primaryKey: primary,
    };
    await this.options.publisher.reshape(channel, shape);
  }

  private heartbeat(lsnText: string, shouldRespond: boolean): void {
    // Every message parsed before this keepalive has been handled, no transaction is open: nothing before it is pending.
    if (!this.stopping && !this.failed && this.tx === undefined && this.plugin.received === this.handled) {
      this.tracker.idleAt(parseLsn(lsnText, 'keepalive'));
    }
    if (shouldRespond) void this.sendStatus(false);
    const waiters = this.heartbeatWaiters;
    this.heartbeatWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Tells Postgres the confirmed position (flush = write = apply). */
  private async sendStatus(ping: boolean): Promise<void> {
    if (this.failed) return;
    const position = this.tracker.confirmed;
    this.lastStatusAt = Date.now();
    this.statusSent = position;
    try {
      await this.service.acknowledge(formatLsn(position - 1n), ping);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not send a status update to Postgres');
    }
  }

  get confirmedLsn(): bigint {
    return this.tracker.confirmed;
  }

  /** Stops taking changes, waits until Kafka acknowledged what was sent, confirms it, and closes the stream. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.current;
    try {
      if (!this.failed) {
        await this.options.publisher.sender.flush();
        // Ask for a reply: the keepalive that answers comes after Postgres processed the confirmation.
        const answered = new Promise<void>((resolve) => {
          this.heartbeatWaiters.push(resolve);
          setTimeout(resolve, 3000).unref();
        });
        await this.sendStatus(true);
        await answered;
      }
    } finally {
      await this.close();
    }
  }

  private async close(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.statusTimer = undefined;
    await this.service.stop().catch(() => undefined);
    await this.subscription?.catch(() => undefined);
    this.service.removeAllListeners();
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    const wasStopping = this.stopping;
    this.stopping = true;
    void this.close();
    if (!wasStopping) this.options.onFatal(error);
  }
}
