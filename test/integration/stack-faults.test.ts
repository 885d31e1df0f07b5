// Fault behaviour of `duckhouse stack`, on a throw-away stack folder running only Redis (fast): a port in use, a
// component that dies, two `up`s at once, and `down` leaving nothing behind.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DuckHouseError } from '../../src/shared/errors.js';
import { loadStackConfig, type StackConfig } from '../../src/stack/config.js';
import { findProcessesMentioning, readPidRecord } from '../../src/stack/process.js';
import { stackDown, stackStatus, stackUp } from '../../src/stack/stack.js';
import { freeLoopbackPort } from '../../src/stack/tools.js';

async function throwAwayStack(): Promise<{ config: StackConfig; lines: string[]; report: (l: string) => void; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-stack-'));
  const config = loadStackConfig({ ...process.env, DUCKHOUSE_STACK_DIR: dir, DUCKHOUSE_REDIS_PORT: String(await freeLoopbackPort()) });
  const lines: string[] = [];
  return {
    config,
    lines,
    report: (line) => lines.push(line),
    cleanup: async () => {
      await stackDown(config, () => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const redisState = async (config: StackConfig) => (await stackStatus(config)).find((s) => s.name === 'redis');

test('a port already in use stops `up` with the port, the component and the variable that changes it', async (t) => {
  const stack = await throwAwayStack();
  t.after(stack.cleanup);
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: stack.config.ports.redis }, resolve));
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  await assert.rejects(stackUp(stack.config, stack.report, { only: ['redis'] }), (error: unknown) => {
    assert.ok(error instanceof DuckHouseError);
    assert.match(error.message, new RegExp(`redis: port ${stack.config.ports.redis} on 127.0.0.1 is already in use`));
    assert.match(error.message, new RegExp(`DUCKHOUSE_REDIS_PORT=<free port> duckhouse stack up`));
    return true;
  });
  assert.equal((await redisState(stack.config))?.state, 'stopped');
});

test('a component that dies shows as down with its log; the next `up` starts it again; `down` leaves no process', async (t) => {
  const stack = await throwAwayStack();
  t.after(stack.cleanup);
  await stackUp(stack.config, stack.report, { only: ['redis'] });
  assert.equal((await redisState(stack.config))?.state, 'up');

  const record = await readPidRecord(path.join(stack.config.paths.pidDir, 'redis.pid'));
  assert.ok(record);
  process.kill(record.pid, 'SIGKILL');
  for (let i = 0; i < 50 && (await redisState(stack.config))?.state !== 'down'; i++) await new Promise((r) => setTimeout(r, 100));
  const down = await redisState(stack.config);
  assert.equal(down?.state, 'down');
  assert.equal(down?.logFile, path.join(stack.config.paths.logDir, 'redis.log'));
  assert.match(down?.logTail ?? '', /Ready to accept connections|starting redis-server/i);

  await stackUp(stack.config, stack.report, { only: ['redis'] });
  assert.equal((await redisState(stack.config))?.state, 'up');
  assert.ok(stack.lines.some((l) => l.includes('had stopped unexpectedly')), stack.lines.join('\n'));

  await stackDown(stack.config, stack.report);
  assert.equal((await redisState(stack.config))?.state, 'stopped');
  assert.deepEqual(findProcessesMentioning(stack.config.paths.stackDir), []);
  assert.deepEqual(findProcessesMentioning(`127.0.0.1:${stack.config.ports.redis}`), []);
});

test('two `up`s at once: the second waits for the first, both succeed, one server runs', async (t) => {
  const stack = await throwAwayStack();
  t.after(stack.cleanup);
  await Promise.all([stackUp(stack.config, stack.report, { only: ['redis'] }), stackUp(stack.config, stack.report, { only: ['redis'] })]);
  assert.ok(stack.lines.some((l) => l.includes('waiting for it to finish')), stack.lines.join('\n'));
  assert.ok(stack.lines.some((l) => l.includes('already up')), stack.lines.join('\n'));
  assert.equal((await redisState(stack.config))?.state, 'up');
  assert.equal(findProcessesMentioning(`127.0.0.1:${stack.config.ports.redis}`).length, 1);
});
