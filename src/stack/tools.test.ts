import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { StackError } from '../shared/errors.js';
import { isPortFree, requireTool, runLogged } from './tools.js';

test('isPortFree tells a listening port from a free one', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  assert.equal(await isPortFree(port), false);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.equal(await isPortFree(port), true);
});

test('a failing install step names the component, the exit code, the output tail and the log file', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-tools-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const logFile = path.join(dir, 'install.log');
  await assert.rejects(runLogged('kafka', 'sh', ['-c', 'echo cannot reach repository >&2; exit 3'], { logFile }), (error: unknown) => {
    assert.ok(error instanceof StackError);
    assert.equal(error.component, 'kafka');
    assert.match(error.message, /^kafka: `sh -c` failed with exit code 3/);
    assert.match(error.message, /cannot reach repository/);
    assert.match(error.message, new RegExp(`log: ${logFile}`));
    return true;
  });
});

test('a missing tool is named with how to get it', () => {
  assert.throws(() => requireTool('minio', 'no-such-tool-xyz', 'install Go'), /minio: needs `no-such-tool-xyz` on PATH, but it was not found \(install Go\)/);
});
