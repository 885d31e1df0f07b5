// Helpers the stack components share to install themselves: run a tool with its output in a log, find tools on
// PATH, install Debian packages, fetch Maven Central artifacts, and check that a loopback port is free.
// Must never install anything outside the stack's cache folder, except Debian packages through apt.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { StackError } from '../shared/errors.js';
import { tailFile } from './process.js';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
  uid?: number;
  gid?: number;
}

/** Runs a command to completion, appending its output to `logFile`; throws a StackError with the log's tail on failure. */
export async function runLogged(component: string, command: string, args: string[], options: RunOptions): Promise<void> {
  await mkdir(path.dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  writeSync(fd, `\n$ ${command} ${args.join(' ')}\n`);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
        uid: options.uid,
        gid: options.gid,
      });
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) {
      const tail = tailFile(options.logFile, 12);
      throw new StackError(component, `\`${path.basename(command)} ${args[0] ?? ''}\` failed with exit code ${code}:\n${indent(tail)}`, {
        logFile: options.logFile,
      });
    }
  } catch (error) {
    if (error instanceof StackError) throw error;
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `\`${command}\` was not found on PATH` : String(error);
    throw new StackError(component, reason, { logFile: options.logFile, cause: error });
  } finally {
    closeSync(fd);
  }
}

export function indent(text: string, prefix = '    '): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

/** The absolute path of `tool` on PATH, or undefined. */
export function which(tool: string): string | undefined {
  if (tool.includes('/')) return existsSync(tool) ? tool : undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, tool);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Throws a StackError naming the component and the missing tool, with how to get it. */
export function requireTool(component: string, tool: string, hint: string): string {
  const found = which(tool);
  if (!found) throw new StackError(component, `needs \`${tool}\` on PATH, but it was not found (${hint})`);
  return found;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Installs Debian packages with apt-get when running as root. Services the packages would start on their default
 * ports are held back with a temporary policy-rc.d, so the only servers running are the stack's own.
 */
export async function aptInstall(component: string, packages: string[], logFile: string): Promise<void> {
  if (!isRoot() || !which('apt-get')) {
    throw new StackError(
      component,
      `needs the Debian package(s) ${packages.join(', ')}; install them with \`sudo apt-get install -y ${packages.join(' ')}\` and run \`duckhouse stack up\` again`,
    );
  }
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) await writeFile(policy, '#!/bin/sh\n# written by duckhouse stack up while installing packages\nexit 101\n', { mode: 0o755 });
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    try {
      await runLogged(component, 'apt-get', ['install', '-y', '--no-install-recommends', ...packages], { logFile, env });
    } catch {
      await runLogged(component, 'apt-get', ['update'], { logFile, env });
      await runLogged(component, 'apt-get', ['install', '-y', '--no-install-recommends', ...packages], { logFile, env });
    }
  } finally {
    if (ownPolicy) await rm(policy, { force: true });
  }
}

/**
 * The artifact Maven could not resolve, from its output: "Could not find artifact X", or "X was not found in <repo>
 * during a previous attempt" (a cached miss), with the artifact whose descriptor needed it ("Failed to read artifact
 * descriptor for Y": a missing parent POM fails that way). Undefined when the output names none.
 */
export function unresolvedArtifact(mavenOutput: string): string | undefined {
  const clean = (s: string | undefined): string | undefined => s?.replace(/[:,.]+$/, '');
  const missing = clean(/Could not find artifact (\S+)/.exec(mavenOutput)?.[1] ?? /(\S+) was not found in \S+ during a previous attempt/.exec(mavenOutput)?.[1]);
  const descriptor = clean(/Failed to read artifact descriptor for (\S+)/.exec(mavenOutput)?.[1]);
  if (missing && descriptor && missing !== descriptor) return `${missing} (needed by ${descriptor})`;
  return missing ?? descriptor;
}

/** Runs mvn; when it fails to resolve an artifact, the error names that artifact (and what needed it). */
async function runMaven(component: string, args: string[], what: string, options: RunOptions): Promise<void> {
  const mvn = requireTool(component, 'mvn', 'install Maven: apt-get install maven');
  const logStart = existsSync(options.logFile) ? statSync(options.logFile).size : 0;
  try {
    await runLogged(component, mvn, ['-B', '-q', '-Dstyle.color=never', ...args], options);
  } catch (error) {
    const output = (await readFile(options.logFile, 'utf8').catch(() => '')).slice(logStart);
    const missing = unresolvedArtifact(output);
    if (missing) throw new StackError(component, `Maven could not resolve ${missing} (needed for ${what}); only Maven Central is used`, { logFile: options.logFile, cause: error });
    throw error;
  }
}

/** Copies one Maven artifact (`group:artifact:version[:type[:classifier]]`) into `outputDir` through mvn. */
export async function mavenCopy(component: string, artifact: string, outputDir: string, logFile: string): Promise<void> {
  await runMaven(component, ['dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${outputDir}`], artifact, { logFile });
}

export interface MavenDependency {
  groupId: string;
  artifactId: string;
  version: string;
}

/**
 * Copies the runtime classpath of the given dependencies into `outputDir` through a throw-away pom. `exclude` names
 * group ids left out of every dependency's tree (a plugin folder must not carry its host's own libraries).
 */
export async function mavenCopyDependencies(
  component: string,
  dependencies: MavenDependency[],
  workDir: string,
  outputDir: string,
  logFile: string,
  exclude: readonly string[] = [],
): Promise<void> {
  const exclusions =
    exclude.length === 0 ? '' : `<exclusions>${exclude.map((groupId) => `<exclusion><groupId>${groupId}</groupId><artifactId>*</artifactId></exclusion>`).join('')}</exclusions>`;
  const deps = dependencies
    .map((d) => `    <dependency><groupId>${d.groupId}</groupId><artifactId>${d.artifactId}</artifactId><version>${d.version}</version>${exclusions}</dependency>`)
    .join('\n');
  const pom = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.duckhouse.stack</groupId>
  <artifactId>${component}-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
</project>
`;
  await mkdir(workDir, { recursive: true });
  await writeFile(path.join(workDir, 'pom.xml'), pom);
  const what = dependencies.map((d) => `${d.groupId}:${d.artifactId}:${d.version}`).join(', ');
  await runMaven(component, ['dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${outputDir}`], what, { cwd: workDir, logFile });
}

/**
 * A free 127.0.0.1 port below Linux's ephemeral range (32768+): a port the kernel hands out for outgoing connections
 * could be taken by some client between this check and the server's own bind, which would fail it for the wrong reason.
 */
export async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await isPortFree(port)) return port;
  }
}

/** Resolves true when nothing listens on 127.0.0.1:`port`. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Resolves true when a TCP connection to 127.0.0.1:`port` opens. */
export function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** GETs a URL and resolves true on a 2xx answer within the timeout. */
export async function httpOk(url: string, timeoutMs = 2000, headers: Record<string, string> = {}): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** The uid and gid of a local user, or undefined when it does not exist. */
export function userIds(user: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export { isRoot };
