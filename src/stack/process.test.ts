import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findOrphans, findProcessesMentioning, isRunning, readPidRecord, startDetached, stopGroup, stopProcess, tailFile } from './process.js';

test('a detached process is recorded, recognised by its marker, stopped with its group, and gone afterwards', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-proc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const marker = path.join(dir, 'marker');
  const pidFile = path.join(dir, 'svc.pid');
  const logFile = path.join(dir, 'svc.log');
  // A shell that starts a child: stopping must take the child too (process group).
  const pid = await startDetached({ command: 'sh', args: ['-c', `echo started ${marker}; sleep 60 & wait`, marker], logFile, pidFile, markers: [marker] });
  const record = await readPidRecord(pidFile);
  assert.equal(record?.pid, pid);
  assert.ok(record && isRunning(record));
  assert.ok(findProcessesMentioning(marker).includes(pid));
  assert.equal(isRunning({ ...record, markers: ['/not/ours'] }), false, 'a pid whose command line lacks the marker is not ours');

  assert.equal(await stopProcess(record, 'SIGTERM', 5000), 'stopped');
  assert.equal(isRunning(record), false);
  assert.deepEqual(findProcessesMentioning(marker), []);
  assert.match(tailFile(logFile, 5), /started/);
  assert.equal(await stopProcess(record, 'SIGTERM', 1000), 'not-running');
});

test('a process that ignores the stop signal is killed after the timeout', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-proc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const marker = path.join(dir, 'stubborn');
  const pidFile = path.join(dir, 'svc.pid');
  const ignoreTerm = "process.on('SIGTERM', () => {}); console.log('ignoring TERM'); setInterval(() => {}, 1000);";
  await startDetached({ command: process.execPath, args: ['-e', ignoreTerm, marker], logFile: path.join(dir, 'log'), pidFile, markers: [marker] });
  const record = await readPidRecord(pidFile);
  assert.ok(record);
  for (let i = 0; i < 100 && !tailFile(path.join(dir, 'log'), 1).includes('ignoring TERM'); i++) await sleep(50);
  assert.equal(await stopProcess(record, 'SIGTERM', 500), 'killed');
  assert.deepEqual(findProcessesMentioning(marker), []);
});

test('stopGroup ends a process that does not lead a group of its own (a stray found in /proc)', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  assert.ok(child.pid);
  assert.equal(await stopGroup(child.pid, 'SIGTERM', 5000), 'stopped');
  await exited;
  assert.equal(await stopGroup(child.pid, 'SIGTERM', 1000), 'not-running');
});

test('findOrphans names a process whose starter (by the pid in its command line) is gone, and only then', async (t) => {
  const marker = `-Dduckhouse.test-starter-${process.pid}-${Date.now()}=`;
  const starter = spawn('sleep', ['60'], { stdio: 'ignore' });
  const child = spawn('sh', ['-c', 'sleep 60', 'sh', `${marker}${starter.pid}`], { stdio: 'ignore' });
  t.after(() => {
    starter.kill('SIGKILL');
    child.kill('SIGKILL');
  });
  for (let i = 0; i < 50 && !findProcessesMentioning(marker).includes(child.pid!); i++) await sleep(20);
  assert.ok(findProcessesMentioning(marker).includes(child.pid!));
  assert.deepEqual(findOrphans(marker), [], 'its starter still runs');
  starter.kill('SIGKILL');
  await new Promise((resolve) => starter.once('exit', resolve));
  for (let i = 0; i < 50 && findOrphans(marker).length === 0; i++) await sleep(20);
  assert.deepEqual(findOrphans(marker), [child.pid]);
});
