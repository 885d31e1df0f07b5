// Field ids for a table's row shape, from the value subject's registered versions. A shape equal to a version that is
// still "live" (every newer version also has all of the shape's columns) reuses that version's ids exactly, so a restart
// that replays WAL from before a schema change publishes the old shape with its old schema again (and the new one after
// it, with its ids). Any other shape continues the latest version (withStableFieldIds: same name → same id, new columns
// get fresh ids above every id ever used, so a column dropped and added again gets a new id).
// Must never: give a re-added column the id of a dropped one; give a kept column a new id.
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { type AvroRecordSchema, rowSchemaOfEnvelope } from '../../schemas/envelope.js';
import { withStableFieldIds } from '../../schemas/field-ids.js';
import { avroVersion, latestAvro } from '../../schemas/registry.js';
import { sameRowShape } from './row-schema.js';

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
    const schema = (await avroVersion(this.registry, subject, version))?.schema as AvroRecordSchema | undefined;
    const row = schema ? rowSchemaOfEnvelope(schema, `schema registry subject ${subject} version ${version}`) : null;
    this.rows.set(key, row);
    return row;
  }
}
