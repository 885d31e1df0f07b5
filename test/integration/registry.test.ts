import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRegistry, registerAvro, valueSubject } from '../../src/schemas/registry.js';
import { endpoints, uniqueName } from './helpers.js';

test('an Avro schema is registered and fetched back through @kafkajs/confluent-schema-registry', async () => {
  const registry = createRegistry({ url: endpoints().schemaRegistry.url });
  const subject = valueSubject(uniqueName('smoke-registry'));
  const schema = {
    type: 'record',
    name: 'Smoke',
    namespace: 'duckhouse.test',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'name', type: ['null', 'string'], default: null },
    ],
  };
  const id = await registerAvro(registry, subject, schema);
  assert.ok(Number.isInteger(id) && id > 0, `expected a positive schema id, got ${id}`);

  // Registering the same schema again returns the same id.
  assert.equal(await registerAvro(registry, subject, schema), id);
  assert.equal(await registry.getLatestSchemaId(subject), id);

  const fetched = JSON.parse(await registry.getSchema(id).then((s) => JSON.stringify(s))) as { name?: string };
  assert.equal(fetched.name, 'duckhouse.test.Smoke');

  const encoded = await registry.encode(id, { id: 42n, name: 'duck' });
  assert.equal(encoded[0], 0, 'Confluent wire format starts with magic byte 0');
  assert.equal(encoded.readInt32BE(1), id, 'then the schema id');
  assert.deepEqual({ ...(await registry.decode(encoded)) }, { id: 42n, name: 'duck' });
});
