// A batching sender on top of the idempotent kafkajs producer, shared by the CSV and CDC producers: messages are
// grouped into compressed batches (by count or bytes; `flush` sends a partial one), exactly one batch is in flight
// while the next one fills (kafkajs 2.2 can write a second concurrent sendBatch before the first: it awaits metadata
// before taking the broker lock and the idempotent sequence numbers), `send` applies backpressure, and acks are
// reported in send order, so a caller can confirm its source position (a CSV line, a Postgres LSN) only once
// everything before it is acknowledged.
// Must never: have two batches in flight, report an ack out of order, or count a message as acknowledged after a
// failed batch (the error surfaces on the next call).
import kafkajs, { type CompressionTypes as CompressionType, type IHeaders, type Producer } from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';

// kafkajs is CommonJS: its codec registry is only reachable through the default export under ESM.
const { CompressionCodecs, CompressionTypes } = kafkajs;
import { DuckHouseError } from '../../shared/errors.js';

export type Compression = 'gzip' | 'snappy' | 'none';

const COMPRESSION: Record<Compression, CompressionType> = {
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  none: CompressionTypes.None,
};

let snappyRegistered = false;
function registerCodecs(): void {
  if (snappyRegistered) return;
  (CompressionCodecs as Record<number, unknown>)[CompressionTypes.Snappy] = SnappyCodec;
  snappyRegistered = true;
}

export interface OutgoingMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  partition?: number;
  headers?: IHeaders;
}

export interface SenderOptions {
  /** Messages per batch (default 2,000). */
  batchMessages?: number;
  /** Payload bytes per batch before compression (default 512 KiB: brokers refuse record batches over 1 MiB). */
  batchBytes?: number;
  compression?: Compression;
}

export interface SenderStats {
  sent: number;
  acked: number;
  bytes: number;
  batches: number;
}

/** Called once all messages up to and including this one are acknowledged, in send order. */
export type AckCallback = () => void;

export class KafkaSender {
  readonly stats: SenderStats = { sent: 0, acked: 0, bytes: 0, batches: 0 };
  private readonly batchMessages: number;
  private readonly batchBytes: number;
  private readonly compression: CompressionType;
  private pending: OutgoingMessage[] = [];
  private pendingBytes = 0;
  private pendingCallbacks: AckCallback[] = [];
  /** The batch in flight (settles, never rejects: failures are kept in `failure`). */
  private inFlight: Promise<void> = Promise.resolve();
  /** Dispatches in call order: each one issues its request only after the previous one was issued and settled. */
  private issueChain: Promise<void> = Promise.resolve();
  /** The most recently dispatched batch: callbacks registered after it was dispatched run with its own. */
  private lastBatch: { callbacks: AckCallback[]; acked: boolean } | undefined;
  private failure: unknown;

  constructor(
    private readonly producer: Producer,
    options: SenderOptions = {},
  ) {
    registerCodecs();
    this.batchMessages = options.batchMessages ?? 2000;
    this.batchBytes = options.batchBytes ?? 512 * 1024;
    this.compression = COMPRESSION[options.compression ?? 'gzip'];
  }

  /**
   * Queues one message. Returns a promise only when a batch was dispatched and the caller must wait for room
   * (backpressure); `undefined` means keep going. `onAck` runs once the message is acknowledged.
   */
  send(message: OutgoingMessage, onAck?: AckCallback): Promise<void> | undefined {
    this.throwIfFailed();
    this.pending.push(message);
    this.pendingBytes += (message.key?.length ?? 0) + (message.value?.length ?? 0);
    if (onAck) this.pendingCallbacks.push(onAck);
    this.stats.sent++;
    if (this.pending.length >= this.batchMessages || this.pendingBytes >= this.batchBytes) return this.dispatch();
    return undefined;
  }

  /** Runs `callback` once every message queued so far is acknowledged. */
  onAcked(callback: AckCallback): void {
    if (this.pending.length > 0) this.pendingCallbacks.push(callback);
    else if (this.lastBatch && !this.lastBatch.acked) this.lastBatch.callbacks.push(callback);
    else if (this.failure === undefined) callback();
  }

  /** Sends what is queued and waits until every message sent so far is acknowledged (then all callbacks have run). */
  async flush(): Promise<void> {
    if (this.pending.length > 0) await this.dispatch();
    await this.issueChain;
    await this.inFlight;
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) {
      throw new DuckHouseError('io', `Kafka did not acknowledge a batch: ${this.failure instanceof Error ? this.failure.message : String(this.failure)}`, { cause: this.failure, retriable: true });
    }
  }

  /**
   * Queues the pending messages as the next batch: it is sent once every batch dispatched before it was sent and
   * settled (whoever calls dispatch, and however many wait), so exactly one request is in flight, in call order.
   * Resolves when this batch's request is issued (not acknowledged).
   */
  private dispatch(): Promise<void> {
    const messages = this.pending;
    const batch = { callbacks: this.pendingCallbacks, acked: false };
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingCallbacks = [];
    this.pendingBytes = 0;
    this.lastBatch = batch;
    const issue = async (): Promise<void> => {
      await this.inFlight;
      if (this.failure !== undefined) return;
      const byTopic = new Map<string, { key: Buffer | null; value: Buffer | null; partition?: number; headers?: IHeaders }[]>();
      for (const m of messages) {
        let list = byTopic.get(m.topic);
        if (!list) byTopic.set(m.topic, (list = []));
        list.push({ key: m.key, value: m.value, ...(m.partition === undefined ? {} : { partition: m.partition }), ...(m.headers ? { headers: m.headers } : {}) });
      }
      const request = this.producer.sendBatch({
        acks: -1,
        compression: this.compression,
        topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list })),
      });
      this.inFlight = request.then(
        () => {
          // Batches settle one after another, so acks are reported in send order.
          if (this.failure !== undefined) return;
          this.stats.acked += messages.length;
          this.stats.bytes += bytes;
          this.stats.batches++;
          batch.acked = true;
          for (const callback of batch.callbacks) callback();
        },
        (error: unknown) => {
          this.failure ??= error;
        },
      );
    };
    this.issueChain = this.issueChain.then(issue);
    return this.issueChain.then(() => this.throwIfFailed());
  }
}
