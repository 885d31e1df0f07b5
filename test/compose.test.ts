// docker-compose.yml must parse, name every service the stack needs, pin its images, and publish the ports that the
// README documents (the same ones `duckhouse stack up` uses natively), so either stack serves the same config.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { PORT_SETTINGS, PROJECT_ROOT } from '../src/stack/config.js';

interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: string[];
  command?: string[] | string;
  environment?: Record<string, unknown>;
}
const compose = parse(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

/** README "Ports" table rows: | what | port | variable | compose service |. */
function documentedPorts(): { what: string; port: number; variable: string; service: string }[] {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.split('\n## Ports')[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => /^\|\s*[^|-][^|]*\|\s*\d+\s*\|/.test(line))
    .map((line) => {
      const cells = line.split('|').map((c) => c.trim().replaceAll('`', ''));
      return { what: cells[1] ?? '', port: Number(cells[2]), variable: cells[3] ?? '', service: cells[4] ?? '' };
    });
}

test('docker-compose.yml names Kafka, a registry, Redis, MinIO (+ bucket), Postgres, Trino, Superset and DuckHouse', () => {
  const names = Object.keys(compose.services);
  for (const required of ['kafka', 'schema-registry', 'redis', 'minio', 'minio-init', 'postgres', 'trino', 'superset', 'duckhouse-sink', 'duckhouse-workers', 'duckhouse-serve']) {
    assert.ok(names.includes(required), `service ${required} missing; have ${names.join(', ')}`);
  }
});

test('every image is an official image with a pinned tag (no latest, no floating major)', () => {
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.build) continue;
    assert.ok(service.image, `${name} has neither image nor build`);
    const tag = service.image.split(':')[1];
    assert.ok(tag && tag !== 'latest' && /^\d{3,}$|\d+\.\d+|RELEASE\.\d{4}/.test(tag), `${name}: ${service.image} is not pinned`);
  }
  assert.match(compose.services.kafka?.image ?? '', /^apache\/kafka:3\.9\./);
  assert.match(compose.services.trino?.image ?? '', /^trinodb\/trino:435$/);
});

test('Postgres runs with wal_level=logical and the bucket is created', () => {
  assert.ok(JSON.stringify(compose.services.postgres?.command).includes('wal_level=logical'));
  assert.match(JSON.stringify(compose.services['minio-init']?.command), /mc mb --ignore-existing local\/warehouse/);
});

test('compose publishes exactly the ports the README documents, which are the native stack defaults', () => {
  const rows = documentedPorts();
  assert.ok(rows.length >= 8, `README Ports table has ${rows.length} rows`);
  const defaults = Object.fromEntries(Object.values(PORT_SETTINGS).map((s) => [s.env, s.default]));
  for (const row of rows) {
    if (row.variable.startsWith('DUCKHOUSE_')) assert.equal(defaults[row.variable], row.port, `${row.what}: README says ${row.port}, the stack default is ${defaults[row.variable]}`);
    if (row.service === '—' || row.service === '-') continue;
    const published = (compose.services[row.service]?.ports ?? []).map((p) => Number(p.split(':').at(-2)));
    assert.ok(published.includes(row.port), `${row.what}: compose service ${row.service} publishes ${published.join(', ') || 'nothing'}, README says ${row.port}`);
  }
  for (const setting of Object.values(PORT_SETTINGS)) {
    assert.ok(rows.some((r) => r.variable === setting.env), `README Ports table lacks ${setting.env}`);
  }
});
