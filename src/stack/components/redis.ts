// Redis from Debian's packages, run as the stack's own server for BullMQ: loopback, own port and folder,
// a password, no persistence (queues are rebuilt from commits). Never uses the system's redis service.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { StackError } from '../../shared/errors.js';
import type { Component } from '../component.js';
import { aptInstall, which } from '../tools.js';

function redisServer(): string | undefined {
  return which('redis-server') ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : undefined);
}

export const redis: Component = {
  name: 'redis',
  title: 'Redis',
  ports: ['redis'],
  dependsOn: [],
  stopSignal: 'SIGTERM',
  installKey: () => 'system',

  async install(ctx) {
    if (!redisServer()) {
      ctx.progress('installing Debian package redis-server (apt-get)…');
      await aptInstall('redis', ['redis-server'], ctx.installLogFile);
    }
    if (!redisServer()) throw new StackError('redis', 'redis-server is still missing after installing', { logFile: ctx.installLogFile });
  },

  async launch(ctx) {
    const server = redisServer();
    if (!server) throw new StackError('redis', 'redis-server vanished from PATH; run `duckhouse stack up` again to reinstall');
    await mkdir(ctx.dataDir, { recursive: true });
    // The password lives in a 0600 config file, not on the command line where `ps` would show it.
    const conf = path.join(ctx.dataDir, 'redis.conf');
    await writeFile(
      conf,
      [
        'bind 127.0.0.1',
        `port ${ctx.config.ports.redis}`,
        `dir ${ctx.dataDir}`,
        'save ""',
        'appendonly no',
        'daemonize no',
        'protected-mode yes',
        `requirepass ${ctx.config.credentials.redisPassword}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // redis-server retitles itself `redis-server 127.0.0.1:<port>` once running: either command line is ours.
    return { command: server, args: [conf], markers: [conf, `127.0.0.1:${ctx.config.ports.redis}`] };
  },

  async ready(ctx) {
    const client = new Redis({
      host: '127.0.0.1',
      port: ctx.config.ports.redis,
      password: ctx.config.credentials.redisPassword,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  },
};
