// docker-compose.yml must parse, name every service the stack needs, pin its images, and publish the ports that the
// README documents (the same ones `duckhouse stack up` uses natively), so either stack serves the same config. Trino
// must read through DuckHouse's REST catalog with the admin token taken from the environment, and Superset must come
// up with the Trino connection registered. No Docker engine runs here: this checks the files, not running containers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { endpointsFor, loadStackConfig, PORT_SETTINGS, PROJECT_ROOT } from '../src/stack/config.js';

interface ComposeService {
  image?: string;
  build?: string | { context: string };
  ports?: string[];
  command?: string[] | string;
  environment?: Record<string, unknown>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  healthcheck?: { test: string[] };
}
const compose = parse(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  assert.ok(found, `docker-compose.yml has no service ${name}`);
  return found;
};
const read = (file: string): string => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');

/** `key=value` lines of a Java properties file (comments and blank lines skipped). */
function properties(file: string): Record<string, string> {
  const entries = read(file)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => [line.slice(0, line.indexOf('=')).trim(), line.slice(line.indexOf('=') + 1).trim()] as const);
  return Object.fromEntries(entries);
}

/** The host file mounted at `target` in a service (`./docker/x:/etc/y:ro` → `docker/x`). */
function mountedFile(svc: ComposeService, target: string): string | undefined {
  const volume = svc.volumes?.find((v) => v.split(':')[1] === target);
  return volume ? path.normalize(volume.split(':')[0]!) : undefined;
}

/** The container port a service publishes (`127.0.0.1:18080:8080` → 8080), for the first published port. */
const containerPort = (svc: ComposeService): number => Number(svc.ports?.[0]?.split(':').at(-1));

/** The build context of a built service. */
const buildContext = (svc: ComposeService): string | undefined => (typeof svc.build === 'string' ? svc.build : svc.build?.context);

/** README "Ports" table rows: | what | port | variable | compose service |. */
function documentedPorts(): { what: string; port: number; variable: string; service: string }[] {
  const readme = read('README.md');
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
  for (const required of ['kafka', 'schema-registry', 'redis', 'minio', 'minio-init', 'postgres', 'trino', 'superset', 'superset-init', 'duckhouse-sink', 'duckhouse-workers', 'duckhouse-serve']) {
    assert.ok(names.includes(required), `service ${required} missing; have ${names.join(', ')}`);
  }
});

const PINNED = /^\d{3,}$|\d+\.\d+|RELEASE\.\d{4}/;

test('every image is an official image with a pinned tag (no latest, no floating major), built ones too', () => {
  for (const [name, svc] of Object.entries(compose.services)) {
    if (svc.build) {
      // A built image starts FROM a pinned official image.
      const dockerfile = read(path.join(buildContext(svc) ?? '.', 'Dockerfile'));
      const from = /^FROM\s+(\S+)/m.exec(dockerfile)?.[1] ?? '';
      assert.ok(PINNED.test(from.split(':')[1] ?? ''), `${name}: its Dockerfile starts FROM ${from || 'nothing'}, not a pinned tag`);
      continue;
    }
    assert.ok(svc.image, `${name} has neither image nor build`);
    const tag = svc.image.split(':')[1];
    assert.ok(tag && tag !== 'latest' && PINNED.test(tag), `${name}: ${svc.image} is not pinned`);
  }
  assert.match(service('kafka').image ?? '', /^apache\/kafka:3\.9\./);
  // The version the Trino test tier runs natively (435 cannot be downloaded here; 476 needs Java 24+, in its image).
  assert.equal(service('trino').image, 'trinodb/trino:476');
  assert.match(read('docker/superset/Dockerfile'), /^FROM apache\/superset:4\.1\.1$/m);
  assert.match(read('docker/superset/Dockerfile'), /pip install [^\n]*"trino\[sqlalchemy\]==\d+\.\d+\.\d+"/, 'the trino driver is pinned');
});

test('Postgres runs with wal_level=logical and the bucket is created', () => {
  assert.ok(JSON.stringify(service('postgres').command).includes('wal_level=logical'));
  assert.match(JSON.stringify(service('minio-init').command), /mc mb --ignore-existing local\/warehouse/);
});

test('compose publishes exactly the ports the README documents, which are the native stack defaults', () => {
  const rows = documentedPorts();
  assert.ok(rows.length >= 8, `README Ports table has ${rows.length} rows`);
  const defaults = Object.fromEntries(Object.values(PORT_SETTINGS).map((s) => [s.env, s.default])) as Record<string, number | undefined>;
  for (const row of rows) {
    if (row.variable.startsWith('DUCKHOUSE_')) {
      const stackDefault = defaults[row.variable];
      if (stackDefault !== undefined) assert.equal(stackDefault, row.port, `${row.what}: README says ${row.port}, the stack default is ${stackDefault}`);
      // A DuckHouse process's own port (not a stack service's): compose sets the variable to the documented port.
      else assert.equal(Number(compose.services[row.service]?.environment?.[row.variable]), row.port, `${row.what}: compose service ${row.service} does not set ${row.variable}=${row.port}`);
    }
    if (row.service === '—' || row.service === '-') continue;
    const published = (compose.services[row.service]?.ports ?? []).map((p) => Number(p.split(':').at(-2)));
    assert.ok(published.includes(row.port), `${row.what}: compose service ${row.service} publishes ${published.join(', ') || 'nothing'}, README says ${row.port}`);
  }
  for (const setting of Object.values(PORT_SETTINGS)) {
    assert.ok(rows.some((r) => r.variable === setting.env), `README Ports table lacks ${setting.env}`);
  }
  assert.ok(rows.some((r) => r.service === 'duckhouse-serve'), 'README Ports table lacks the REST catalog (duckhouse-serve)');
});

test('the DuckHouse containers read a stack.json that has every field and points at the compose services', () => {
  const serve = service('duckhouse-serve');
  const stackDir = String(serve.environment?.DUCKHOUSE_STACK_DIR);
  const file = mountedFile(serve, `${stackDir}/stack.json`);
  assert.equal(file, path.normalize('docker/duckhouse/stack.json'), `duckhouse-serve mounts no stack.json at ${stackDir}`);
  const mounted = JSON.parse(read(file)) as Record<string, unknown>;
  // Same shape as the file `duckhouse stack up` writes.
  const shape = (value: unknown): unknown =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]).sort()) : typeof value;
  assert.deepEqual(shape(mounted), shape(endpointsFor(loadStackConfig({}), '/venv')));
  const endpoints = mounted as unknown as ReturnType<typeof endpointsFor>;
  const env = (name: string, key: string): string => String(service(name).environment?.[key]);
  assert.deepEqual(endpoints.kafka.brokers, [env('kafka', 'KAFKA_ADVERTISED_LISTENERS').match(/INTERNAL:\/\/([^,]+)/)?.[1]]);
  assert.equal(endpoints.schemaRegistry.url, `http://schema-registry:${containerPort(service('schema-registry'))}/apis/ccompat/v7`);
  assert.deepEqual([endpoints.redis.host, endpoints.redis.port], ['redis', containerPort(service('redis'))]);
  assert.ok(JSON.stringify(service('redis').command).includes(`"--requirepass","${endpoints.redis.password}"`), 'Redis password differs');
  assert.deepEqual(
    [endpoints.postgres.host, endpoints.postgres.port, endpoints.postgres.user, endpoints.postgres.password, endpoints.postgres.database],
    ['postgres', containerPort(service('postgres')), env('postgres', 'POSTGRES_USER'), env('postgres', 'POSTGRES_PASSWORD'), env('postgres', 'POSTGRES_DB')],
  );
  assert.deepEqual(
    [endpoints.s3.endpoint, endpoints.s3.accessKeyId, endpoints.s3.secretAccessKey],
    [`http://minio:${containerPort(service('minio'))}`, env('minio', 'MINIO_ROOT_USER'), env('minio', 'MINIO_ROOT_PASSWORD')],
  );
  assert.match(JSON.stringify(service('minio-init').command), new RegExp(`local/${endpoints.s3.bucket}\\b`));
  for (const name of ['duckhouse-sink', 'duckhouse-workers']) {
    assert.equal(mountedFile(service(name), `${stackDir}/stack.json`), file, `${name} reads another stack.json`);
  }
});

test('duckhouse-serve runs without a profile (Trino needs it); the sink and the workers are in profile duckhouse', () => {
  const serve = service('duckhouse-serve');
  assert.equal(serve.profiles, undefined, 'duckhouse-serve must start with a plain `docker compose up`');
  assert.deepEqual((serve.command as string[]).slice(0, 3), ['node', 'bin/duckhouse.js', 'serve']);
  assert.ok(JSON.stringify(serve.command).includes('"--host","0.0.0.0"'), 'the REST server must listen beyond the container loopback');
  assert.ok(serve.healthcheck?.test.join(' ').includes('/iceberg/v1/config'), 'duckhouse-serve is healthy once /iceberg/v1/config answers');
  assert.equal(service('trino').depends_on?.['duckhouse-serve']?.condition, 'service_healthy');
  for (const name of ['duckhouse-sink', 'duckhouse-workers']) assert.deepEqual(service(name).profiles, ['duckhouse'], name);
  assert.ok(JSON.stringify(service('duckhouse-sink').command).includes('--topic-pattern'), 'the sink needs --topics or --topic-pattern to start');
});

test('Trino reads DuckHouse through the REST catalog with the admin token from the environment (no token in files)', () => {
  const trino = service('trino');
  const restFile = mountedFile(trino, '/etc/trino/catalog/duckhouse.properties');
  assert.ok(restFile, 'trino mounts no catalog file as catalog duckhouse');
  const rest = properties(restFile);
  assert.equal(rest['connector.name'], 'iceberg');
  assert.equal(rest['iceberg.catalog.type'], 'rest');
  const serve = service('duckhouse-serve');
  const port = Number(serve.environment?.DUCKHOUSE_SERVE_PORT);
  assert.ok(serve.ports?.some((p) => p.endsWith(`:${port}`)), `duckhouse-serve does not publish its port ${port}`);
  assert.equal(rest['iceberg.rest-catalog.uri'], `http://duckhouse-serve:${port}/iceberg`);
  assert.equal(rest['iceberg.rest-catalog.security'], 'OAUTH2');
  assert.equal(rest['iceberg.rest-catalog.oauth2.token'], '${ENV:DUCKHOUSE_ADMIN_TOKEN}');
  // Both sides take the token from the caller's environment (or .env), required, with no default written down.
  const fromEnv = /^\$\{DUCKHOUSE_ADMIN_TOKEN:\?[^}]*\}$/;
  assert.match(String(trino.environment?.DUCKHOUSE_ADMIN_TOKEN), fromEnv);
  assert.match(String(serve.environment?.DUCKHOUSE_ADMIN_TOKEN), fromEnv);
  assert.ok(!/DUCKHOUSE_ADMIN_TOKEN:-/.test(read('docker-compose.yml')), 'no default admin token in docker-compose.yml');
  assert.match(read('.gitignore'), /^\.env$/m, '.env (where the token may live) is git-ignored');

  const minio = service('minio');
  const jdbcFile = mountedFile(trino, '/etc/trino/catalog/duckhouse_jdbc.properties');
  assert.ok(jdbcFile, 'trino mounts no duckhouse_jdbc catalog');
  const jdbc = properties(jdbcFile);
  assert.equal(jdbc['iceberg.catalog.type'], 'jdbc');
  assert.equal(jdbc['iceberg.jdbc-catalog.catalog-name'], 'duckhouse', 'the name DuckHouse\'s SQL catalog writes under');
  assert.equal(jdbc['iceberg.jdbc-catalog.connection-url'], `jdbc:postgresql://postgres:${containerPort(service('postgres'))}/${String(service('postgres').environment?.POSTGRES_DB)}`);
  assert.equal(jdbc['iceberg.jdbc-catalog.connection-password'], service('postgres').environment?.POSTGRES_PASSWORD);
  for (const [name, catalog] of [['duckhouse', rest], ['duckhouse_jdbc', jdbc]] as const) {
    // Trino 476 has only the native S3 file system (the hive.s3.* keys are gone).
    assert.ok(!Object.keys(catalog).some((k) => k.startsWith('hive.s3.')), `${name}: hive.s3.* keys do not exist in Trino 476`);
    assert.equal(catalog['fs.native-s3.enabled'], 'true', name);
    assert.equal(catalog['s3.endpoint'], `http://minio:${containerPort(minio)}`, name);
    assert.equal(catalog['s3.path-style-access'], 'true', name);
    assert.equal(catalog['s3.aws-access-key'], minio.environment?.MINIO_ROOT_USER, name);
    assert.equal(catalog['s3.aws-secret-key'], minio.environment?.MINIO_ROOT_PASSWORD, name);
    assert.ok(catalog['s3.region'], `${name}: s3.region`);
  }
});

test('Superset comes up with the "DuckHouse (Trino)" database registered by a one-shot init', () => {
  const superset = service('superset');
  const init = service('superset-init');
  assert.equal(buildContext(superset), './docker/superset');
  assert.equal(buildContext(init), './docker/superset');
  assert.equal(superset.depends_on?.['superset-init']?.condition, 'service_completed_successfully');
  // The init writes the metadata database the web server then reads.
  const home = (svc: ComposeService): string | undefined => svc.volumes?.find((v) => v.endsWith(':/app/superset_home'));
  assert.ok(home(init) && home(init) === home(superset), 'superset and superset-init share /app/superset_home');
  assert.ok(compose.volumes['superset-home'] !== undefined, 'the superset-home volume is declared');

  const dockerfile = read('docker/superset/Dockerfile');
  const script = /COPY superset-init\.sh (\S+)/.exec(dockerfile)?.[1];
  assert.deepEqual(init.command, [script], 'superset-init runs the script the Dockerfile copies in');
  assert.match(dockerfile, /COPY superset_config\.py \/app\/pythonpath\/superset_config\.py/);
  assert.match(read('docker/superset/superset_config.py'), /SECRET_KEY = os\.environ\.get\("SUPERSET_SECRET_KEY"/);

  const steps = read('docker/superset/superset-init.sh');
  const order = ['superset db upgrade', 'superset fab create-admin', 'superset init', 'superset set-database-uri'].map((step) => steps.indexOf(step));
  assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), `superset-init.sh runs upgrade, create-admin, init, set-database-uri in order (found at ${order.join(', ')})`);
  assert.match(steps, /set-database-uri --database_name "\$\{DUCKHOUSE_TRINO_DATABASE\}" --uri "\$\{DUCKHOUSE_TRINO_URI\}"/);

  const env = init.environment ?? {};
  assert.deepEqual(superset.environment, env, 'superset and superset-init share one environment');
  assert.equal(env.DUCKHOUSE_TRINO_DATABASE, 'DuckHouse (Trino)');
  // trino://<user>@<service>:<container port>/<catalog>, and the catalog is the REST one Trino mounts.
  const uri = /^trino:\/\/(\w+)@([\w-]+):(\d+)\/(\w+)$/.exec(String(env.DUCKHOUSE_TRINO_URI));
  assert.ok(uri, `DUCKHOUSE_TRINO_URI ${String(env.DUCKHOUSE_TRINO_URI)} is not trino://user@host:port/catalog`);
  assert.equal(uri[2], 'trino');
  assert.equal(Number(uri[3]), containerPort(service('trino')));
  assert.equal(uri[4], 'duckhouse');
  assert.ok(mountedFile(service('trino'), `/etc/trino/catalog/${uri[4]}.properties`), `trino has no catalog ${uri[4]}`);
  for (const key of ['SUPERSET_SECRET_KEY', 'SUPERSET_ADMIN_PASSWORD']) {
    assert.match(String(env[key]), new RegExp(`^\\$\\{${key}:-[^}]+\\}$`), `${key} comes from the environment, with a dev default`);
  }
});
