import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Command, InvalidArgumentError, Option } from 'commander';
import { attachEnvironment, configFlag, envNameOf, findConfigFile, loadSettings } from './settings.js';

function program(): { root: Command; seen: Record<string, unknown>[] } {
  const seen: Record<string, unknown>[] = [];
  const positive = (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, found ${JSON.stringify(v)}`);
    return n;
  };
  const root = new Command('duckhouse').option('--config <file>').exitOverride();
  const sink = new Command('sink')
    .requiredOption('--topics <list>', 'topics')
    .option('--flush-rows <n>', 'rows', positive, 500)
    .option('--prefix <p>', 'prefix', 'duckhouse')
    .option('--no-commit-events', 'no events')
    .option('--force', 'again', false)
    .exitOverride()
    .action((flags: Record<string, unknown>) => void seen.push(flags));
  const produce = new Command('produce').exitOverride();
  produce.addCommand(new Command('csv').argument('<file>').option('--key <cols>').option('--prefix <p>', 'prefix', 'duckhouse').addOption(new Option('--compression <c>').choices(['gzip', 'none']).default('gzip')).exitOverride().action((_f: string, flags: Record<string, unknown>) => void seen.push(flags)));
  root.addCommand(sink).addCommand(produce);
  attachEnvironment(root);
  return { root, seen };
}

function configFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'duckhouse-settings-'));
  const file = path.join(dir, 'duckhouse.yaml');
  writeFileSync(file, text);
  return file;
}

async function run(args: string[], env: Record<string, string> = {}, config?: string): Promise<Record<string, unknown>> {
  const { root, seen } = program();
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    loadSettings(root, [...(config ? ['--config', config] : []), ...args], {});
    await root.parseAsync(['node', 'duckhouse', ...(config ? ['--config', config] : []), ...args]);
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  return seen[0]!;
}

describe('settings', () => {
  it('names variables DUCKHOUSE_<OPTION> for shared options and DUCKHOUSE_<COMMAND>_<OPTION> for the rest; none for confirmations and flags', () => {
    const { root } = program();
    const sink = root.commands.find((c) => c.name() === 'sink')!;
    const csv = root.commands.find((c) => c.name() === 'produce')!.commands[0]!;
    const name = (c: Command, long: string): string | undefined => envNameOf(c, c.options.find((o) => o.long === long)!);
    assert.equal(name(sink, '--flush-rows'), 'DUCKHOUSE_SINK_FLUSH_ROWS');
    assert.equal(name(sink, '--prefix'), 'DUCKHOUSE_PREFIX');
    assert.equal(name(csv, '--key'), 'DUCKHOUSE_PRODUCE_CSV_KEY');
    assert.equal(name(sink, '--force'), undefined);
    assert.equal(name(sink, '--no-commit-events'), undefined);
  });

  it('takes the command line over the environment over the file over the default', async () => {
    const file = configFile('prefix: from-file\nsink:\n  flush-rows: 7\n  topics: a,b\n');
    assert.deepEqual(await run(['sink'], {}, file), { topics: 'a,b', flushRows: 7, prefix: 'from-file', commitEvents: true, force: false });
    const withEnv = await run(['sink'], { DUCKHOUSE_SINK_FLUSH_ROWS: '9', DUCKHOUSE_PREFIX: 'from-env' }, file);
    assert.equal(withEnv.flushRows, 9);
    assert.equal(withEnv.prefix, 'from-env');
    const withFlag = await run(['sink', '--flush-rows', '11', '--prefix', 'cli'], { DUCKHOUSE_SINK_FLUSH_ROWS: '9' }, file);
    assert.equal(withFlag.flushRows, 11);
    assert.equal(withFlag.prefix, 'cli');
    assert.equal((await run(['sink', '--topics', 't'])).flushRows, 500);
  });

  it('reads nested sections for sub-commands, negated flags as false, and checks values with the option\'s parser', async () => {
    const file = configFile('produce:\n  csv:\n    key: id\n    compression: none\nsink:\n  topics: t\n  commit-events: false\n');
    const csv = await run(['produce', 'csv', 'x.csv'], {}, file);
    assert.equal(csv.key, 'id');
    assert.equal(csv.compression, 'none');
    assert.equal((await run(['sink'], {}, file)).commitEvents, false);
    const bad = configFile('sink:\n  flush-rows: 0\n');
    assert.throws(() => loadSettings(program().root, ['--config', bad], {}), /config file .*duckhouse\.yaml: flush-rows: 0: expected a whole number ≥ 1/);
    const badChoice = configFile('produce:\n  csv:\n    compression: lz4\n');
    assert.throws(() => loadSettings(program().root, ['--config', badChoice], {}), /compression: "lz4": Allowed choices are gzip, none/);
  });

  it('refuses unknown keys, keys of another command, confirmations and lists, naming the file and the key', () => {
    const cases: [string, RegExp][] = [
      ['flsh-rows: 3\n', /unknown setting "flsh-rows": no command has an option --flsh-rows/],
      ['produce:\n  csv:\n    flush-rows: 3\n', /unknown setting "produce\.csv\.flush-rows": `duckhouse produce csv` has no option --flush-rows/],
      ['sink:\n  force: true\n', /"sink\.force" can only be given on the command line/],
      ['sink:\n  topics: [a, b]\n', /"sink\.topics" must be a single value, found a list/],
      ['- a\n', /expected a mapping of settings at the top, found a list/],
      ['sink: {topics: [\n', /not valid YAML/],
    ];
    for (const [text, expected] of cases) {
      const file = configFile(text);
      assert.throws(() => loadSettings(program().root, ['--config', file], {}), (error: Error) => {
        assert.match(error.message, expected);
        assert.ok(error.message.includes(file), `${error.message} names the file`);
        return true;
      });
    }
  });

  it('finds the file from --config, then $DUCKHOUSE_CONFIG, then ./duckhouse.yaml, and says when a named one is missing', () => {
    const file = configFile('prefix: p\n');
    const dir = path.dirname(file);
    assert.equal(configFlag(['sink', '--config=a.yaml']), 'a.yaml');
    assert.equal(configFlag(['--', '--config', 'a.yaml']), undefined);
    assert.equal(findConfigFile(undefined, {}, dir), file);
    assert.equal(findConfigFile(undefined, { DUCKHOUSE_CONFIG: file }, '/'), file);
    assert.equal(findConfigFile(undefined, {}, tmpdir()), undefined);
    assert.throws(() => findConfigFile('nope.yaml', {}, dir), /config file .*nope\.yaml does not exist \(from --config\)/);
  });
});
