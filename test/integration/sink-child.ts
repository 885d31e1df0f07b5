// Entry for the sink tests' child processes: `node --import tsx test/integration/sink-child.ts sink …` runs the
// `duckhouse sink` command exactly as the CLI does, so a test can kill -9 it, restart it, or run two at once.
import { Command } from 'commander';
import { sinkCommand } from '../../src/bin/sink-command.js';
import { DuckHouseError, describeError } from '../../src/shared/errors.js';

const program = new Command('duckhouse').addCommand(sinkCommand());
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`duckhouse: ${describeError(error)}\n`);
  process.exitCode = error instanceof DuckHouseError && error.kind === 'config' ? 2 : 1;
}
