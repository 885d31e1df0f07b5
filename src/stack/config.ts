// Stack configuration: where the stack keeps its installs, data and logs, and which loopback ports and credentials
// its services use. Read from the environment once (DUCKHOUSE_* variables, validated with zod) when `stack up` runs;
// the result is written to one generated file (stack.json) that every other part of DuckHouse reads.
// Must never print secrets: describe the config with `redactedEndpoints`.
import { readFileSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DuckHouseError } from '../shared/errors.js';

/** The project root (the folder with package.json), found from this file's location in src/ or dist/. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const port = z.coerce.number().int().min(1024).max(65535);
const secret = z.string().min(8, 'must be at least 8 characters');

/** Each port: its default and the environment variable that changes it. */
export const PORT_SETTINGS = {
  kafka: { env: 'DUCKHOUSE_KAFKA_PORT', default: 19092 },
  kafkaController: { env: 'DUCKHOUSE_KAFKA_CONTROLLER_PORT', default: 19093 },
  registry: { env: 'DUCKHOUSE_REGISTRY_PORT', default: 18081 },
  redis: { env: 'DUCKHOUSE_REDIS_PORT', default: 16379 },
  postgres: { env: 'DUCKHOUSE_POSTGRES_PORT', default: 15432 },
  minio: { env: 'DUCKHOUSE_MINIO_PORT', default: 19000 },
  minioConsole: { env: 'DUCKHOUSE_MINIO_CONSOLE_PORT', default: 19001 },
  trino: { env: 'DUCKHOUSE_TRINO_PORT', default: 18080 },
} as const;
export type PortName = keyof typeof PORT_SETTINGS;

/** Each credential: its default and the environment variable that changes it. */
export const CREDENTIAL_SETTINGS = {
  postgresUser: { env: 'DUCKHOUSE_POSTGRES_USER', default: 'duckhouse', schema: z.string().regex(/^[a-z_][a-z0-9_]*$/) },
  postgresPassword: { env: 'DUCKHOUSE_POSTGRES_PASSWORD', default: 'duckhouse-dev', schema: secret },
  postgresDatabase: { env: 'DUCKHOUSE_POSTGRES_DB', default: 'duckhouse', schema: z.string().regex(/^[a-z_][a-z0-9_]*$/) },
  redisPassword: { env: 'DUCKHOUSE_REDIS_PASSWORD', default: 'duckhouse-dev', schema: secret },
  minioUser: { env: 'DUCKHOUSE_MINIO_USER', default: 'duckhouse', schema: z.string().min(3) },
  minioPassword: { env: 'DUCKHOUSE_MINIO_PASSWORD', default: 'duckhouse-dev', schema: secret },
  warehouseBucket: { env: 'DUCKHOUSE_WAREHOUSE_BUCKET', default: 'warehouse', schema: z.string().regex(/^[a-z0-9][a-z0-9.-]{2,62}$/) },
} as const;
export type CredentialName = keyof typeof CREDENTIAL_SETTINGS;

export interface StackPaths {
  /** Everything the stack writes lives below this folder (git-ignored `.stack/` by default). */
  stackDir: string;
  /** Installed components, one folder per component version; kept across `down`. */
  cacheDir: string;
  /** Service data (Kafka logs, Postgres cluster, MinIO objects); kept across `down`, wiped by `down --purge`. */
  dataDir: string;
  logDir: string;
  pidDir: string;
  /** The generated config every other part of DuckHouse reads. */
  endpointsFile: string;
  lockFile: string;
}

export interface StackConfig {
  paths: StackPaths;
  ports: Record<PortName, number>;
  credentials: Record<CredentialName, string>;
  /** Seconds each service may take to become ready. */
  startTimeoutSeconds: number;
  /** The Java runtime for Kafka and the registry. */
  javaBin: string;
  /** DUCKHOUSE_TRINO_JAVA (a `java` binary or a JDK folder) when set; else Trino finds a JDK 24+ itself. */
  trinoJava: string | undefined;
}

export function stackPaths(stackDir: string): StackPaths {
  return {
    stackDir,
    cacheDir: path.join(stackDir, 'cache'),
    dataDir: path.join(stackDir, 'data'),
    logDir: path.join(stackDir, 'logs'),
    pidDir: path.join(stackDir, 'pids'),
    endpointsFile: path.join(stackDir, 'stack.json'),
    lockFile: path.join(stackDir, 'stack.lock'),
  };
}

/** Builds and validates the stack config from the environment. Throws a config error naming the bad variable. */
export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const problems: string[] = [];
  const ports = {} as Record<PortName, number>;
  for (const [name, setting] of Object.entries(PORT_SETTINGS) as [PortName, (typeof PORT_SETTINGS)[PortName]][]) {
    const parsed = port.safeParse(env[setting.env] ?? setting.default);
    if (parsed.success) ports[name] = parsed.data;
    else problems.push(`${setting.env}=${env[setting.env]}: expected a port number between 1024 and 65535`);
  }
  const seen = new Map<number, PortName>();
  for (const [name, value] of Object.entries(ports) as [PortName, number][]) {
    const other = seen.get(value);
    if (other) problems.push(`${PORT_SETTINGS[name].env} and ${PORT_SETTINGS[other].env} both use port ${value}`);
    seen.set(value, name);
  }
  const credentials = {} as Record<CredentialName, string>;
  for (const [name, setting] of Object.entries(CREDENTIAL_SETTINGS) as [CredentialName, (typeof CREDENTIAL_SETTINGS)[CredentialName]][]) {
    const parsed = setting.schema.safeParse(env[setting.env] ?? setting.default);
    if (parsed.success) credentials[name] = parsed.data;
    else problems.push(`${setting.env}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  const timeout = z.coerce.number().int().min(5).max(3600).safeParse(env.DUCKHOUSE_STACK_START_TIMEOUT ?? 180);
  if (!timeout.success) problems.push('DUCKHOUSE_STACK_START_TIMEOUT: expected seconds between 5 and 3600');
  if (problems.length > 0) {
    throw new DuckHouseError('config', `invalid stack configuration:\n  - ${problems.join('\n  - ')}`);
  }
  const stackDir = path.resolve(env.DUCKHOUSE_STACK_DIR ?? path.join(PROJECT_ROOT, '.stack'));
  return {
    paths: stackPaths(stackDir),
    ports,
    credentials,
    startTimeoutSeconds: timeout.success ? timeout.data : 180,
    javaBin: env.DUCKHOUSE_JAVA ?? (env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : 'java'),
    trinoJava: env.DUCKHOUSE_TRINO_JAVA || undefined,
  };
}

/** What clients need to reach the running stack: the content of the generated stack.json. */
export interface StackEndpoints {
  generatedAt: string;
  kafka: { brokers: string[] };
  schemaRegistry: { url: string };
  redis: { host: string; port: number; password: string };
  postgres: { host: string; port: number; user: string; password: string; database: string };
  s3: {
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    bucket: string;
    consoleUrl: string;
  };
  python: { venv: string; python: string; dbt: string };
  /** Where Trino answers once `stack up --with trino` started it (optional: a plain `stack up` does not). */
  trino: { url: string };
  logDir: string;
}

const LOOPBACK = '127.0.0.1';

export function endpointsFor(config: StackConfig, venvDir: string): StackEndpoints {
  const { ports, credentials } = config;
  return {
    generatedAt: new Date().toISOString(),
    kafka: { brokers: [`${LOOPBACK}:${ports.kafka}`] },
    schemaRegistry: { url: `http://${LOOPBACK}:${ports.registry}/apis/ccompat/v7` },
    redis: { host: LOOPBACK, port: ports.redis, password: credentials.redisPassword },
    postgres: {
      host: LOOPBACK,
      port: ports.postgres,
      user: credentials.postgresUser,
      password: credentials.postgresPassword,
      database: credentials.postgresDatabase,
    },
    s3: {
      endpoint: `http://${LOOPBACK}:${ports.minio}`,
      region: 'us-east-1',
      accessKeyId: credentials.minioUser,
      secretAccessKey: credentials.minioPassword,
      bucket: credentials.warehouseBucket,
      consoleUrl: `http://${LOOPBACK}:${ports.minioConsole}`,
    },
    python: { venv: venvDir, python: path.join(venvDir, 'bin', 'python'), dbt: path.join(venvDir, 'bin', 'dbt') },
    trino: { url: `http://${LOOPBACK}:${ports.trino}` },
    logDir: config.paths.logDir,
  };
}

/** Writes stack.json atomically, readable only by its owner (it holds the dev credentials). */
export async function writeEndpoints(file: string, endpoints: StackEndpoints): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/**
 * Reads the generated stack.json of a running stack (DUCKHOUSE_STACK_DIR or the project's `.stack/`).
 * Throws a clear error when the stack was never brought up.
 */
export function readEndpoints(env: NodeJS.ProcessEnv = process.env): StackEndpoints {
  const file = stackPaths(path.resolve(env.DUCKHOUSE_STACK_DIR ?? path.join(PROJECT_ROOT, '.stack'))).endpointsFile;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackEndpoints;
  } catch (cause) {
    throw new DuckHouseError('stack', `no stack config at ${file}: run \`duckhouse stack up\` first`, { cause });
  }
}

/** The endpoints with every secret replaced, for printing. */
export function redactedEndpoints(endpoints: StackEndpoints): StackEndpoints {
  return {
    ...endpoints,
    redis: { ...endpoints.redis, password: '***' },
    postgres: { ...endpoints.postgres, password: '***' },
    s3: { ...endpoints.s3, secretAccessKey: '***' },
  };
}
