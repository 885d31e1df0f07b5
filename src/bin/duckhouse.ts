// The `duckhouse` CLI entry point: wires the sub-commands, gives every option its environment variable and the config
// file's value (settings.ts), and turns errors into one clear line and an exit code (exit-codes.ts).
// The only place (with the other src/bin entries) that reads the environment, files and argv.
import type { Command as CommandType } from 'commander';
import { Command } from 'commander';
import { describeError } from '../shared/errors.js';
import { silenceKnownWarnings } from '../shared/node-warnings.js';
import { cdcCommand } from './cdc-command.js';
import { compactCommand } from './compact-command.js';
import { dlqCommand } from './dlq-command.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { sinkCommand } from './sink-command.js';
import { demoCommand } from './demo-command.js';
import { produceCommand } from './produce-command.js';
import { serveCommand } from './serve-command.js';
import { attachEnvironment, loadSettings } from './settings.js';
import { stackCommand } from './stack-command.js';
import { tablesCommand } from './tables-command.js';
import { tenantCommand } from './tenant-command.js';
import { workerCommand, workersCommand } from './worker-command.js';

silenceKnownWarnings();

const EXIT_CODES_HELP = `
Settings: flags, then environment variables (shown with each option), then a YAML config file
(--config, $DUCKHOUSE_CONFIG or ./duckhouse.yaml), then defaults.
Exit codes: ${EXIT.OK} ok, ${EXIT.FAILURE} failed, ${EXIT.USAGE} bad usage or settings, ${EXIT.ATTENTION} finished but needs attention,
${EXIT.NOT_FOUND} not found, ${EXIT.UNAVAILABLE} a service is not reachable (duckhouse stack up), ${EXIT.INTERRUPTED} interrupted.`;

export function buildProgram(): CommandType {
  const program = new Command('duckhouse')
    .description('DuckHouse: CSV and Postgres changes through Kafka into Apache Iceberg tables, exactly once')
    .version('0.1.0')
    .option('--config <file>', 'a YAML file of settings (default: $DUCKHOUSE_CONFIG, else ./duckhouse.yaml if present)')
    .addHelpText('after', EXIT_CODES_HELP);
  for (const command of [
    stackCommand(), demoCommand(), produceCommand(), cdcCommand(), sinkCommand(), workersCommand(), workerCommand(),
    tablesCommand(), compactCommand(), dlqCommand(), tenantCommand(), serveCommand(),
  ]) program.addCommand(command);
  attachEnvironment(program);
  const configure = (command: CommandType): void => {
    command.showHelpAfterError('(add --help for usage)').exitOverride();
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

const program = buildProgram();
try {
  loadSettings(program, process.argv.slice(2));
  await program.parseAsync(process.argv);
} catch (error) {
  const code = exitCodeOf(error);
  // commander has already printed its own usage errors and help
  if (!(error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('commander.'))) {
    process.stderr.write(`duckhouse: ${describeError(error)}\n`);
    if (process.env.DUCKHOUSE_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  }
  process.exitCode = code;
}
