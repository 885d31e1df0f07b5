// The options many commands share, defined once so they read and behave the same everywhere: the Kafka and registry
// endpoints, the topic/queue prefix, --json and --quiet; plus the value parsers every command uses. A command that
// needs the stack's endpoints only reads stack.json when a flag does not give them.
// Must never: print an endpoint's credentials.
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../producers/kafka/client.js';
import { startMetricsServer } from '../shared/metrics-server.js';
import { readEndpoints } from '../stack/config.js';
import type { StackEndpoints } from '../stack/config.js';

export interface ConnectionFlags {
  brokers?: string;
  registry?: string;
}

export const DEFAULT_PREFIX = 'duckhouse';

/** --brokers and --registry (default: the running stack's, from stack.json). */
export function addConnectionOptions(command: Command, what: { registry?: boolean } = {}): Command {
  command.option('--brokers <list>', 'Kafka bootstrap brokers, comma-separated (default: the running stack)');
  if (what.registry !== false) command.option('--registry <url>', 'schema registry URL (default: the running stack)');
  return command;
}

/**
 * --prefix: topics are <prefix>.<namespace>.<table> (+ <prefix>.dlq), queues <prefix>-views|-compact|-dbt.
 * `--topic-prefix`, its old name on `produce csv` and `cdc`, is still accepted (hidden).
 */
export function addPrefixOption(command: Command, description = 'topics are <prefix>.<namespace>.<table> (+ <prefix>.dlq); queues <prefix>-*'): Command {
  command.option('--prefix <prefix>', description, DEFAULT_PREFIX);
  command.addOption(new Option('--topic-prefix <prefix>').hideHelp());
  command.on('option:topic-prefix', (value: string) => command.setOptionValueWithSource('prefix', value, 'cli'));
  return command;
}

export const addJsonOption = (command: Command, what = 'print JSON instead of a table'): Command => command.option('--json', what, false);
export const addQuietOption = (command: Command): Command => command.option('-q, --quiet', 'no progress output', false);

/** The stack's endpoints, read only when some flag leaves one open. */
export function stackUnless(given: boolean): StackEndpoints | undefined {
  return given ? undefined : readEndpoints();
}

export const brokerList = (flags: ConnectionFlags, stack: StackEndpoints | undefined): string[] =>
  flags.brokers ? flags.brokers.split(',').map((b) => b.trim()).filter(Boolean) : stack!.kafka.brokers;

export const registryUrl = (flags: ConnectionFlags, stack: StackEndpoints | undefined): string => flags.registry ?? stack!.schemaRegistry.url;

export function kafkaFor(flags: ConnectionFlags, clientId: string, quiet = false): Kafka {
  return createKafka({ brokers: brokerList(flags, stackUnless(Boolean(flags.brokers))), clientId, ...(quiet ? { quiet: true } : {}) });
}

// ---- value parsers ----

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, found ${JSON.stringify(value)}`);
  return n;
}

export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`expected a port 0-65535, found ${JSON.stringify(text)}`);
  return port;
}

/** An ISO-8601 time (`2024-05-01`, `2024-05-01T12:00:00Z`) → Date. */
export function parseTime(text: string): Date {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`expected an ISO time like 2024-05-01 or 2024-05-01T12:00:00Z, found ${JSON.stringify(text)}`);
  return new Date(ms);
}

/** A snapshot id (a 64-bit integer). */
export function parseSnapshotId(text: string): bigint {
  if (!/^-?\d{1,20}$/.test(text.trim())) throw new InvalidArgumentError(`expected a snapshot id (an integer), found ${JSON.stringify(text)}`);
  return BigInt(text.trim());
}

/** --duckdb: the DuckDB database file of the views (default $DUCKHOUSE_DUCKDB, else .stack/duckdb/duckhouse.duckdb). */
export const addDuckDBOption = (command: Command): Command =>
  command.option('--duckdb <file>', 'the DuckDB database file holding the views (default: .stack/duckdb/duckhouse.duckdb)');

export interface MetricsFlags {
  metricsPort?: number;
  metricsHost: string;
}

/** --metrics-port/--metrics-host: serve Prometheus metrics (and /healthz) from a long-running process. */
export const addMetricsOptions = (command: Command): Command =>
  command
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://<metrics-host>:<port>/metrics (0: any free port; default: no metrics server)', parsePort)
    .option('--metrics-host <host>', 'interface of the metrics server', '127.0.0.1');

/** Starts the metrics server when --metrics-port was given; says where on stderr. */
export async function metricsServerFor(flags: MetricsFlags): Promise<{ close(): Promise<void> } | undefined> {
  if (flags.metricsPort === undefined) return undefined;
  const server = await startMetricsServer({ host: flags.metricsHost, port: flags.metricsPort });
  process.stderr.write(`metrics: ${server.url}/metrics\n`);
  return server;
}
