// `duckhouse stack …`: the CLI face of src/stack. Reads the environment (via loadStackConfig) and prints; all the
// work happens in src/stack/stack.ts. Exit codes: 0 ok, 1 failure, 3 `status` found a component not up (an optional
// component that was never asked for, shown as `not started`, does not count).
import { Command, Option } from 'commander';
import type { ComponentName } from '../stack/component.js';
import { loadStackConfig, readEndpoints, redactedEndpoints } from '../stack/config.js';
import { COMPONENTS, componentByName, stackDown, stackLogs, stackRestart, stackStatus, stackUp } from '../stack/stack.js';

const started = Date.now();
function report(line: string): void {
  const elapsed = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${elapsed}s] ${line}\n`);
}

const componentList = COMPONENTS.map((c) => c.name).join(', ');
const optionalList = COMPONENTS.filter((c) => c.optional).map((c) => c.name).join(', ');

/** Optional components asked for with `--with a,b` (repeatable) and DUCKHOUSE_STACK_WITH=a,b. */
function optionalComponents(flags: string[]): ComponentName[] {
  const names = [...flags, process.env.DUCKHOUSE_STACK_WITH ?? '']
    .flatMap((v) => v.split(','))
    .map((n) => n.trim())
    .filter((n) => n !== '');
  return [...new Set(names)].map((n) => componentByName(n).name);
}

export function stackCommand(): Command {
  const stack = new Command('stack').description(
    'install, start and stop the real services DuckHouse needs (Kafka, schema registry, Redis, Postgres, MinIO, Python venv; Trino on request), natively on loopback',
  );

  stack
    .command('up')
    .description(`install what is missing (cached under .stack/cache), start the services and wait until they answer`)
    .argument('[components...]', `only these (and what they need): ${componentList}`)
    .option(
      '--with <components>',
      `also the optional ${optionalList} (comma-separated; or DUCKHOUSE_STACK_WITH)`,
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(async (names: string[], options: { with: string[] }) => {
      const only = names.map((n) => componentByName(n).name);
      await stackUp(loadStackConfig(), report, { only, with: optionalComponents(options.with) });
    });

  stack
    .command('down')
    .description('stop every service and any stray process of the stack (or only the named ones); data and installs are kept')
    .argument('[components...]', `only these: ${componentList}`)
    .option('--purge', 'also delete service data (topics, databases, objects); installs stay cached', false)
    .action(async (names: string[], options: { purge: boolean }) => {
      const only = names.map((n) => componentByName(n).name);
      await stackDown(loadStackConfig(), report, { purge: options.purge, only });
    });

  stack
    .command('restart')
    .description('stop one service and start it again (to try how DuckHouse rides out a broker or database restart)')
    .argument('<component>', componentList)
    .action(async (name: string) => {
      await stackRestart(loadStackConfig(), report, componentByName(name).name);
    });

  stack
    .command('status')
    .description('show each component: up, starting, down (died: with its log), stopped, not installed, or not started (optional)')
    .option('--json', 'print JSON', false)
    .action(async (options: { json: boolean }) => {
      const config = loadStackConfig();
      const rows = await stackStatus(config);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      } else {
        for (const row of rows) {
          const where = row.ports.length > 0 ? row.ports.join(', ') : '-';
          const pid = row.pid ? `pid ${row.pid}` : '';
          process.stdout.write(`${row.name.padEnd(9)} ${row.state.padEnd(14)} ${where.padEnd(34)} ${pid.padEnd(11)} ${row.logFile}\n`);
          if (row.state === 'down' && row.logTail) {
            process.stdout.write(`          it died; last log lines:\n${row.logTail.replace(/^/gm, '            ')}\n`);
          }
        }
      }
      const notUp = rows.filter((r) => r.state !== 'up' && r.state !== 'installed' && r.state !== 'not started');
      if (notUp.length > 0) process.exitCode = 3;
    });

  stack
    .command('logs')
    .description('print the last lines of the components\' logs (service and install logs)')
    .argument('[components...]', `any of ${componentList}; all when omitted`)
    .addOption(new Option('-n, --lines <n>', 'lines per log').default('40'))
    .option('-f, --follow', 'keep printing new lines', false)
    .action(async (names: string[], options: { lines: string; follow: boolean }) => {
      process.exitCode = await stackLogs(loadStackConfig(), names, Number(options.lines), options.follow);
    });

  stack
    .command('env')
    .description('print the generated stack config (stack.json) that the rest of DuckHouse reads, secrets hidden')
    .action(() => {
      process.stdout.write(`${JSON.stringify(redactedEndpoints(readEndpoints()), null, 2)}\n`);
    });

  return stack;
}
