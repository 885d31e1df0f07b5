// Access to the Confluent-compatible schema registry (Apicurio's ccompat API in the stack) through
// @kafkajs/confluent-schema-registry. Subjects follow the TopicNameStrategy: `<topic>-value` and `<topic>-key`.
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';

export interface RegistryOptions {
  url: string;
}

export function createRegistry(options: RegistryOptions): SchemaRegistry {
  return new SchemaRegistry({ host: options.url });
}

export const valueSubject = (topic: string): string => `${topic}-value`;
export const keySubject = (topic: string): string => `${topic}-key`;

/** Registers an Avro schema (given as its JSON object) under `subject`; returns the registry's schema id. */
export async function registerAvro(registry: SchemaRegistry, subject: string, schema: object): Promise<number> {
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject });
  return id;
}

export type { SchemaRegistry };
