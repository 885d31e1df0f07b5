// Entry for cdc.test.ts's child processes: `node --import tsx test/integration/cdc-child.ts cdc …` runs the
// `duckhouse cdc` command exactly as the CLI does (same commander command, same error handling), so the test can
// kill -9 it and restart it.
import { Command } from 'commander';
import { cdcCommand } from '../../src/bin/cdc-command.js';
import { DuckHouseError, describeError } from '../../src/shared/errors.js';

const program = new Command('duckhouse').addCommand(cdcCommand());
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`duckhouse: ${describeError(error)}\n`);
  process.exitCode = error instanceof DuckHouseError && error.kind === 'config' ? 2 : 1;
}
