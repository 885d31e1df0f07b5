import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { DuckHouseError } from './errors.js';
import { producerAcked } from './metrics.js';
import { METRICS_CONTENT_TYPE, metricsText, startMetricsServer } from './metrics-server.js';

describe('metrics server', () => {
  it('serves /metrics and /healthz on a free port, 404 for anything else, and closes', async () => {
    producerAcked('csv', 'server-test-topic', 2);
    const server = await startMetricsServer({ port: 0 });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const metrics = await fetch(`${server.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.equal(metrics.headers.get('content-type'), METRICS_CONTENT_TYPE);
      assert.match(METRICS_CONTENT_TYPE, /^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      assert.match(text, /^duckhouse_producer_records_total\{source="csv",topic="server-test-topic"\} 2$/m);
      assert.match(text, /^process_resident_memory_bytes \d+/m, 'process metrics are on');
      assert.equal((await fetch(`${server.url}/metrics?debug=1`)).status, 200);
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal((await health.text()).trim(), 'ok');
      const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal((await fetch(`${server.url}/nope`)).status, 404);
      assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' })).status, 404);
    } finally {
      await server.close();
    }
    await assert.rejects(fetch(`${server.url}/healthz`), 'closed');
  });

  it('a port in use is a config error saying so', async () => {
    const first = await startMetricsServer({ port: 0 });
    try {
      const port = Number(new URL(first.url).port);
      await assert.rejects(startMetricsServer({ port }), (error: unknown) => error instanceof DuckHouseError && error.kind === 'config' && /in use/.test(error.message));
    } finally {
      await first.close();
    }
  });

  it('serves another registry when given one; metricsText() renders the same exposition', async () => {
    const registry = new Registry();
    new Counter({ name: 'other_things_total', help: 'things', registers: [registry] }).inc(3);
    const server = await startMetricsServer({ port: 0, registry });
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(text, /^other_things_total 3$/m);
      assert.doesNotMatch(text, /duckhouse_/);
    } finally {
      await server.close();
    }
    assert.match(await metricsText(), /^# TYPE duckhouse_sink_consumer_lag gauge$/m);
    assert.match(await metricsText(registry), /^other_things_total 3$/m);
  });
});
