// The `duckhouse` CLI entry point: wires the sub-commands and turns errors into one clear line and an exit code.
// The only place (with the other src/bin entries) that reads the environment, files and argv.
import { Command } from 'commander';
import { DuckHouseError, describeError } from '../shared/errors.js';
import { silenceKnownWarnings } from '../shared/node-warnings.js';
import { cdcCommand } from './cdc-command.js';
import { dlqCommand } from './dlq-command.js';
import { sinkCommand } from './sink-command.js';
import { demoCommand } from './demo-command.js';
import { produceCommand } from './produce-command.js';
import { serveCommand } from './serve-command.js';
import { stackCommand } from './stack-command.js';
import { tenantCommand } from './tenant-command.js';
import { workerCommand, workersCommand } from './worker-command.js';

silenceKnownWarnings();

const program = new Command('duckhouse')
  .description('DuckHouse: CSV and Postgres changes through Kafka into Apache Iceberg tables, exactly once')
  .version('0.1.0')
  .showHelpAfterError();

program.addCommand(stackCommand());
program.addCommand(demoCommand());
program.addCommand(produceCommand());
program.addCommand(cdcCommand());
program.addCommand(sinkCommand());
program.addCommand(dlqCommand());
program.addCommand(workerCommand());
program.addCommand(workersCommand());
program.addCommand(tenantCommand());
program.addCommand(serveCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`duckhouse: ${describeError(error)}\n`);
  if (process.env.DUCKHOUSE_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exitCode = error instanceof DuckHouseError && error.kind === 'config' ? 2 : 1;
}
