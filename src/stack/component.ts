// The contract every stack component (Kafka, registry, Redis, Postgres, MinIO, Python venv, Trino) fulfils, so the
// orchestrator in stack.ts can install, start, probe and stop them uniformly.
// Components never print: they report through `ctx.progress` and throw StackError.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PortName, StackConfig } from './config.js';

export type ComponentName = 'postgres' | 'redis' | 'minio' | 'kafka' | 'registry' | 'python' | 'trino';

export interface ComponentContext {
  config: StackConfig;
  /** A progress line for the user, already prefixed with the component's name by the caller. */
  progress: (message: string) => void;
  /** The component's own log (service output). */
  logFile: string;
  /** Where installation steps write their output. */
  installLogFile: string;
  /** The component's data folder under the stack's data dir. */
  dataDir: string;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Strings of which one is in the command line of this component's process (usually a path of ours). */
  markers: string[];
}

export interface Component {
  name: ComponentName;
  title: string;
  /** Ports it listens on; empty for components that run no server. */
  ports: PortName[];
  /** Components that must be ready before this one starts. */
  dependsOn: ComponentName[];
  /**
   * Big or slow, and needed only by some tests: a plain `stack up` neither installs nor starts it; `stack up --with
   * <name>` (or DUCKHOUSE_STACK_WITH, or naming it) does. `stack down` stops it like any other.
   */
  optional?: boolean;
  /** A key that changes when the installed bits must change (version, pinned requirements). */
  installKey(config: StackConfig): string;
  /** Installs into `dir` (an empty folder under the cache). */
  install(ctx: ComponentContext, dir: string): Promise<void>;
  /** Prepares data on first start (initdb, storage format) and says how to launch; absent for install-only parts. */
  launch?(ctx: ComponentContext, dir: string): Promise<LaunchSpec>;
  /** One readiness probe: true when the service really answers. */
  ready(ctx: ComponentContext, dir: string): Promise<boolean>;
  /** Runs once the service is ready (create the bucket, the databases). */
  afterReady?(ctx: ComponentContext, dir: string): Promise<void>;
  /** The signal that shuts it down cleanly. */
  stopSignal: NodeJS.Signals;
}

const MARKER = '.duckhouse-installed';

export function installDir(config: StackConfig, component: Component): string {
  return path.join(config.paths.cacheDir, `${component.name}-${component.installKey(config)}`);
}

export function isInstalled(config: StackConfig, component: Component): boolean {
  return existsSync(path.join(installDir(config, component), MARKER));
}

/**
 * Installs a component unless its folder is complete. A folder without the completion marker (an interrupted
 * install) is wiped and redone, so an interrupted `up` never leaves a half-installed cache behind.
 */
export async function ensureInstalled(ctx: ComponentContext, component: Component): Promise<'cached' | 'installed'> {
  const dir = installDir(ctx.config, component);
  if (isInstalled(ctx.config, component)) return 'cached';
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await component.install(ctx, dir);
  await writeFile(path.join(dir, MARKER), `${JSON.stringify({ installedAt: new Date().toISOString() })}\n`);
  return 'installed';
}

export async function readInstalledAt(config: StackConfig, component: Component): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(path.join(installDir(config, component), MARKER), 'utf8')) as { installedAt: string })
      .installedAt;
  } catch {
    return undefined;
  }
}
