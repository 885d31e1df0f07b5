// Record decoding for the sink: a Kafka message becomes a ChangeEvent (schemas/envelope.ts) plus the schema it was
// written with. Values framed for the schema registry (magic byte 0) are Avro change envelopes from DuckHouse's
// producers; values starting with `{` are JSON change envelopes from an external Debezium (JsonConverter, with or
// without schemas). A null value is a tombstone.
// Must never: throw anything but DataInvalidError for bad input (the message names topic, partition and offset), or
// call the registry for a schema id it already has.
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { DataInvalidError, describeError } from '../shared/errors.js';
import { WIRE_HEADER_BYTES, wireSchemaId } from '../schemas/avro-codec.js';
import type { ConnectSchema } from '../schemas/debezium-json.js';
import { parseDebeziumJson } from '../schemas/debezium-json.js';
import type { AvroRecordSchema, ChangeEvent } from '../schemas/envelope.js';
import { rowSchemaOfEnvelope, validateChangeEvent } from '../schemas/envelope.js';
import type { CachedSchema } from '../schemas/registry.js';
import { SchemaCache } from '../schemas/registry.js';

/** One consumed Kafka message, as the sink keeps it. */
export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Producer timestamp, ms since the epoch. */
  readonly timestampMs: number;
}

export const recordWhere = (r: Pick<KafkaRecord, 'topic' | 'partition' | 'offset'>): string => `topic ${r.topic} partition ${r.partition} offset ${r.offset}`;

/** The schema a record was written with: what the table must be able to take. */
export type WriterSchema =
  | { readonly format: 'avro'; readonly id: string; readonly schemaId: number; readonly row: AvroRecordSchema; readonly keyFields: readonly string[] | null }
  | { readonly format: 'json'; readonly id: string; readonly valueSchema: ConnectSchema | null; readonly keyFields: readonly string[] | null };

export interface DecodedRecord {
  /** null for a tombstone. */
  readonly event: ChangeEvent | null;
  /** The decoded Kafka key (its columns), when there is one. */
  readonly key: Record<string, unknown> | null;
  readonly writer: WriterSchema;
}

interface AvroWriter {
  readonly schema: CachedSchema;
  readonly row: AvroRecordSchema;
}

/** Decodes a topic's records; keeps every schema it has seen by id. */
export class RecordDecoder {
  private readonly cache: SchemaCache;
  private readonly avro = new Map<number, AvroWriter>();
  private readonly keys = new Map<number, CachedSchema>();
  private readonly jsonWriters = new Map<string, WriterSchema>();

  constructor(registry: SchemaRegistry) {
    this.cache = new SchemaCache(registry);
  }

  private async avroWriter(id: number, where: string): Promise<AvroWriter> {
    const known = this.avro.get(id);
    if (known) return known;
    let schema: CachedSchema;
    try {
      schema = await this.cache.get(id);
    } catch (error) {
      throw new DataInvalidError(`${where}: schema id ${id} is not in the registry (${describeError(error)})`, { cause: error, context: { where, schemaId: id } });
    }
    const row = rowSchemaOfEnvelope(schema.schema as unknown as AvroRecordSchema, `${where}, schema id ${id}`);
    const writer = { schema, row };
    this.avro.set(id, writer);
    return writer;
  }

  private async keySchema(id: number, where: string): Promise<CachedSchema> {
    const known = this.keys.get(id);
    if (known) return known;
    try {
      const schema = await this.cache.get(id);
      this.keys.set(id, schema);
      return schema;
    } catch (error) {
      throw new DataInvalidError(`${where}: key schema id ${id} is not in the registry (${describeError(error)})`, { cause: error, context: { where, schemaId: id } });
    }
  }

  private async decodeAvroKey(key: Buffer | null, where: string): Promise<{ key: Record<string, unknown> | null; fields: string[] | null }> {
    if (key === null || key.length === 0) return { key: null, fields: null };
    const id = wireSchemaId(key);
    if (id === undefined) throw new DataInvalidError(`${where}: the key is not schema-registry framed Avro (found ${key.length} bytes starting ${key.subarray(0, 5).toString('hex')})`, { context: { where } });
    const schema = await this.keySchema(id, where);
    let value: unknown;
    try {
      value = schema.codec.fromBuffer(key.subarray(WIRE_HEADER_BYTES));
    } catch (error) {
      throw new DataInvalidError(`${where}: cannot decode the key with schema id ${id}: ${describeError(error)}`, { cause: error, context: { where, schemaId: id } });
    }
    const fields = (schema.schema.fields as { name: string }[] | undefined)?.map((f) => f.name) ?? [];
    return { key: value as Record<string, unknown>, fields };
  }

  async decode(record: KafkaRecord): Promise<DecodedRecord> {
    const where = recordWhere(record);
    const value = record.value;
    if (value !== null && value.length > 0 && value[0] === 0) return this.decodeAvro(record, value, where);
    if (value === null || value.length === 0) {
      // A tombstone: its key says which format the topic uses.
      if (record.key && record.key.length > 0 && record.key[0] === 0) {
        const { key, fields } = await this.decodeAvroKey(record.key, where);
        return { event: null, key, writer: { format: 'json', id: 'tombstone', valueSchema: null, keyFields: fields } };
      }
      return this.decodeJson(record, where);
    }
    if (value[0] === 0x7b /* { */ || value[0] === 0x20 || value[0] === 0x0a) return this.decodeJson(record, where);
    throw new DataInvalidError(`${where}: expected a schema-registry framed Avro value (first byte 0) or a JSON Debezium envelope (first byte "{"), found ${value.length} bytes starting ${value.subarray(0, 8).toString('hex')}`, { context: { where } });
  }

  private async decodeAvro(record: KafkaRecord, value: Buffer, where: string): Promise<DecodedRecord> {
    const id = wireSchemaId(value);
    if (id === undefined) throw new DataInvalidError(`${where}: a framed Avro value needs at least 5 bytes, found ${value.length}`, { context: { where } });
    const writer = await this.avroWriter(id, where);
    let event: ChangeEvent;
    try {
      event = writer.schema.codec.fromBuffer(value.subarray(WIRE_HEADER_BYTES)) as ChangeEvent;
    } catch (error) {
      throw new DataInvalidError(`${where}: cannot decode Avro with schema id ${id}: ${describeError(error)}`, { cause: error, context: { where, schemaId: id } });
    }
    validateChangeEvent(event, where);
    const { key, fields } = await this.decodeAvroKey(record.key, where);
    return { event, key, writer: { format: 'avro', id: `avro:${id}`, schemaId: id, row: writer.row, keyFields: fields } };
  }

  private decodeJson(record: KafkaRecord, where: string): DecodedRecord {
    const message = parseDebeziumJson(record.key, record.value, where);
    const keyFields = message.keySchema ? (message.keySchema.fields ?? []).map((f) => f.field ?? '') : message.key ? Object.keys(message.key) : null;
    const schemaText = message.valueSchema ? JSON.stringify(message.valueSchema) : '';
    const id = `json:${schemaText}|${keyFields?.join(',') ?? ''}`;
    let writer = this.jsonWriters.get(id);
    if (!writer) {
      writer = { format: 'json', id, valueSchema: message.valueSchema, keyFields };
      this.jsonWriters.set(id, writer);
    }
    return { event: message.event, key: message.key, writer };
  }
}
