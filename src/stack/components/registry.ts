// Apicurio Registry 3.0.x, the Confluent-compatible schema registry (API at /apis/ccompat/v7), from Maven Central.
// 3.0.9 is the newest 3.x that runs on Java 17 (3.1+ is compiled for Java 21). Schemas are stored in the stack's
// Postgres (database duckhouse_registry), so they survive restarts like the Kafka records that reference them.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { StackError } from '../../shared/errors.js';
import type { Component } from '../component.js';
import { httpOk, mavenCopy, requireTool, runLogged } from '../tools.js';
import { REGISTRY_DATABASE } from './postgres.js';

export const APICURIO_VERSION = '3.0.9';
/** What GET /subjects may return (Apicurio's default, 1000, truncates silently). */
export const MAX_SUBJECTS = 1_000_000;

function runnerJar(dir: string): string {
  const jar = readdirSync(dir).find((f) => f.endsWith('-runner.jar'));
  if (jar) return path.join(dir, jar);
  if (existsSync(path.join(dir, 'quarkus-run.jar'))) return path.join(dir, 'quarkus-run.jar');
  throw new StackError('registry', `no runner jar in ${dir}; delete that folder and run \`duckhouse stack up\` again`);
}

export const registry: Component = {
  name: 'registry',
  title: `Apicurio Registry ${APICURIO_VERSION}`,
  ports: ['registry'],
  dependsOn: ['postgres'],
  stopSignal: 'SIGTERM',
  installKey: () => APICURIO_VERSION,

  async install(ctx, dir) {
    requireTool('registry', 'java', 'install Java 17: apt-get install openjdk-17-jre-headless');
    const tar = requireTool('registry', 'tar', 'install tar');
    ctx.progress(`fetching apicurio-registry-app ${APICURIO_VERSION} (~110 MB) from Maven Central…`);
    await mavenCopy('registry', `io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`, dir, ctx.installLogFile);
    const archive = path.join(dir, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`);
    await runLogged('registry', tar, ['xzf', archive, '-C', dir], { logFile: ctx.installLogFile });
    await runLogged('registry', 'rm', ['-f', archive], { logFile: ctx.installLogFile });
    runnerJar(dir);
  },

  async launch(ctx, dir) {
    const java = requireTool('registry', ctx.config.javaBin, 'install Java 17 or set DUCKHOUSE_JAVA');
    const { ports, credentials } = ctx.config;
    return {
      command: java,
      args: [
        '-Xms128m', '-Xmx512m', '-Djava.awt.headless=true',
        '-Dquarkus.http.host=127.0.0.1',
        `-Dquarkus.http.port=${ports.registry}`,
        `-Dapicurio.storage.snapshot.location=${ctx.dataDir}`,
        // The ccompat GET /subjects silently stops at 1000 subjects by default; tenant deletion lists them all.
        `-Dapicurio.ccompat.max-subjects=${MAX_SUBJECTS}`,
        '-jar', runnerJar(dir),
      ],
      cwd: dir,
      env: {
        ...process.env,
        APICURIO_STORAGE_KIND: 'sql',
        APICURIO_STORAGE_SQL_KIND: 'postgresql',
        APICURIO_DATASOURCE_URL: `jdbc:postgresql://127.0.0.1:${ports.postgres}/${REGISTRY_DATABASE}`,
        APICURIO_DATASOURCE_USERNAME: credentials.postgresUser,
        APICURIO_DATASOURCE_PASSWORD: credentials.postgresPassword,
        APICURIO_DATASOURCE_JDBC_INITIAL_SIZE: '2',
        APICURIO_DATASOURCE_JDBC_MIN_SIZE: '2',
        APICURIO_DATASOURCE_JDBC_MAX_SIZE: '20',
        QUARKUS_LOG_LEVEL: 'INFO',
      },
      markers: [ctx.dataDir],
    };
  },

  ready: (ctx) => httpOk(`http://127.0.0.1:${ctx.config.ports.registry}/apis/ccompat/v7/subjects`),
};
