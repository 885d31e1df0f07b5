import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { StackError } from '../shared/errors.js';
import { isPortFree, requireTool, runLogged, unresolvedArtifact } from './tools.js';

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

test("Maven's failure output is read for the artifact it could not resolve, and what needed it", () => {
  assert.equal(
    unresolvedArtifact('[ERROR] Failed to execute goal on project x: Could not resolve dependencies for project dev.duckhouse.stack:x:pom:1: Could not find artifact io.confluent:kafka-connect-avro-converter:jar:7.7.1 in central (https://repo.maven.apache.org/maven2) -> [Help 1]'),
    'io.confluent:kafka-connect-avro-converter:jar:7.7.1',
  );
  assert.equal(
    unresolvedArtifact('[ERROR] Failed to execute goal on project x: Could not resolve dependencies for project dev.duckhouse.stack:x:pom:1: Failed to collect dependencies at io.apicurio:apicurio-registry-utils-converter:jar:3.0.9: Failed to read artifact descriptor for io.apicurio:apicurio-registry-utils-converter:jar:3.0.9: Could not find artifact io.apicurio:apicurio-registry:pom:3.0.9 in central'),
    'io.apicurio:apicurio-registry:pom:3.0.9 (needed by io.apicurio:apicurio-registry-utils-converter:jar:3.0.9)',
  );
  assert.equal(unresolvedArtifact('io.x:y:jar:1 was not found in https://repo.maven.apache.org/maven2 during a previous attempt.'), 'io.x:y:jar:1');
  assert.equal(unresolvedArtifact('[ERROR] Network is unreachable'), undefined);
});
