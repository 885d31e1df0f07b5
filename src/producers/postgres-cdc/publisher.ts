// Turns the CDC producer's outgoing items into Kafka messages: registers each table's `<topic>-value` (the change
// envelope around the `Value` row) and `<topic>-key` schemas whenever the table's shape changes, encodes keys and
// envelopes as Confluent-framed Avro, sends truncates to every partition, and writes dead letters for events that
// cannot be converted or encoded, all through the one KafkaSender (one batch in flight, so topic order is send order).
// Must never: send an event of a table before the schema of its current shape is registered; drop an event without a
// dead letter.
import { COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import type { Logger } from 'pino';
import { avroNamespace, envelopeAvroSchema } from '../../schemas/envelope.js';
import { producerAcked } from '../../shared/metrics.js';
import { type CachedSchema, keySubject, SchemaCache, valueSubject } from '../../schemas/registry.js';
import { deadLetter, deadLetterMessage } from '../dead-letter.js';
import type { KafkaSender, OutgoingMessage } from '../kafka/sender.js';
import type { Outgoing, TableContext } from './change-events.js';
import { formatLsn } from './lsn.js';
import { type TableRef, tableName } from './names.js';
import { RowCodec, type TableShape } from './row-schema.js';
import { RowSchemaHistory } from './schema-versions.js';

export interface TableStats {
  snapshot: number;
  inserts: number;
  updates: number;
  deletes: number;
  truncates: number;
  tombstones: number;
  deadLetters: number;
  /** Value schema ids this run registered or reused, in order. */
  schemaIds: number[];
}

/** One published table: its topic, current shape and registered schemas. */
export interface TableChannel {
  ref: TableRef;
  name: string;
  oid: number;
  topic: string;
  partitions: number;
  ctx: TableContext;
  value: CachedSchema;
  key: CachedSchema;
  stats: TableStats;
}

export interface PublisherOptions {
  sender: KafkaSender;
  cache: SchemaCache;
  dlqTopic: string;
  logger: Logger;
  /** Producer name and database, for `source`. */
  name: string;
  db: string;
  tombstones: boolean;
}

const emptyStats = (): TableStats => ({ snapshot: 0, inserts: 0, updates: 0, deletes: 0, truncates: 0, tombstones: 0, deadLetters: 0, schemaIds: [] });

export class Publisher {
  private readonly history: RowSchemaHistory;

  constructor(private readonly options: PublisherOptions) {
    this.history = new RowSchemaHistory(options.cache.registry);
  }

  get sender(): KafkaSender {
    return this.options.sender;
  }

  /** Registers the table's schemas for `shape` and returns its channel. */
  async open(ref: TableRef, oid: number, topic: string, partitions: number, shape: TableShape): Promise<TableChannel> {
    const codec = new RowCodec(shape, tableName(ref));
    const { value, key } = await this.register(topic, codec);
    const ctx: TableContext = { name: this.options.name, db: this.options.db, schema: ref.schema, table: ref.table, codec, tombstones: this.options.tombstones, now: () => BigInt(Date.now()) };
    const channel: TableChannel = { ref, name: tableName(ref), oid, topic, partitions, ctx, value, key, stats: emptyStats() };
    channel.stats.schemaIds.push(value.id);
    return channel;
  }

  /** A new shape of the table (a Relation message): registers a new schema version when it differs. */
  async reshape(channel: TableChannel, shape: TableShape): Promise<boolean> {
    const codec = new RowCodec(shape, channel.name);
    if (codec.shapeKey === channel.ctx.codec.shapeKey) return false;
    const { value, key } = await this.register(channel.topic, codec);
    channel.ctx = { ...channel.ctx, codec };
    channel.value = value;
    channel.key = key;
    if (channel.stats.schemaIds.at(-1) !== value.id) channel.stats.schemaIds.push(value.id);
    this.options.logger.info({ table: channel.name, topic: channel.topic, valueSchemaId: value.id, keySchemaId: key.id, columns: codec.columns.map((c) => `${c.pgName}: ${c.codec.describe}`) }, 'table shape changed: schema registered');
    return true;
  }

  private async register(topic: string, codec: RowCodec): Promise<{ value: CachedSchema; key: CachedSchema }> {
    const { cache } = this.options;
    const subject = valueSubject(topic);
    const row = await this.history.annotate(subject, codec.valueRecord(avroNamespace(topic)));
    // NONE: Postgres already applied the change; a refused version would only stop the stream (the sink decides).
    const valueSchema = await cache.register(subject, envelopeAvroSchema(row) as unknown as Record<string, unknown>, { compatibility: COMPATIBILITY.NONE });
    const keySchema = await cache.register(keySubject(topic), codec.keyRecord(row) as unknown as Record<string, unknown>, { compatibility: COMPATIBILITY.NONE });
    return { value: valueSchema, key: keySchema };
  }

  /** Sends the items in order; `onAck` (if given) makes one ack callback per Kafka message. Counted once acknowledged. */
  async publish(channel: TableChannel, items: readonly Outgoing[], onAck?: () => () => void): Promise<void> {
    const { sender, dlqTopic } = this.options;
    let sent = 0;
    let rejected = 0;
    for (const item of items) {
      const messages = this.messages(channel, item);
      for (const message of messages) {
        if (message.topic === dlqTopic) rejected++;
        else sent++;
        await sender.send(message, onAck?.());
      }
    }
    if (sent + rejected > 0) sender.onAcked(() => producerAcked('cdc', channel.topic, sent, rejected));
  }

  private messages(channel: TableChannel, item: Outgoing): OutgoingMessage[] {
    const { stats } = channel;
    if (item.kind === 'tombstone') {
      stats.tombstones++;
      return [{ topic: channel.topic, key: SchemaCache.encode(channel.key, item.key), value: null }];
    }
    if (item.kind === 'dead-letter') {
      stats.deadLetters++;
      this.options.logger.warn({ table: channel.name, op: item.op, column: item.column, lsn: item.lsn === null ? null : formatLsn(item.lsn), reason: item.reason }, 'change sent to the dead-letter topic');
      return [this.deadLetterMessage(channel, item)];
    }
    let key: Buffer | null;
    let value: Buffer;
    try {
      key = item.key === null ? null : SchemaCache.encode(channel.key, item.key);
      value = SchemaCache.encode(channel.value, item.event);
    } catch (error) {
      const reason = `${channel.name}: cannot encode the ${item.event.op} event with schema ${channel.value.id}: ${error instanceof Error ? error.message : String(error)}`;
      const raw = JSON.stringify({ key: item.key, before: item.event.before, after: item.event.after }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      return this.messages(channel, { kind: 'dead-letter', op: item.event.op, reason, column: null, raw, lsn: item.event.source.lsn, sequence: item.event.source.sequence });
    }
    switch (item.event.op) {
      case 'r':
        stats.snapshot++;
        break;
      case 'c':
        stats.inserts++;
        break;
      case 'u':
        stats.updates++;
        break;
      case 'd':
        stats.deletes++;
        break;
      case 't':
        stats.truncates++;
        break;
    }
    if (!item.allPartitions) return [{ topic: channel.topic, key, value }];
    return Array.from({ length: channel.partitions }, (_, partition) => ({ topic: channel.topic, key, value, partition }));
  }

  private deadLetterMessage(channel: TableChannel, item: Extract<Outgoing, { kind: 'dead-letter' }>): OutgoingMessage {
    const letter = deadLetter({
      kind: 'cdc-value',
      message: item.reason,
      table: channel.name,
      column: item.column,
      topic: channel.topic,
      lsn: item.lsn === null ? null : formatLsn(item.lsn),
      raw: item.raw ?? '',
    });
    const message = deadLetterMessage(letter);
    return {
      topic: this.options.dlqTopic,
      key: message.key,
      value: message.value,
      headers: { ...message.headers, 'duckhouse.reason': item.reason.slice(0, 1000), 'duckhouse.op': item.op, ...(item.sequence ? { 'duckhouse.sequence': item.sequence } : {}) },
    };
  }
}
