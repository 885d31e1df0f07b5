// Trino 476, the downstream SQL reader of the slower interop test tier, from Maven Central: the plugin-less server
// (io.trino:trino-server-core:tar.gz) plus the Iceberg connector (io.trino:trino-iceberg:zip), trimmed of what the
// tier never loads. One coordinator that also runs tasks, on loopback, with dynamic catalogs kept in memory: every
// test creates (CREATE CATALOG … USING iceberg) and drops its own catalogs. Runs on its own Java 24+.
// OPTIONAL: a plain `stack up` never installs or starts it (about 540 MB to fetch); `stack up --with trino` does.
// Must never: listen beyond 127.0.0.1, or persist catalogs (they carry test credentials) across restarts.
import { readdirSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StackError } from '../../shared/errors.js';
import type { Component, ComponentContext } from '../component.js';
import { findJava } from '../java.js';
import { mavenCopy, requireTool, runLogged } from '../tools.js';

/**
 * 476, not the 435 the design first named: on the Maven Central we reach, io.trino:trino-server:435:tar.gz,
 * io.trino:trino-iceberg:435:zip and io.trino:trino-cli:435 answer 404 (docs/trino.md, ADR 0008).
 */
export const TRINO_VERSION = '476';
/** Trino 476 is compiled for Java 24. */
export const TRINO_MIN_JAVA = 24;
/** The second JDK of the project's machine image. */
export const DEFAULT_TRINO_JDK = '/usr/lib/jvm/temurin-25-jdk-amd64';
const TRINO_USER = 'duckhouse-stack';

/** Iceberg-plugin jars only catalog types or platforms the tier never uses need (Snowflake catalog, Alluxio cache, macOS). */
const UNUSED_PLUGIN_JARS = [/^net\.snowflake_snowflake-jdbc-/, /^org\.rocksdb_rocksdbjni-/, /^io\.netty_netty-codec-native-quic-.*-osx-/];

export function trinoJava(ctx: ComponentContext): string {
  return findJava({
    component: 'trino',
    minMajor: TRINO_MIN_JAVA,
    configured: ctx.config.trinoJava,
    envName: 'DUCKHOUSE_TRINO_JAVA',
    preferred: [DEFAULT_TRINO_JDK],
  });
}

const serverDir = (dir: string): string => path.join(dir, 'server');

function configProperties(ctx: ComponentContext, dir: string): string {
  const port = ctx.config.ports.trino;
  return [
    'coordinator=true',
    'node-scheduler.include-coordinator=true',
    `http-server.http.port=${port}`,
    'http-server.log.enabled=false',
    `discovery.uri=http://127.0.0.1:${port}`,
    'node.environment=duckhouse',
    'node.id=duckhouse-trino',
    'node.bind-ip=127.0.0.1',
    'node.internal-address=127.0.0.1',
    `plugin.dir=${path.join(serverDir(dir), 'plugin')}`,
    // Catalogs come and go with the tests (CREATE/DROP CATALOG) and live only as long as the process.
    'catalog.management=dynamic',
    'catalog.store=memory',
    '',
  ].join('\n');
}

/** Runs one statement through Trino's client protocol; true when it finishes without an error. */
export async function trinoAnswers(baseUrl: string, sql: string, timeoutMs = 10_000): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs);
  const headers = { 'X-Trino-User': TRINO_USER, 'X-Trino-Source': 'duckhouse-stack-probe' };
  try {
    let response = await fetch(`${baseUrl}/v1/statement`, { method: 'POST', body: sql, headers, signal });
    for (;;) {
      if (!response.ok) return false;
      const page = (await response.json()) as { nextUri?: string; error?: unknown; stats?: { state?: string } };
      if (page.error) return false;
      if (!page.nextUri) return page.stats?.state === 'FINISHED';
      response = await fetch(page.nextUri, { headers, signal });
    }
  } catch {
    return false;
  }
}

export const trino: Component = {
  name: 'trino',
  title: `Trino ${TRINO_VERSION} (Iceberg connector)`,
  ports: ['trino'],
  dependsOn: ['postgres', 'minio'],
  optional: true,
  stopSignal: 'SIGTERM',
  installKey: () => TRINO_VERSION,

  async install(ctx, dir) {
    trinoJava(ctx); // fail before a 540 MB download when no Java 24+ exists
    const tar = requireTool('trino', 'tar', 'install tar');
    const unzip = requireTool('trino', 'unzip', 'install unzip: apt-get install unzip');
    const log = { logFile: ctx.installLogFile };
    ctx.progress(`fetching trino-server-core ${TRINO_VERSION} (~195 MB) and trino-iceberg ${TRINO_VERSION} (~345 MB) from Maven Central…`);
    await mavenCopy('trino', `io.trino:trino-server-core:${TRINO_VERSION}:tar.gz`, dir, ctx.installLogFile);
    await mavenCopy('trino', `io.trino:trino-iceberg:${TRINO_VERSION}:zip`, dir, ctx.installLogFile);
    const server = serverDir(dir);
    await mkdir(server, { recursive: true });
    const serverArchive = path.join(dir, `trino-server-core-${TRINO_VERSION}.tar.gz`);
    const pluginArchive = path.join(dir, `trino-iceberg-${TRINO_VERSION}.zip`);
    await runLogged('trino', tar, ['xzf', serverArchive, '-C', server, '--strip-components=1'], log);
    // The core's own plugins (geospatial, exchange, python functions, authenticators…), its launcher binaries and
    // secrets plugin are never used here: Java is started directly with the Iceberg connector as the only plugin.
    for (const unused of ['plugin', 'bin', 'secrets-plugin']) await rm(path.join(server, unused), { recursive: true, force: true });
    const unpacked = path.join(dir, 'iceberg-unpacked');
    await runLogged('trino', unzip, ['-q', pluginArchive, '-d', unpacked], log);
    const pluginDir = path.join(server, 'plugin', 'iceberg');
    await mkdir(path.dirname(pluginDir), { recursive: true });
    await rename(path.join(unpacked, `trino-iceberg-${TRINO_VERSION}`), pluginDir);
    for (const jar of readdirSync(pluginDir)) {
      if (UNUSED_PLUGIN_JARS.some((pattern) => pattern.test(jar))) await rm(path.join(pluginDir, jar));
    }
    await rm(unpacked, { recursive: true, force: true });
    await rm(serverArchive, { force: true });
    await rm(pluginArchive, { force: true });
    if (!readdirSync(pluginDir).some((f) => f.startsWith(`io.trino_trino-iceberg-${TRINO_VERSION}`))) {
      throw new StackError('trino', `the Iceberg plugin in ${pluginDir} has no trino-iceberg jar; delete ${dir} and run \`duckhouse stack up --with trino\` again`, { logFile: ctx.installLogFile });
    }
  },

  async launch(ctx, dir) {
    const java = trinoJava(ctx);
    const etc = path.join(ctx.dataDir, 'etc');
    const tmp = path.join(ctx.dataDir, 'tmp');
    await mkdir(etc, { recursive: true });
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const config = path.join(etc, 'config.properties');
    await writeFile(config, configProperties(ctx, dir));
    return {
      command: java,
      args: [
        // A modest heap (the machines have 2 cores): query memory limits default to fractions of it.
        '-Xms256m', '-Xmx1G', '-XX:+UseG1GC', '-XX:+ExitOnOutOfMemoryError', '-XX:-OmitStackTraceInFastThrow',
        '-XX:ReservedCodeCacheSize=256M', '-Djdk.attach.allowAttachSelf=true', '-XX:+EnableDynamicAgentLoading',
        '--enable-native-access=ALL-UNNAMED', '--sun-misc-unsafe-memory-access=allow',
        '-Dfile.encoding=UTF-8', '-Djava.awt.headless=true', `-Djava.io.tmpdir=${tmp}`,
        '-cp', `${path.join(serverDir(dir), 'lib')}/*`,
        // node.data-dir is read before the config file (Trino's launcher passes it the same way).
        `-Dnode.data-dir=${ctx.dataDir}`,
        `-Dconfig=${config}`,
        'io.trino.server.TrinoServer',
      ],
      cwd: ctx.dataDir,
      markers: [config],
    };
  },

  /** Up when /v1/info no longer says `starting` and a trivial query runs to the end. */
  async ready(ctx) {
    const base = `http://127.0.0.1:${ctx.config.ports.trino}`;
    try {
      const response = await fetch(`${base}/v1/info`, { signal: AbortSignal.timeout(2000) });
      if (!response.ok) return false;
      const info = (await response.json()) as { starting?: boolean };
      if (info.starting !== false) return false;
    } catch {
      return false;
    }
    return trinoAnswers(base, 'SELECT 1');
  },
};
