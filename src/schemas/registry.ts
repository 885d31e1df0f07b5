// Access to the Confluent-compatible schema registry (Apicurio's ccompat API in the stack) through
// @kafkajs/confluent-schema-registry. Subjects follow the TopicNameStrategy: `<topic>-value` and `<topic>-key`.
// Schemas are kept as their raw JSON (the `field-id` attributes DuckHouse puts on fields must survive), and decoded
// with avro-codec.ts's conventions (bigint longs, unscaled-bigint decimals).
// Must never: log or echo registry credentials.
import { type COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { DataInvalidError, DuckHouseError } from '../shared/errors.js';
import { avroCodec, encodeFramed, registryAvroOptions, WIRE_HEADER_BYTES, wireSchemaId } from './avro-codec.js';

export interface RegistryOptions {
  url: string;
}

export function createRegistry(options: RegistryOptions): SchemaRegistry {
  return new SchemaRegistry({ host: options.url }, { [SchemaType.AVRO]: registryAvroOptions() });
}

export const valueSubject = (topic: string): string => `${topic}-value`;
export const keySubject = (topic: string): string => `${topic}-key`;

export interface RegisterOptions {
  /**
   * The subject's compatibility level, set on its first registration (default BACKWARD). CDC subjects use NONE:
   * Postgres already applied the change, so a refusal would only stop the stream; the sink applies Iceberg's rules.
   */
  compatibility?: COMPATIBILITY;
}

/** Registers an Avro schema (given as its JSON object) under `subject`; returns the registry's schema id. */
export async function registerAvro(registry: SchemaRegistry, subject: string, schema: object, options: RegisterOptions = {}): Promise<number> {
  try {
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject, ...(options.compatibility ? { compatibility: options.compatibility } : {}) });
    return id;
  } catch (error) {
    const level = options.compatibility ? ` (the subject needs compatibility ${options.compatibility})` : '';
    throw new DuckHouseError('schema-incompatible', `schema registry refused a new version of subject ${subject}: ${registryMessage(error)}${level}`, { cause: error, context: { subject } });
  }
}

function registryMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Api {
  Schema: { find(args: { id: number }): Promise<{ data(): { schema: string } }> };
  Subject: {
    latestVersion(args: { subject: string }): Promise<{ data(): { id: number; version: number; schema: string } }>;
    version(args: { subject: string; version: number }): Promise<{ data(): { id: number; version: number; schema: string } }>;
  };
}
const api = (registry: SchemaRegistry): Api => (registry as unknown as { api: Api }).api;

export interface RegisteredAvro {
  id: number;
  version: number;
  schema: Record<string, unknown>;
}

/** The latest version registered under `subject`, with its raw schema; undefined when the subject does not exist. */
export function latestAvro(registry: SchemaRegistry, subject: string): Promise<RegisteredAvro | undefined> {
  return avroVersion(registry, subject, 'latest');
}

/** Version `version` of `subject` with its raw schema; undefined when the subject or that version does not exist. */
export async function avroVersion(registry: SchemaRegistry, subject: string, version: number | 'latest'): Promise<RegisteredAvro | undefined> {
  try {
    const response = version === 'latest' ? await api(registry).Subject.latestVersion({ subject }) : await api(registry).Subject.version({ subject, version });
    const data = response.data();
    return { id: data.id, version: data.version, schema: JSON.parse(data.schema) as Record<string, unknown> };
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'status' in error && (error as { status: number }).status === 404) return undefined;
    throw new DuckHouseError('io', `schema registry: cannot read ${version === 'latest' ? 'the latest version' : `version ${version}`} of ${subject}: ${registryMessage(error)}`, { cause: error, retriable: true, context: { subject } });
  }
}

/** A schema known by id: its raw JSON and the codec that reads and writes values in DuckHouse's conventions. */
export interface CachedSchema {
  id: number;
  schema: Record<string, unknown>;
  codec: avro.Type;
}

/**
 * Fetches schemas by id once and keeps them (ids are immutable in a registry). `decode` reads a Confluent-framed
 * message and says which schema it used; `encode` frames a value.
 */
export class SchemaCache {
  private readonly byId = new Map<number, Promise<CachedSchema>>();

  constructor(readonly registry: SchemaRegistry) {}

  get(id: number): Promise<CachedSchema> {
    let entry = this.byId.get(id);
    if (!entry) {
      entry = api(this.registry)
        .Schema.find({ id })
        .then((response) => {
          const schema = JSON.parse(response.data().schema) as Record<string, unknown>;
          return { id, schema, codec: avroCodec(schema) };
        });
      entry.catch(() => this.byId.delete(id));
      this.byId.set(id, entry);
    }
    return entry;
  }

  /** Registers `schema` under `subject` (a no-op returning the same id when it is already there) and caches it. */
  async register(subject: string, schema: Record<string, unknown>, options: RegisterOptions = {}): Promise<CachedSchema> {
    const id = await registerAvro(this.registry, subject, schema, options);
    let entry = this.byId.get(id);
    if (!entry) {
      entry = Promise.resolve({ id, schema, codec: avroCodec(schema) });
      this.byId.set(id, entry);
    }
    return entry;
  }

  async decode(message: Buffer, where: string): Promise<{ value: unknown; schema: CachedSchema }> {
    const id = wireSchemaId(message);
    if (id === undefined) {
      throw new DataInvalidError(`${where}: not a schema-registry framed Avro message (expected magic byte 0 and a schema id, found ${message.length} bytes starting ${message.subarray(0, 5).toString('hex')})`, { context: { where } });
    }
    let schema: CachedSchema;
    try {
      schema = await this.get(id);
    } catch (error) {
      throw new DataInvalidError(`${where}: schema id ${id} is not in the registry: ${registryMessage(error)}`, { cause: error, context: { where, schemaId: id } });
    }
    try {
      return { value: schema.codec.fromBuffer(message.subarray(WIRE_HEADER_BYTES)), schema };
    } catch (error) {
      throw new DataInvalidError(`${where}: cannot decode Avro with schema id ${id}: ${registryMessage(error)}`, { cause: error, context: { where, schemaId: id } });
    }
  }

  static encode(schema: CachedSchema, value: unknown): Buffer {
    return encodeFramed(schema.codec, schema.id, value);
  }
}

export type { SchemaRegistry };
