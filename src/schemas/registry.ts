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

/** Listing and deleting subjects, for tools that remove what a tenant owns (tenants/lifecycle.ts). */
export interface SubjectAdmin {
  /** Every subject, soft-deleted ones included (so a deletion cut short can be finished). */
  listSubjects(): Promise<string[]>;
  /** Deletes every version of a subject for good (soft, then permanent); false when it did not exist. */
  deleteSubject(subject: string): Promise<boolean>;
}

/** Confluent error codes: subject not found, subject already soft-deleted. */
const SUBJECT_NOT_FOUND = 40401;
const SUBJECT_SOFT_DELETED = 40404;

/** A SubjectAdmin over the registry's Confluent REST API (the client library has no delete). */
export function subjectAdmin(options: RegistryOptions): SubjectAdmin {
  const base = options.url.replace(/\/+$/, '');
  const call = async (method: 'GET' | 'DELETE', path: string, what: string): Promise<{ status: number; body: unknown }> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, { method, headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' } });
    } catch (error) {
      throw new DuckHouseError('io', `schema registry: cannot ${what}: ${registryMessage(error)}`, { cause: error, retriable: true });
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the message
    }
    return { status: response.status, body };
  };
  const errorCode = (body: unknown): number | undefined => (typeof body === 'object' && body !== null && 'error_code' in body ? Number((body as { error_code: unknown }).error_code) : undefined);
  const fail = (what: string, status: number, body: unknown): DuckHouseError =>
    new DuckHouseError('io', `schema registry: cannot ${what}: HTTP ${status} ${typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body).slice(0, 200)}`, { retriable: status >= 500 });
  return {
    async listSubjects() {
      const { status, body } = await call('GET', '/subjects?deleted=true', 'list subjects');
      if (status !== 200 || !Array.isArray(body)) throw fail('list subjects', status, body);
      return body.map(String);
    },
    async deleteSubject(subject) {
      const path = `/subjects/${encodeURIComponent(subject)}`;
      const soft = await call('DELETE', path, `delete subject ${subject}`);
      if (soft.status === 404 && errorCode(soft.body) === SUBJECT_NOT_FOUND) return false;
      if (soft.status !== 200 && !(soft.status === 404 && errorCode(soft.body) === SUBJECT_SOFT_DELETED)) throw fail(`delete subject ${subject}`, soft.status, soft.body);
      const hard = await call('DELETE', `${path}?permanent=true`, `delete subject ${subject}`);
      if (hard.status === 200 || (hard.status === 404 && errorCode(hard.body) === SUBJECT_NOT_FOUND)) return true;
      throw fail(`delete subject ${subject} permanently`, hard.status, hard.body);
    },
  };
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
