// Field ids for a table's row shape, from the value subject's registered versions. A shape equal to a version that is
// still "live" (every newer version also has all of the shape's columns) reuses that version's ids exactly, so a restart
// that replays WAL from before a schema change publishes the old shape with its old schema again (and the new one after
// it, with its ids). Any other shape continues the latest version (withStableFieldIds: same name → same id, new columns
// get fresh ids above every id ever used, so a column dropped and added again gets a new id).
// Must never: give a re-added column the id of a dropped one; give a kept column a new id.
import { COMPATIBILITY, type SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { type AvroRecordSchema, rowSchemaOfEnvelope } from '../../schemas/envelope.js';
import { withStableFieldIds } from '../../schemas/field-ids.js';
import { type CachedSchema, latestAvro, type SchemaCache } from '../../schemas/registry.js';
import { DuckHouseError } from '../../shared/errors.js';
import { sameRowShape } from './row-schema.js';

interface SubjectApi {
  Subject: { version(args: { subject: string; version: number }): Promise<{ data(): { schema: string } }> };
}

export class RowSchemaHistory {
  /** `subject@version` → its row (versions are immutable); null when the version is gone. */
  private readonly rows = new Map<string, AvroRecordSchema | null>();

  constructor(private readonly registry: SchemaRegistry) {}

  /** The annotated row schema to register for `draft` (a row record without ids) under value subject `subject`. */
  async annotate(subject: string, draft: AvroRecordSchema): Promise<AvroRecordSchema> {
    const latest = await latestAvro(this.registry, subject);
    if (!latest) return withStableFieldIds(draft);
    const latestRow = rowSchemaOfEnvelope(latest.schema as AvroRecordSchema, `schema registry subject ${subject} version ${latest.version}`);
    this.rows.set(`${subject}@${latest.version}`, latestRow);
    const names = draft.fields.map((f) => f.name);
    for (let version = latest.version; version >= 1; version--) {
      const row = await this.row(subject, version);
      if (!row) continue;
      if (sameRowShape(row, draft)) return row;
      const has = new Set(row.fields.map((f) => f.name));
      if (!names.every((n) => has.has(n))) break;
    }
    return withStableFieldIds(draft, latestRow);
  }

  private async row(subject: string, version: number): Promise<AvroRecordSchema | null> {
    const key = `${subject}@${version}`;
    if (this.rows.has(key)) return this.rows.get(key) ?? null;
    let schema: AvroRecordSchema | undefined;
    try {
      const api = (this.registry as unknown as { api: SubjectApi }).api;
      schema = JSON.parse((await api.Subject.version({ subject, version })).data().schema) as AvroRecordSchema;
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status !== 404) throw new DuckHouseError('io', `schema registry: cannot read version ${version} of ${subject}: ${error instanceof Error ? error.message : String(error)}`, { cause: error, retriable: true });
    }
    const row = schema ? rowSchemaOfEnvelope(schema, `schema registry subject ${subject} version ${version}`) : null;
    this.rows.set(key, row);
    return row;
  }
}

/**
 * Registers `schema` under `subject` with the subject's compatibility set to NONE (on its first registration) and returns
 * it from `cache`. Postgres already applied the change: a registry refusing a new version (a type change under
 * BACKWARD, a NOT NULL column added) would stop the stream; Iceberg's evolution rules are the sink's to apply.
 */
export async function registerUnchecked(cache: SchemaCache, subject: string, schema: object): Promise<CachedSchema> {
  let id: number;
  try {
    ({ id } = await cache.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject, compatibility: COMPATIBILITY.NONE }));
  } catch (error) {
    throw new DuckHouseError('schema-incompatible', `schema registry refused a new version of subject ${subject}: ${error instanceof Error ? error.message : String(error)} (CDC subjects need compatibility NONE)`, {
      cause: error,
      context: { subject },
    });
  }
  return cache.get(id);
}
