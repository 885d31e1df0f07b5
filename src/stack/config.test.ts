import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { DuckHouseError } from '../shared/errors.js';
import { endpointsFor, loadStackConfig, PORT_SETTINGS, redactedEndpoints } from './config.js';

test('defaults: every service on its own loopback port, stack folder under the project', () => {
  const config = loadStackConfig({});
  assert.equal(config.ports.kafka, PORT_SETTINGS.kafka.default);
  assert.equal(new Set(Object.values(config.ports)).size, Object.keys(PORT_SETTINGS).length);
  assert.equal(path.basename(config.paths.stackDir), '.stack');
  assert.equal(config.startTimeoutSeconds, 180);
});

test('ports, credentials and the stack folder come from DUCKHOUSE_* variables', () => {
  const config = loadStackConfig({
    DUCKHOUSE_KAFKA_PORT: '29092',
    DUCKHOUSE_POSTGRES_PASSWORD: 'a-long-secret',
    DUCKHOUSE_STACK_DIR: '/tmp/elsewhere',
  });
  assert.equal(config.ports.kafka, 29092);
  assert.equal(config.credentials.postgresPassword, 'a-long-secret');
  assert.equal(config.paths.cacheDir, '/tmp/elsewhere/cache');
  const endpoints = endpointsFor(config, '/tmp/venv');
  assert.deepEqual(endpoints.kafka.brokers, ['127.0.0.1:29092']);
  assert.equal(endpoints.schemaRegistry.url, `http://127.0.0.1:${config.ports.registry}/apis/ccompat/v7`);
});

test('a bad setting is refused with the variable named and what was expected', () => {
  assert.throws(
    () => loadStackConfig({ DUCKHOUSE_REDIS_PORT: 'six', DUCKHOUSE_MINIO_PASSWORD: 'short' }),
    (error: unknown) =>
      error instanceof DuckHouseError &&
      error.kind === 'config' &&
      error.message.includes('DUCKHOUSE_REDIS_PORT=six: expected a port number') &&
      error.message.includes('DUCKHOUSE_MINIO_PASSWORD: must be at least 8 characters'),
  );
});

test('two services on one port are refused', () => {
  assert.throws(() => loadStackConfig({ DUCKHOUSE_REDIS_PORT: '15432' }), /DUCKHOUSE_POSTGRES_PORT and DUCKHOUSE_REDIS_PORT both use port 15432|DUCKHOUSE_REDIS_PORT and DUCKHOUSE_POSTGRES_PORT both use port 15432/);
});

test('redacted endpoints hide every secret', () => {
  const shown = JSON.stringify(redactedEndpoints(endpointsFor(loadStackConfig({}), '/v')));
  for (const secret of ['duckhouse-dev']) assert.ok(!shown.includes(secret), `${secret} leaked: ${shown}`);
});
