// KafkaSender with exactly one batch in flight. KafkaSender (shared with the CSV producer) lets a second sendBatch start
// while one is in flight, and kafkajs 2.2 can then write the second batch first: sendMessages awaits metadata
// (addMultipleTargetTopics / refreshMetadataIfNecessary) before it takes the broker lock and the idempotent sequence
// numbers. Acks are still reported in order, but the topic order breaks, and CDC events must be in WAL order in each
// partition (measured: after a restart, a replayed transaction landed behind later ones). Here the inner sender never
// sends on its own (unbounded batch limits); batches go out through flush() calls that run one after the other.
// Must never: have two batches in flight; let the queue grow past the batch limits without waiting.
import type { Producer } from 'kafkajs';
import { type AckCallback, type Compression, KafkaSender, type OutgoingMessage, type SenderStats } from '../kafka/sender.js';

export interface SerialSenderOptions {
  compression?: Compression;
  /** Messages per batch (default 2,000). */
  batchMessages?: number;
  /** Payload bytes per batch before compression (default 512 KiB: brokers refuse record batches over 1 MiB). */
  batchBytes?: number;
}

export class SerialSender {
  private readonly inner: KafkaSender;
  private readonly batchMessages: number;
  private readonly batchBytes: number;
  private queuedMessages = 0;
  private queuedBytes = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(producer: Producer, options: SerialSenderOptions = {}) {
    this.inner = new KafkaSender(producer, { compression: options.compression ?? 'gzip', batchMessages: Number.POSITIVE_INFINITY, batchBytes: Number.POSITIVE_INFINITY });
    this.batchMessages = options.batchMessages ?? 2000;
    this.batchBytes = options.batchBytes ?? 512 * 1024;
  }

  get stats(): SenderStats {
    return this.inner.stats;
  }

  /**
   * Queues a message. When a batch is full it is sent as soon as the batch before it is acknowledged, and send waits
   * for that moment (backpressure): one batch in flight while the next one fills.
   */
  async send(message: OutgoingMessage, onAck?: AckCallback): Promise<void> {
    await this.inner.send(message, onAck);
    this.queuedMessages++;
    this.queuedBytes += (message.key?.length ?? 0) + (message.value?.length ?? 0);
    if (this.queuedMessages >= this.batchMessages || this.queuedBytes >= this.batchBytes) {
      const previous = this.chain;
      // A failure stays in the inner sender and is thrown by the next send or flush.
      this.flush().catch(() => undefined);
      await previous;
    }
  }

  /** Sends what is queued once the batch before it is acknowledged; resolves when all of it is acknowledged. */
  flush(): Promise<void> {
    const run = async (): Promise<void> => {
      this.queuedMessages = 0;
      this.queuedBytes = 0;
      await this.inner.flush();
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
