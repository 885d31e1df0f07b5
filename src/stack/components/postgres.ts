// PostgreSQL from Debian's packages, run as the stack's own cluster: own data dir and port, loopback only,
// wal_level=logical for CDC, and as a non-root user (`postgres`) when the stack runs as root.
// Never touches the system's own clusters (/var/lib/postgresql) or their ports.
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { StackError } from '../../shared/errors.js';
import type { Component, ComponentContext } from '../component.js';
import type { StackConfig } from '../config.js';
import { aptInstall, isRoot, runLogged, userIds } from '../tools.js';

/** Databases created on first start besides the main one: the registry's storage. */
export const REGISTRY_DATABASE = 'duckhouse_registry';

function findBinDir(): string | undefined {
  const override = process.env.DUCKHOUSE_PG_BINDIR;
  if (override) return override;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(base, versions[0], 'bin') : undefined;
}

/** The user the server runs as: `postgres` when we are root (Postgres refuses root), else ourselves. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const ids = userIds('postgres');
  if (!ids) {
    throw new StackError('postgres', 'runs as root, so the server needs the non-root user `postgres` (created by Debian\'s postgresql package), which does not exist');
  }
  return ids;
}

export function postgresClient(config: StackConfig, database = 'postgres'): pg.Client {
  return new pg.Client({
    host: '127.0.0.1',
    port: config.ports.postgres,
    user: config.credentials.postgresUser,
    password: config.credentials.postgresPassword,
    database,
    connectionTimeoutMillis: 2000,
  });
}

export const postgres: Component = {
  name: 'postgres',
  title: 'PostgreSQL',
  ports: ['postgres'],
  dependsOn: [],
  stopSignal: 'SIGINT', // fast shutdown: SIGTERM would wait for every client to leave
  installKey: () => 'system',

  async install(ctx, dir) {
    if (!findBinDir()) {
      ctx.progress('installing Debian package postgresql (apt-get)…');
      await aptInstall('postgres', ['postgresql'], ctx.installLogFile);
    }
    const bin = findBinDir();
    if (!bin) throw new StackError('postgres', 'no server binaries found under /usr/lib/postgresql/*/bin after installing', { logFile: ctx.installLogFile });
    await writeFile(path.join(dir, 'bindir'), `${bin}\n`);
  },

  async launch(ctx: ComponentContext) {
    const bin = findBinDir();
    if (!bin) throw new StackError('postgres', 'server binaries vanished from /usr/lib/postgresql; run `duckhouse stack up` again to reinstall');
    const user = serverUser();
    const pgdata = path.join(ctx.dataDir, 'pgdata');
    if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
      ctx.progress('creating the database cluster (initdb)…');
      await rm(pgdata, { recursive: true, force: true });
      await mkdir(pgdata, { recursive: true, mode: 0o700 });
      const pwfile = path.join(ctx.dataDir, '.initdb-password');
      await writeFile(pwfile, `${ctx.config.credentials.postgresPassword}\n`, { mode: 0o600 });
      if (user) {
        await chown(ctx.dataDir, user.uid, user.gid);
        await chown(pgdata, user.uid, user.gid);
        await chown(pwfile, user.uid, user.gid);
      }
      try {
        await runLogged(
          'postgres',
          path.join(bin, 'initdb'),
          ['-D', pgdata, '-U', ctx.config.credentials.postgresUser, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C'],
          { logFile: ctx.installLogFile, uid: user?.uid, gid: user?.gid, cwd: ctx.dataDir },
        );
      } catch (error) {
        throw new StackError('postgres', `initdb failed; if the log says "Permission denied", the user postgres cannot reach ${pgdata}: set DUCKHOUSE_STACK_DIR to a folder every user can traverse`, {
          logFile: ctx.installLogFile,
          cause: error,
        });
      } finally {
        await rm(pwfile, { force: true });
      }
      await chmod(pgdata, 0o700);
    }
    return {
      command: path.join(bin, 'postgres'),
      args: [
        '-D', pgdata,
        '-c', `port=${ctx.config.ports.postgres}`,
        '-c', 'listen_addresses=127.0.0.1',
        '-c', "unix_socket_directories=",
        '-c', 'wal_level=logical',
        '-c', 'max_replication_slots=20',
        '-c', 'max_wal_senders=20',
        '-c', 'max_connections=200',
        '-c', 'fsync=on',
      ],
      uid: user?.uid,
      gid: user?.gid,
      markers: [pgdata],
    };
  },

  async ready(ctx) {
    const client = postgresClient(ctx.config);
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  async afterReady(ctx) {
    const client = postgresClient(ctx.config);
    await client.connect();
    try {
      for (const database of [ctx.config.credentials.postgresDatabase, REGISTRY_DATABASE]) {
        const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
        if (exists.rowCount === 0) await client.query(`create database "${database}"`);
      }
      const wal = await client.query<{ wal_level: string }>('show wal_level');
      if (wal.rows[0]?.wal_level !== 'logical') {
        throw new StackError('postgres', `wal_level is ${wal.rows[0]?.wal_level}, expected logical`, { logFile: ctx.logFile });
      }
    } finally {
      await client.end();
    }
  },
};
