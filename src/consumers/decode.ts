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
  /** One WriterSchema object per key field list (kept, so records share it). */
  readonly writerIds: Map<readonly string[] | null, WriterSchema>;
}

/** Decodes a topic's records; keeps every schema it has seen by id. */
export class RecordDecoder {
  private readonly cache: SchemaCache;
  private readonly avro = new Map<number, AvroWriter>();
  private readonly keys = new Map<number, CachedSchema>();
  private readonly keyFieldNames = new Map<number, readonly string[]>();
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
    const writer = { schema, row, writerIds: new Map() };
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

  /**
   * Decodes without waiting when every schema the record needs is known (the common case): the result, or the
   * DataInvalidError for a bad record; undefined when a schema must be fetched first (call decode()).
   */
  decodeKnown(record: KafkaRecord): DecodedRecord | DataInvalidError | undefined {
    const value = record.value;
    if (value === null || value.length < WIRE_HEADER_BYTES || value[0] !== 0) return undefined;
    const writer = this.avro.get(value.readInt32BE(1));
    const key = record.key;
    const keyId = key !== null && key.length >= WIRE_HEADER_BYTES && key[0] === 0 ? key.readInt32BE(1) : undefined;
    if (!writer || (key !== null && key.length > 0 && (keyId === undefined || !this.keys.has(keyId)))) return undefined;
    try {
      return this.decodeAvroWith(record, value, writer);
    } catch (error) {
      if (error instanceof DataInvalidError) return error;
      throw error;
    }
  }

  async decode(record: KafkaRecord): Promise<DecodedRecord> {
    const where = recordWhere(record);
    const value = record.value;
    if (value !== null && value.length > 0 && value[0] === 0) return this.decodeAvro(record, value, where);
    if (value === null || value.length === 0) {
      // A tombstone: its key says which format the topic uses.
      if (record.key && record.key.length > 0 && record.key[0] === 0) {
        const keyId = wireSchemaId(record.key);
        if (keyId !== undefined) await this.keySchema(keyId, where);
        const { key, fields } = this.decodeKey(record);
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
    const keyId = record.key && record.key.length > 0 ? wireSchemaId(record.key) : undefined;
    if (keyId !== undefined) await this.keySchema(keyId, where);
    return this.decodeAvroWith(record, value, writer);
  }

  /** Decodes a framed Avro record whose value schema (and key schema) are known. */
  private decodeAvroWith(record: KafkaRecord, value: Buffer, writer: AvroWriter): DecodedRecord {
    const id = writer.schema.id;
    let event: ChangeEvent;
    try {
      event = writer.schema.codec.fromBuffer(value.subarray(WIRE_HEADER_BYTES)) as ChangeEvent;
    } catch (error) {
      const where = recordWhere(record);
      throw new DataInvalidError(`${where}: cannot decode Avro with schema id ${id}: ${describeError(error)}`, { cause: error, context: { where, schemaId: id } });
    }
    validateChangeEvent(event, () => recordWhere(record));
    const { key, fields } = this.decodeKey(record);
    const writerId = writer.writerIds.get(fields) ?? writer.writerIds.set(fields, { format: 'avro', id: `avro:${id}`, schemaId: id, row: writer.row, keyFields: fields }).get(fields)!;
    return { event, key, writer: writerId };
  }

  /** The record's Avro key (its key schema already fetched) and the key record's field names; nulls without a key. */
  private decodeKey(record: KafkaRecord): { key: Record<string, unknown> | null; fields: readonly string[] | null } {
    if (record.key === null || record.key.length === 0) return { key: null, fields: null };
    const keyId = wireSchemaId(record.key);
    const schema = keyId === undefined ? undefined : this.keys.get(keyId);
    if (!schema) throw new DataInvalidError(`${recordWhere(record)}: the key is not schema-registry framed Avro (found ${record.key.length} bytes starting ${record.key.subarray(0, 5).toString('hex')})`, { context: { where: recordWhere(record) } });
    try {
      return { key: schema.codec.fromBuffer(record.key.subarray(WIRE_HEADER_BYTES)) as Record<string, unknown>, fields: this.keyFields(schema) };
    } catch (error) {
      throw new DataInvalidError(`${recordWhere(record)}: cannot decode the key with schema id ${keyId}: ${describeError(error)}`, { cause: error, context: { where: recordWhere(record), schemaId: keyId } });
    }
  }

  private keyFields(schema: CachedSchema): readonly string[] {
    let fields = this.keyFieldNames.get(schema.id);
    if (!fields) {
      fields = (schema.schema.fields as { name: string }[] | undefined)?.map((f) => f.name) ?? [];
      this.keyFieldNames.set(schema.id, fields);
    }
    return fields;
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
