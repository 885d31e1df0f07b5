// One Kafka Connect distributed worker for bench/kafka-connect.ts: a JVM child of this process (`java -cp libs/*
// ConnectDistributed`, plugins isolated through plugin.path), REST on a free loopback port, its internal topics and
// group named with the run's prefix (replication factor 1, one partition each), its output in a log file. Kept warm
// across runs: each run creates and deletes its own connector. A small REST client for what the bench needs.
// Must never: signal a process no bench started, or leave its JVM behind: stop() ends it, a normal exit of this
// process SIGKILLs it, Ctrl-C reaches it through the process group it shares with this one (not detached), and the
// next start stops workers whose bench was SIGKILLed (their command line names the starter's pid).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckHouseError } from '../src/shared/errors.js';
import { loadStackConfig } from '../src/stack/config.js';
import { findOrphans, stopGroup, tailFile } from '../src/stack/process.js';
import { freeLoopbackPort } from '../src/stack/tools.js';
import { type IcebergConnectInstall, installIcebergConnect } from './kafka-connect-install.js';
import { processMemory } from './measure.js';

export const ICEBERG_SINK_CLASS = 'org.apache.iceberg.connect.IcebergSinkConnector';
export const APICURIO_AVRO_CONVERTER_CLASS = 'io.apicurio.registry.utils.converter.AvroConverter';

/** In each worker's command line, followed by the pid of the bench process that started it. */
const STARTER_MARKER = '-Dduckhouse.bench.starter=';

/**
 * Stops the Connect workers an earlier bench left behind when it was SIGKILLed (their starter is gone), so they do
 * not hold memory and CPU through this run. `duckhouse stack down` stops them too (they run from the stack folder).
 */
async function stopOrphanedWorkers(): Promise<void> {
  for (const pid of findOrphans(STARTER_MARKER)) {
    console.error(`bench/kafka-connect: stopping a Kafka Connect worker (pid ${pid}) left by an earlier bench run that was killed`);
    await stopGroup(pid, 'SIGKILL', 5000);
  }
}

export interface ConnectWorkerOptions {
  brokers: string[];
  /** Names the worker's group and internal topics (`<prefix>-connect…`), so the run's cleanup finds them. */
  prefix: string;
  heapMb?: number;
  /** An install from installIcebergConnect (installed on demand when absent). */
  install?: IcebergConnectInstall;
  /** How long the worker may take until its REST API and plugins answer (default 120 s). */
  startTimeoutMs?: number;
  /**
   * offset.flush.interval.ms (Connect's default: 60 s). It also bounds how long an idle sink task's consumer poll
   * blocks, and the Iceberg sink reads its control topic (START_COMMIT) only inside put(): at the end of the input the
   * last commit waits up to this long. Default 1000 ms, the bench's commit interval.
   */
  offsetFlushIntervalMs?: number;
}

/** A task or connector state from GET /connectors/<name>/status. */
export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id: string; trace?: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
}

function workerProperties(options: ConnectWorkerOptions, port: number, pluginPath: string): string {
  const p = options.prefix;
  return [
    `bootstrap.servers=${options.brokers.join(',')}`,
    `group.id=${p}-connect`,
    `config.storage.topic=${p}-connect-configs`,
    `offset.storage.topic=${p}-connect-offsets`,
    `status.storage.topic=${p}-connect-status`,
    'config.storage.replication.factor=1',
    'offset.storage.replication.factor=1',
    'offset.storage.partitions=1',
    'status.storage.replication.factor=1',
    'status.storage.partitions=1',
    // Worker defaults; every connector of the bench sets its own converters.
    'key.converter=org.apache.kafka.connect.converters.ByteArrayConverter',
    'value.converter=org.apache.kafka.connect.converters.ByteArrayConverter',
    `listeners=http://127.0.0.1:${port}`,
    'rest.advertised.host.name=127.0.0.1',
    `rest.advertised.port=${port}`,
    `plugin.path=${pluginPath}`,
    // The Apicurio converter has no ServiceLoader manifest: keep scanning (Connect's default, hybrid_warn).
    'plugin.discovery=hybrid_warn',
    // A deleted connector's tasks are not held for a returning worker (one worker: nothing returns).
    'scheduled.rebalance.max.delay.ms=0',
    'connector.client.config.override.policy=All',
    `offset.flush.interval.ms=${options.offsetFlushIntervalMs ?? 1000}`,
    '',
  ].join('\n');
}

/** A running Connect worker; `stop()` ends it. */
export class ConnectWorker {
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;
  private readonly killOnExit = (): void => {
    this.proc.kill('SIGKILL');
  };

  private constructor(
    private readonly proc: ChildProcess,
    readonly url: string,
    readonly logFile: string,
    readonly brokers: readonly string[],
    readonly prefix: string,
    private readonly workDir: string,
  ) {
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
    process.once('exit', this.killOnExit);
  }

  /** Starts a worker and resolves once its REST API answers and lists the Iceberg sink among its plugins. */
  static async start(options: ConnectWorkerOptions): Promise<ConnectWorker> {
    const install = options.install ?? (await installIcebergConnect());
    await stopOrphanedWorkers();
    const port = await freeLoopbackPort();
    const workDir = await mkdtemp(path.join(tmpdir(), 'duckhouse-kafka-connect-'));
    const props = path.join(workDir, 'worker.properties');
    await writeFile(props, workerProperties(options, port, install.pluginPath));
    const logDir = loadStackConfig().paths.logDir;
    await mkdir(logDir, { recursive: true });
    const logFile = path.join(logDir, `kafka-connect-${options.prefix}.log`);
    const fd = openSync(logFile, 'a');
    let proc: ChildProcess;
    try {
      writeSync(fd, `\n===== bench/kafka-connect: starting a Connect worker on 127.0.0.1:${port} at ${new Date().toISOString()} =====\n`);
      const heap = options.heapMb ?? 1024;
      proc = spawn(
        install.java,
        [
          `-Xms${Math.min(heap, 512)}m`, `-Xmx${heap}m`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
          `-Dlog4j.configuration=file:${install.log4jConfig}`,
          `${STARTER_MARKER}${process.pid}`,
          '-cp', install.classpath,
          'org.apache.kafka.connect.cli.ConnectDistributed',
          props,
        ],
        { stdio: ['ignore', fd, fd] },
      );
      await new Promise<void>((resolve, reject) => {
        proc.once('error', reject);
        proc.once('spawn', resolve);
      });
    } finally {
      closeSync(fd);
    }
    const worker = new ConnectWorker(proc, `http://127.0.0.1:${port}`, logFile, options.brokers, options.prefix, workDir);
    try {
      await worker.waitReady(options.startTimeoutMs ?? 120_000);
    } catch (error) {
      await worker.stop();
      throw error;
    }
    return worker;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** CPU seconds (user + system, all threads) the worker's JVM has used so far; 0 when /proc cannot tell. */
  cpuSeconds(): number {
    try {
      const stat = readFileSync(`/proc/${this.proc.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 of stat (utime, stime) in clock ticks (USER_HZ, 100 on Linux).
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  }

  /** The worker's resident and peak resident memory in bytes (VmRSS, VmHWM); zeros when /proc cannot tell. */
  memory(): { rss: number; peak: number } {
    return processMemory(this.proc.pid!) ?? { rss: 0, peak: 0 };
  }

  /** The last `lines` lines of the worker's log. */
  logTail(lines = 40): string {
    return tailFile(this.logFile, lines);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw this.error(`the Connect worker exited with code ${this.exitCode} before its REST API answered`);
      try {
        // GET /connectors answers only once the herder has joined its group and read the config topic.
        const connectors = await fetch(`${this.url}/connectors`, { signal: AbortSignal.timeout(2000) });
        if (connectors.ok) {
          const plugins = (await this.request<{ class: string }[]>('GET', '/connector-plugins')).map((p) => p.class);
          if (!plugins.includes(ICEBERG_SINK_CLASS)) throw this.error(`the worker's plugins lack ${ICEBERG_SINK_CLASS} (found ${plugins.join(', ')})`);
          return;
        }
        await connectors.arrayBuffer();
      } catch (error) {
        if (error instanceof DuckHouseError) throw error;
      }
      await sleep(250);
    }
    throw this.error(`the Connect worker's REST API did not answer within ${timeoutMs / 1000} s`);
  }

  /** An error carrying the tail of the worker's log. */
  error(message: string, cause?: unknown): DuckHouseError {
    return new DuckHouseError('stack', `${message}\n--- last lines of ${this.logFile} ---\n${this.logTail()}`, { cause, context: { logFile: this.logFile } });
  }

  /** A REST call; throws with the worker's answer on a non-2xx status. Retries 409 (a rebalance is in progress). */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', route: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${this.url}${route}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await response.text();
      if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
      if (response.status === 409 && attempt < 40) {
        await sleep(250);
        continue;
      }
      throw this.error(`${method} ${route}: expected a 2xx answer, found ${response.status} ${text}`);
    }
  }

  /** The connector's status, or undefined when the worker does not know it (yet). */
  async status(name: string): Promise<ConnectorStatus | undefined> {
    const response = await fetch(`${this.url}/connectors/${encodeURIComponent(name)}/status`, { signal: AbortSignal.timeout(10_000) });
    if (response.status === 404) {
      await response.arrayBuffer();
      return undefined;
    }
    if (!response.ok) throw this.error(`GET /connectors/${name}/status: ${response.status} ${await response.text()}`);
    return (await response.json()) as ConnectorStatus;
  }

  /** Deletes a connector and waits until the worker no longer lists it (its tasks are stopped). */
  async deleteConnector(name: string, timeoutMs = 60_000): Promise<void> {
    const response = await fetch(`${this.url}/connectors/${encodeURIComponent(name)}`, { method: 'DELETE', signal: AbortSignal.timeout(60_000) });
    await response.arrayBuffer();
    if (!response.ok && response.status !== 404) throw this.error(`DELETE /connectors/${name}: ${response.status}`);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!(await this.request<string[]>('GET', '/connectors')).includes(name)) return;
      await sleep(200);
    }
    throw this.error(`connector ${name} was still listed ${timeoutMs / 1000} s after DELETE`);
  }

  /** Stops the worker (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.running) {
      this.proc.kill('SIGTERM');
      const grace = new AbortController();
      const killed = await Promise.race([
        this.exited.then(() => false),
        sleep(graceMs, true, { signal: grace.signal }).catch(() => false),
      ]);
      grace.abort(); // the pending timer would keep this process alive for the rest of the grace period
      if (killed) {
        this.proc.kill('SIGKILL');
        await this.exited;
      }
    }
    process.removeListener('exit', this.killOnExit);
    await rm(this.workDir, { recursive: true, force: true });
  }
}
