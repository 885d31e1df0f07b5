// The stack orchestrator behind `duckhouse stack up|down|status|logs`: installs every component into the cache (in
// parallel, heartbeat on long steps), starts the services in dependency order on their loopback ports, waits until
// each really answers, writes the generated stack.json, and stops everything (process groups, then strays).
// Optional components (Trino) join only when asked for (`with`, or by name). One stack command at a time per stack
// folder (a lock file); status and logs never take the lock.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { DuckHouseError, StackError, describeError } from '../shared/errors.js';
import {
  type Component,
  type ComponentContext,
  type ComponentName,
  ensureInstalled,
  installDir,
  isInstalled,
} from './component.js';
import { kafka } from './components/kafka.js';
import { minio } from './components/minio.js';
import { postgres } from './components/postgres.js';
import { python } from './components/python.js';
import { redis } from './components/redis.js';
import { registry } from './components/registry.js';
import { trino } from './components/trino.js';
import { PORT_SETTINGS, type StackConfig, endpointsFor, writeEndpoints } from './config.js';
import {
  findProcessesMentioning,
  isRunning,
  readPidRecord,
  removePidFile,
  startDetached,
  stopGroup,
  stopProcess,
  tailFile,
} from './process.js';
import { indent, isPortFree } from './tools.js';

/** Every component, in start order (dependencies first); the optional ones last. */
export const COMPONENTS: readonly Component[] = [postgres, redis, minio, kafka, registry, python, trino];

export type Reporter = (line: string) => void;

export function componentByName(name: string): Component {
  const found = COMPONENTS.find((c) => c.name === name);
  if (!found) {
    throw new DuckHouseError('config', `unknown stack component "${name}"; expected one of ${COMPONENTS.map((c) => c.name).join(', ')}`);
  }
  return found;
}

function contextFor(config: StackConfig, component: Component, report: Reporter): ComponentContext {
  return {
    config,
    progress: (message) => report(`${component.name.padEnd(8)} ${message}`),
    logFile: path.join(config.paths.logDir, `${component.name}.log`),
    installLogFile: path.join(config.paths.logDir, `${component.name}-install.log`),
    dataDir: path.join(config.paths.dataDir, component.name),
  };
}

const pidFileOf = (config: StackConfig, component: Component): string =>
  path.join(config.paths.pidDir, `${component.name}.pid`);

function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 90 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

/** Holds the stack lock while `work` runs; a second command waits for the first instead of racing it. */
async function withLock<T>(config: StackConfig, report: Reporter, work: () => Promise<T>): Promise<T> {
  await mkdir(config.paths.stackDir, { recursive: true });
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      const release = await lockfile.lock(config.paths.stackDir, {
        lockfilePath: config.paths.lockFile,
        stale: 30_000,
        update: 5_000,
        realpath: false,
      });
      try {
        return await work();
      } finally {
        await release().catch(() => undefined);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      if (!told) report(`another \`duckhouse stack\` command holds ${config.paths.lockFile}; waiting for it to finish…`);
      told = true;
      if (Date.now() - started > 40 * 60_000) {
        throw new DuckHouseError('stack', `gave up waiting for the stack lock ${config.paths.lockFile} after 40 minutes`);
      }
      await sleep(1000);
    }
  }
}

async function installAll(config: StackConfig, components: readonly Component[], report: Reporter): Promise<Map<ComponentName, Error>> {
  const failures = new Map<ComponentName, Error>();
  await Promise.all(
    components.map(async (component) => {
      const ctx = contextFor(config, component, report);
      if (isInstalled(config, component)) return;
      const started = Date.now();
      const heartbeat = setInterval(
        () => ctx.progress(`still installing (${seconds(Date.now() - started)}; log: ${ctx.installLogFile})`),
        30_000,
      );
      try {
        await ensureInstalled(ctx, component);
        ctx.progress(`installed in ${seconds(Date.now() - started)}`);
      } catch (error) {
        failures.set(component.name, error as Error);
        ctx.progress(`install FAILED: ${describeError(error)}`);
      } finally {
        clearInterval(heartbeat);
      }
    }),
  );
  return failures;
}

async function checkPortsFree(config: StackConfig, component: Component): Promise<void> {
  for (const name of component.ports) {
    const port = config.ports[name];
    if (!(await isPortFree(port))) {
      throw new StackError(
        component.name,
        `port ${port} on 127.0.0.1 is already in use by another process. Stop that process (\`ss -ltnp 'sport = :${port}'\` shows it) or choose another port: ${PORT_SETTINGS[name].env}=<free port> duckhouse stack up`,
      );
    }
  }
}

async function waitForPortsFree(config: StackConfig, component: Component, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of component.ports) {
    while (!(await isPortFree(config.ports[name])) && Date.now() < deadline) await sleep(100);
  }
}

async function startOne(config: StackConfig, component: Component, report: Reporter): Promise<void> {
  const ctx = contextFor(config, component, report);
  const dir = installDir(config, component);
  if (!component.launch) {
    if (!(await component.ready(ctx, dir))) throw new StackError(component.name, 'installed files are incomplete', { logFile: ctx.installLogFile });
    ctx.progress('ready');
    return;
  }
  const pidFile = pidFileOf(config, component);
  const ports = component.ports.map((p) => `127.0.0.1:${config.ports[p]}`).join(', ');
  const previous = await readPidRecord(pidFile);
  const started = Date.now();
  let pid: number;
  if (previous && isRunning(previous)) {
    pid = previous.pid;
    if (await component.ready(ctx, dir)) {
      await component.afterReady?.(ctx, dir);
      ctx.progress(`already up (pid ${pid}, ${ports})`);
      return;
    }
    ctx.progress(`running (pid ${pid}) but not ready yet; waiting…`);
  } else {
    if (previous) {
      ctx.progress(`had stopped unexpectedly (pid ${previous.pid}); starting it again. Last log lines:\n${indent(tailFile(ctx.logFile, 5))}`);
      await removePidFile(pidFile);
      // A process that just died may hold its ports a moment longer: its main thread shows as a zombie while its other
      // threads are still exiting, and its sockets close only when the last one has.
      await waitForPortsFree(config, component, 10_000);
    }
    await checkPortsFree(config, component);
    const spec = await component.launch(ctx, dir);
    ctx.progress(`starting on ${ports}…`);
    pid = await startDetached({ ...spec, logFile: ctx.logFile, pidFile });
  }
  const deadline = started + config.startTimeoutSeconds * 1000;
  for (;;) {
    const record = await readPidRecord(pidFile);
    if (!record || !isRunning(record)) {
      // Whatever is left of the group we just started must not outlive the failed start.
      await stopGroup(pid, 'SIGKILL', 5000);
      await removePidFile(pidFile);
      throw new StackError(component.name, `crashed while starting. Last log lines:\n${indent(tailFile(ctx.logFile, 15))}`, {
        logFile: ctx.logFile,
      });
    }
    if (await component.ready(ctx, dir)) break;
    if (Date.now() > deadline) {
      await stopProcess(record, 'SIGKILL', 5000);
      await removePidFile(pidFile);
      throw new StackError(
        component.name,
        `did not become ready within ${config.startTimeoutSeconds}s (raise DUCKHOUSE_STACK_START_TIMEOUT on a slow machine). Last log lines:\n${indent(tailFile(ctx.logFile, 15))}`,
        { logFile: ctx.logFile },
      );
    }
    await sleep(500);
  }
  await component.afterReady?.(ctx, dir);
  ctx.progress(`up in ${seconds(Date.now() - started)} (pid ${pid}, ${ports})`);
}

export interface UpOptions {
  /** Only these (and what they need), optional ones included when named. Default: every non-optional component. */
  only?: ComponentName[];
  /** Optional components to add (`stack up --with trino`). */
  with?: ComponentName[];
}

/** Installs what is missing and starts every component; throws one error listing each component that failed. */
export async function stackUp(config: StackConfig, report: Reporter, options: UpOptions = {}): Promise<void> {
  const wanted = selectWithDependencies(options.only, options.with);
  await withLock(config, report, async () => {
    const began = Date.now();
    for (const dir of [config.paths.cacheDir, config.paths.dataDir, config.paths.logDir, config.paths.pidDir]) {
      await mkdir(dir, { recursive: true });
    }
    report(`stack folder ${config.paths.stackDir} (logs in ${config.paths.logDir})`);
    const failures = await installAll(config, wanted, report);
    const done = new Set<ComponentName>();
    let pending = wanted.filter((c) => !failures.has(c.name));
    while (pending.length > 0) {
      const wave = pending.filter((c) => c.dependsOn.every((d) => done.has(d) || !wanted.some((w) => w.name === d)));
      const blocked = pending.filter((c) => c.dependsOn.some((d) => failures.has(d)));
      for (const c of blocked) {
        failures.set(c.name, new StackError(c.name, `not started: it needs ${c.dependsOn.filter((d) => failures.has(d)).join(', ')}, which failed`));
      }
      const runnable = wave.filter((c) => !blocked.includes(c));
      if (runnable.length === 0) break;
      await Promise.all(
        runnable.map(async (component) => {
          try {
            await startOne(config, component, report);
            done.add(component.name);
          } catch (error) {
            failures.set(component.name, error as Error);
          }
        }),
      );
      pending = pending.filter((c) => !done.has(c.name) && !failures.has(c.name));
    }
    await writeEndpoints(config.paths.endpointsFile, endpointsFor(config, installDir(config, python)));
    if (failures.size > 0) {
      const lines = [...failures.values()].map((e) => `  - ${describeError(e)}`);
      throw new DuckHouseError('stack', `stack up failed for ${[...failures.keys()].join(', ')}:\n${lines.join('\n')}`);
    }
    report(`stack is up in ${seconds(Date.now() - began)}; config written to ${config.paths.endpointsFile}`);
  });
}

export function selectWithDependencies(only: ComponentName[] | undefined, extra: ComponentName[] = []): Component[] {
  const base = only && only.length > 0 ? only : COMPONENTS.filter((c) => !c.optional).map((c) => c.name);
  const names = new Set<ComponentName>();
  const add = (name: ComponentName): void => {
    if (names.has(name)) return;
    names.add(name);
    componentByName(name).dependsOn.forEach(add);
  };
  [...base, ...extra].forEach(add);
  return COMPONENTS.filter((c) => names.has(c.name));
}

export interface DownOptions {
  /** Also delete service data (Kafka logs, Postgres cluster, MinIO objects) and stack.json; installs stay cached. */
  purge?: boolean;
  /** Stop only these (`stack down trino`): no stray sweep; `purge` deletes only their data. */
  only?: ComponentName[];
}

/** Stops every service (clean signal, then SIGKILL), then any stray process that still mentions the stack folder. */
export async function stackDown(config: StackConfig, report: Reporter, options: DownOptions = {}): Promise<void> {
  const only = options.only && options.only.length > 0 ? new Set(options.only) : undefined;
  await withLock(config, report, async () => {
    for (const component of [...COMPONENTS].reverse()) {
      if (!component.launch || (only && !only.has(component.name))) continue;
      const pidFile = pidFileOf(config, component);
      const record = await readPidRecord(pidFile);
      if (!record) continue;
      const outcome = await stopProcess(record, component.stopSignal, 30_000);
      await removePidFile(pidFile);
      if (outcome !== 'not-running') report(`${component.name.padEnd(8)} ${outcome === 'killed' ? 'did not stop in 30s; killed' : 'stopped'}`);
    }
    if (only) {
      if (options.purge) {
        for (const name of only) await rm(path.join(config.paths.dataDir, name), { recursive: true, force: true });
        report(`purged the data of ${[...only].join(', ')}`);
      }
      report(`${[...only].join(', ')} down`);
      return;
    }
    const strays = findProcessesMentioning(config.paths.stackDir);
    for (const pid of strays) {
      report(`stray process ${pid} still mentions ${config.paths.stackDir}; stopping it`);
      await stopGroup(pid, 'SIGTERM', 10_000);
    }
    if (options.purge) {
      await rm(config.paths.dataDir, { recursive: true, force: true });
      await rm(config.paths.endpointsFile, { force: true });
      report(`purged service data in ${config.paths.dataDir}`);
    }
    report('stack is down');
  });
}

/** Stops one service and starts it again (what `duckhouse stack restart <name>` does; tests use it for broker faults). */
export async function stackRestart(config: StackConfig, report: Reporter, name: ComponentName): Promise<void> {
  const component = COMPONENTS.find((c) => c.name === name);
  if (!component?.launch) throw new StackError(name, `cannot restart it: expected one of ${COMPONENTS.filter((c) => c.launch).map((c) => c.name).join(', ')}`);
  await withLock(config, report, async () => {
    const pidFile = pidFileOf(config, component);
    const record = await readPidRecord(pidFile);
    if (record) {
      const outcome = await stopProcess(record, component.stopSignal, 30_000);
      await removePidFile(pidFile);
      report(`${component.name.padEnd(8)} ${outcome === 'killed' ? 'did not stop in 30s; killed' : 'stopped'}`);
    }
  });
  await stackUp(config, report, { only: [name] });
}

/** `not started`: an optional component that is not running (not a failure: it starts only when asked for). */
export type ComponentState = 'up' | 'starting' | 'down' | 'stopped' | 'not installed' | 'installed' | 'not started';

export interface ComponentStatus {
  name: ComponentName;
  title: string;
  state: ComponentState;
  pid?: number;
  ports: string[];
  logFile: string;
  /** For a component that died: the last lines of its log. */
  logTail?: string;
}

/** The state of each component: up (answers), starting, down (its process died), stopped, not installed, not started. */
export async function stackStatus(config: StackConfig): Promise<ComponentStatus[]> {
  return Promise.all(
    COMPONENTS.map(async (component): Promise<ComponentStatus> => {
      const ctx = contextFor(config, component, () => undefined);
      const base = {
        name: component.name,
        title: component.title,
        ports: component.ports.map((p) => `127.0.0.1:${config.ports[p]}`),
        logFile: component.launch ? ctx.logFile : ctx.installLogFile,
      };
      if (!isInstalled(config, component)) return { ...base, state: component.optional ? 'not started' : 'not installed' };
      if (!component.launch) return { ...base, state: (await component.ready(ctx, installDir(config, component))) ? 'installed' : 'not installed' };
      const record = await readPidRecord(pidFileOf(config, component));
      if (!record) return { ...base, state: component.optional ? 'not started' : 'stopped' };
      if (!isRunning(record)) return { ...base, state: 'down', pid: record.pid, logTail: tailFile(ctx.logFile, 8) };
      const ready = await component.ready(ctx, installDir(config, component));
      return { ...base, state: ready ? 'up' : 'starting', pid: record.pid };
    }),
  );
}

/** Prints (or follows) the last lines of the components' logs with `tail`. */
export async function stackLogs(config: StackConfig, names: string[], lines: number, follow: boolean): Promise<number> {
  const components = names.length > 0 ? names.map(componentByName) : [...COMPONENTS];
  const files = components
    .flatMap((c) => {
      const ctx = contextFor(config, c, () => undefined);
      return [ctx.installLogFile, ctx.logFile];
    })
    .filter((f) => existsSync(f));
  if (files.length === 0) {
    throw new DuckHouseError('not-found', `no logs yet in ${config.paths.logDir}: run \`duckhouse stack up\` first`);
  }
  const args = ['-n', String(lines), ...(follow ? ['-F'] : []), ...files];
  return new Promise((resolve, reject) => {
    const child = spawn('tail', args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 0));
  });
}
