import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CommanderError, InvalidArgumentError } from 'commander';
import type * as SinkCommand from './sink-command.js';

type SinkCommandModule = typeof SinkCommand;
const WATCHED_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'uncaughtException', 'unhandledRejection'] as const;

const listenerCounts = (): Record<string, number> => Object.fromEntries(WATCHED_EVENTS.map((e) => [e, process.listenerCount(e)]));
/** How many of each kind of active resource (sockets, timers, handles) the process holds. */
function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

let mod: SinkCommandModule;
let imported: { listenersBefore: Record<string, number>; listenersAfter: Record<string, number>; added: string[] };

before(async () => {
  const listenersBefore = listenerCounts();
  const resourcesBefore = resourceCounts();
  // Imported here, not statically, so what importing does can be observed.
  mod = await import('./sink-command.js');
  // Give anything started on import (a connection, a timer) the chance to show up.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const added: string[] = [];
  for (const [kind, n] of resourceCounts()) {
    const extra = n - (resourcesBefore.get(kind) ?? 0);
    if (extra > 0) added.push(`${extra} × ${kind}`);
  }
  imported = { listenersBefore, listenersAfter: listenerCounts(), added };
});

function invalid(fn: () => unknown, text: string, expected: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, `${JSON.stringify(text)}: ${String(error)}`);
    assert.equal(error.code, 'commander.invalidArgument');
    assert.match(error.message, expected);
    assert.ok(error.message.endsWith(`found ${JSON.stringify(text)}`), error.message);
    return true;
  }, JSON.stringify(text));
}

describe('importing sink-command', () => {
  it('starts nothing: no process listeners, sockets or timers', () => {
    // Only additions count (the loader may drop a listener of its own meanwhile).
    for (const event of WATCHED_EVENTS) assert.ok(imported.listenersAfter[event]! <= imported.listenersBefore[event]!, `a process "${event}" listener was added on import`);
    assert.deepEqual(imported.added, []);
    assert.equal(typeof mod.sinkCommand, 'function');
  });

  it('building the command starts nothing either, and refuses bad sizes and durations through parseBytes/parseDuration', async () => {
    const listeners = listenerCounts();
    for (const args of [['--flush-bytes', 'lots'], ['--max-buffered', '1tb'], ['--flush-interval', 'soon']]) {
      const command = mod.sinkCommand().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
      await assert.rejects(command.parseAsync(args, { from: 'user' }), (error: unknown) => {
        assert.ok(error instanceof CommanderError, String(error));
        assert.equal(error.code, 'commander.invalidArgument');
        assert.match(error.message, new RegExp(`${args[0]}.*found "${args[1]}"`));
        return true;
      }, args.join(' '));
    }
    for (const event of WATCHED_EVENTS) assert.ok(listenerCounts()[event]! <= listeners[event]!, `a process "${event}" listener was added`);
    const { DEFAULT_FLUSH } = await import('../consumers/sink.js');
    const defaults = mod.sinkCommand().opts();
    assert.equal(defaults.flushBytes, DEFAULT_FLUSH.bytes);
    assert.equal(defaults.flushInterval, DEFAULT_FLUSH.intervalMs);
    assert.equal(defaults.maxBuffered, 512 * 1024 * 1024);
  });
});

describe('parseBytes', () => {
  it('reads plain byte counts and binary units, in any case, with or without a space', () => {
    const cases: [string, number][] = [
      ['1048576', 1_048_576], ['7', 7], [' 42 ', 42], ['10b', 10], ['10B', 10],
      ['1k', 1024], ['1kb', 1024], ['1KiB', 1024], ['2K', 2048],
      ['64m', 64 * 1024 ** 2], ['128MiB', 128 * 1024 ** 2], ['128 MB', 128 * 1024 ** 2], ['1mib', 1024 ** 2],
      ['2g', 2 * 1024 ** 3], ['2GB', 2 * 1024 ** 3], ['1gib', 1024 ** 3],
      ['0.5k', 512], ['1.5 MiB', 1.5 * 1024 ** 2], ['1.25g', 1.25 * 1024 ** 3],
    ];
    for (const [text, bytes] of cases) assert.equal(mod.parseBytes(text), bytes, text);
  });

  it('rounds fractional bytes to whole ones', () => {
    assert.equal(mod.parseBytes('1.5'), 2);
    assert.equal(mod.parseBytes('0.001k'), 1);
  });

  it('refuses anything else with InvalidArgumentError saying what was expected and found', () => {
    for (const text of ['', ' ', 'abc', 'MiB', '-1', '-1k', '+5', '1tb', '1 k b', '1e6', '1.', '.5k', '12kk', '5 mbps', '1,024', '0x10', 'Infinity', '1 2']) {
      invalid(() => mod.parseBytes(text), text, /^expected a size like 128MiB, 64m or 1048576, found /);
    }
  });

  it('refuses sizes that come to zero bytes', () => {
    for (const text of ['0', '0k', '0.4', '0.0001k']) {
      assert.throws(() => mod.parseBytes(text), InvalidArgumentError, text);
    }
  });
});

describe('parseDuration', () => {
  it('reads milliseconds (the default unit), seconds and minutes', () => {
    const cases: [string, number][] = [
      ['5000', 5000], ['500ms', 500], ['5s', 5000], ['2m', 120_000], ['1.5s', 1500], ['0.5m', 30_000],
      [' 250 ms ', 250], ['30 s', 30_000], ['1.4', 1], ['1.5ms', 2],
    ];
    for (const [text, ms] of cases) assert.equal(mod.parseDuration(text), ms, text);
  });

  it('refuses anything else with InvalidArgumentError saying what was expected and found', () => {
    for (const text of ['', ' ', 'soon', 's', 'ms', '-1s', '-5', '5h', '1d', '5sec', '5 seconds', '1m30s', '1e3', '.5s', '5.s', '5 s s', '0x10', 'Infinity']) {
      invalid(() => mod.parseDuration(text), text, /^expected a duration like 5s, 500ms or 2m, found /);
    }
  });
});
