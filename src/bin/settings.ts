// Where a command's settings come from, strongest first: the command line, the environment, the config file, the
// built-in default. One rule for every command, applied to the whole commander tree once it is built:
//   env    DUCKHOUSE_<OPTION> for the options many commands share (brokers, registry, prefix, catalog, warehouse, …),
//          DUCKHOUSE_<COMMAND PATH>_<OPTION> for the rest (DUCKHOUSE_SERVE_PORT, DUCKHOUSE_SINK_FLUSH_INTERVAL);
//          `--help` shows each option's variable.
//   file   YAML: `--config <file>`, else $DUCKHOUSE_CONFIG, else ./duckhouse.yaml when present. Top-level keys set an
//          option for every command that has it; a key named like a command holds that command's own settings
//          (nested for sub-commands: `produce: {csv: {key: id}}`). Keys are the long flag names (`flush-interval`);
//          a `--no-x` flag is `x: false`. Unknown keys are an error that names the file and the key.
// Must never: take a destructive confirmation (--yes, --force, --purge, …) from the environment or a file, or print a
// setting's value (it may be a secret).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { DuckHouseError } from '../shared/errors.js';

/** Options that many commands share: their variable has no command part. */
export const SHARED_OPTIONS: ReadonlySet<string> = new Set([
  'brokers', 'registry', 'prefix', 'catalog', 'catalog-name', 'warehouse', 'duckdb', 'views-cache', 'dbt-project',
]);

/** Options that confirm something destructive or one-off: the command line only. */
export const COMMAND_LINE_ONLY: ReadonlySet<string> = new Set([
  'yes', 'force', 'purge', 'resnapshot', 'help', 'version', 'config', 'admin', 'dry-run', 'follow',
]);

export const DEFAULT_CONFIG_FILES = ['duckhouse.yaml', 'duckhouse.yml'];

const envPart = (text: string): string => text.toUpperCase().replace(/[^A-Z0-9]+/g, '_');

/** The long name of an option without dashes or a `no-` (`--no-tombstones` → `tombstones`). */
export function settingName(option: Option): string | undefined {
  const long = option.long?.replace(/^--/, '');
  if (!long) return undefined;
  return option.negate ? long.replace(/^no-/, '') : long;
}

/** The command path below the root: `produce csv`. */
function commandPath(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}

/** The environment variable of an option of `command`, or undefined when it can only be given on the command line. */
export function envNameOf(command: Command, option: Option): string | undefined {
  const name = settingName(option);
  if (!name || COMMAND_LINE_ONLY.has(name) || option.negate) return undefined;
  if (!option.required && !option.optional) return undefined; // a boolean flag: the command line or the file
  const parts = SHARED_OPTIONS.has(name) ? [name] : [...commandPath(command), name];
  return `DUCKHOUSE_${parts.map(envPart).join('_')}`;
}

function* walk(command: Command): Generator<Command> {
  yield command;
  for (const sub of command.commands) yield* walk(sub);
}

/** Gives every option of the tree its environment variable (commander reads it when parsing and shows it in --help). */
export function attachEnvironment(program: Command): void {
  for (const command of walk(program)) {
    for (const option of command.options) {
      if (option.envVar) continue;
      const name = envNameOf(command, option);
      if (!name) continue;
      option.env(name);
      // commander wires its env listener only for options that had a variable when they were added
      command.on(`optionEnv:${option.name()}`, (value: string) => {
        const key = option.attributeName();
        let parsed: unknown = value;
        try {
          if (option.parseArg) parsed = option.parseArg(value, command.getOptionValue(key) as never);
        } catch (error) {
          command.error(`error: ${name}=${JSON.stringify(value)} (option ${option.long}) is invalid: ${(error as Error).message}`, { exitCode: 2, code: 'commander.invalidArgument' });
        }
        command.setOptionValueWithSource(key, parsed, 'env');
      });
    }
  }
}

export interface ConfigFile {
  file: string;
  settings: Record<string, unknown>;
}

/** The config file to read: the flag, then $DUCKHOUSE_CONFIG, then ./duckhouse.yaml; undefined when none applies. */
export function findConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const named = flag ?? env.DUCKHOUSE_CONFIG;
  if (named) {
    const file = path.resolve(cwd, named);
    if (!existsSync(file)) throw new DuckHouseError('config', `config file ${file} does not exist (from ${flag ? '--config' : '$DUCKHOUSE_CONFIG'})`);
    return file;
  }
  return DEFAULT_CONFIG_FILES.map((f) => path.join(cwd, f)).find((f) => existsSync(f));
}

export function readConfigFile(file: string): ConfigFile {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DuckHouseError('config', `config file ${file}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  if (parsed === null || parsed === undefined) return { file, settings: {} };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new DuckHouseError('config', `config file ${file}: expected a mapping of settings at the top, found ${Array.isArray(parsed) ? 'a list' : typeof parsed}`);
  return { file, settings: parsed as Record<string, unknown> };
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every option name any command has, and every command path: what a config file may say. */
function knownNames(program: Command): { options: Set<string>; commands: Map<string, Command> } {
  const options = new Set<string>();
  const commands = new Map<string, Command>();
  for (const command of walk(program)) {
    if (command !== program) commands.set(commandPath(command).join(' '), command);
    for (const option of command.options) {
      const name = settingName(option);
      if (name && !COMMAND_LINE_ONLY.has(name)) options.add(name);
    }
  }
  return { options, commands };
}

/** Reads, checks and applies the config file (if any) to every command of the tree; returns its path. */
export function loadSettings(program: Command, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = findConfigFile(configFlag(argv), env);
  if (!file) return undefined;
  const config = readConfigFile(file);
  validateConfig(program, config);
  for (const command of walk(program)) applyConfig(command, config);
  return file;
}

/** `--config <file>` or `--config=<file>` anywhere before a lone `--` (read before commander parses). */
export function configFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (arg === '--config') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) throw new DuckHouseError('config', '--config needs a file');
      return value;
    }
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

/** Refuses keys that no command knows, naming the file and the key path. */
export function validateConfig(program: Command, config: ConfigFile): void {
  const { options, commands } = knownNames(program);
  const check = (settings: Record<string, unknown>, at: string[]): void => {
    for (const [key, value] of Object.entries(settings)) {
      const here = [...at, key];
      const sub = commands.get(here.join(' '));
      if (sub && isMapping(value)) {
        check(value, here);
        continue;
      }
      const owner = at.length === 0 ? undefined : commands.get(at.join(' '));
      const known = owner ? owner.options.some((o) => settingName(o) === key) : options.has(key);
      if (COMMAND_LINE_ONLY.has(key)) throw new DuckHouseError('config', `config file ${config.file}: "${here.join('.')}" can only be given on the command line`);
      if (!known) {
        const where = owner ? `\`duckhouse ${at.join(' ')}\` has no option --${key}` : `no command has an option --${key}`;
        throw new DuckHouseError('config', `config file ${config.file}: unknown setting "${here.join('.')}": ${where}`);
      }
      if (isMapping(value) || Array.isArray(value)) throw new DuckHouseError('config', `config file ${config.file}: "${here.join('.')}" must be a single value, found a ${Array.isArray(value) ? 'list' : 'mapping'}`);
    }
  };
  check(config.settings, []);
}

/** The file's value for `name` on `command`: the command's own section first, then its parents', then the top level. */
function configValue(config: ConfigFile, command: Command, name: string): unknown {
  const parts = commandPath(command);
  for (let depth = parts.length; depth >= 0; depth--) {
    let section: unknown = config.settings;
    for (const part of parts.slice(0, depth)) section = isMapping(section) ? section[part] : undefined;
    if (isMapping(section) && name in section && !isMapping(section[name])) return section[name];
  }
  return undefined;
}

/**
 * Sets, from the config file, every option of `command` that has a value there, with source `config`. Called before
 * parsing: commander then lets the environment and the command line override it, and a required option that the file
 * gives is not missing.
 */
export function applyConfig(command: Command, config: ConfigFile): void {
  for (const option of command.options) {
    const name = settingName(option);
    if (!name || COMMAND_LINE_ONLY.has(name)) continue;
    const key = option.attributeName();
    const source = command.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    const value = configValue(config, command, name);
    if (value === undefined || value === null) continue;
    const where = `config file ${config.file}: ${name}: ${JSON.stringify(value)}`;
    if (!option.required && !option.optional) {
      if (typeof value !== 'boolean') throw new DuckHouseError('config', `${where}: expected true or false`);
      command.setOptionValueWithSource(key, value, 'config');
      continue;
    }
    const text = value instanceof Date ? value.toISOString() : String(value);
    let parsed: unknown = text;
    try {
      if (option.parseArg) parsed = option.parseArg(text, command.getOptionValue(key) as never);
    } catch (error) {
      throw new DuckHouseError('config', `${where}: ${(error as Error).message}`, { cause: error });
    }
    command.setOptionValueWithSource(key, parsed, 'config');
  }
}
