// `npm run bench`: every performance figure in one run, each against a baseline measured in the same run on the same
// data. Runs each section script (bench/*.ts) in its own process with `--out`, gathers their figures (bench/report.ts)
// and writes bench/results/<time>[-quick].json and .md: the machine, the options, median (min–max) of ≥ 3 runs, the
// baseline and the ratio. `--quick` is the smoke run the test suite makes (small sizes, same code paths).
//   node --import tsx bench/run.ts [--quick] [--only sink,csv-producer,iceberg-write,compaction] [--repeat 3]
//                                  [--no-connect] [--results-dir bench/results]
// Needs the stack up (`scripts/bench.sh` brings it up). Must never: pass or fail on a measured time; the exit code is
// non-zero only when a section failed to run or a content check failed (the numbers are wrong then, not slow).
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KAFKA_VERSION } from '../src/stack/components/kafka.js';
import { APICURIO_VERSION } from '../src/stack/components/registry.js';
import { readEndpoints } from '../src/stack/config.js';
import { canConnect } from '../src/stack/tools.js';
import { ICEBERG_CONNECT_VERSION } from './kafka-connect.js';
import { type SectionResult, markdownTable } from './report.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH_DIR);

interface Section {
  name: string;
  script: string;
  /** The script's arguments for a run: small sizes when `quick`, `repeat` runs per figure, the incumbent when `connect`. */
  args(run: { quick: boolean; repeat: number; connect: boolean }): string[];
}

const SECTIONS: Section[] = [
  {
    name: 'csv-producer',
    script: 'csv-producer.ts',
    args: ({ quick, repeat }) => ['--rows', quick ? '20000' : '1000000', '--repeat', String(repeat)],
  },
  {
    name: 'sink',
    script: 'sink.ts',
    args: ({ quick, repeat, connect }) => [
      '--repeat', String(repeat),
      ...(quick ? ['--rows', '20000', '--rate', '2000', '--seconds', '4'] : ['--rows', '1000000', '--rate', '20000', '--seconds', '30']),
      ...(connect ? ['--connect'] : []),
    ],
  },
  {
    name: 'iceberg-write',
    script: 'iceberg-write.ts',
    args: ({ quick, repeat }) => [...(quick ? ['--quick'] : []), '--repeat', String(repeat)],
  },
  {
    name: 'compaction',
    script: 'compaction.ts',
    args: ({ quick, repeat }) => [...(quick ? ['--quick'] : []), '--repeat', String(repeat)],
  },
];

const USAGE = `usage: npm run bench -- [--quick] [--only ${SECTIONS.map((section) => section.name).join(',')}] [--repeat N] [--no-connect] [--results-dir DIR]`;

function parseOptions(): ReturnType<typeof parse> {
  try {
    return parse();
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

function parse() {
  return parseArgs({
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      repeat: { type: 'string', default: '3' },
      'no-connect': { type: 'boolean', default: false },
      'results-dir': { type: 'string', default: path.join(BENCH_DIR, 'results') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
}

const args = parseOptions();

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const repeat = Number(args.repeat);
if (!Number.isInteger(repeat) || repeat < 1) {
  console.error(`--repeat: expected a whole number of runs ≥ 1, found ${args.repeat}`);
  process.exit(2);
}
const wanted = args.only?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = wanted?.filter((name) => !SECTIONS.some((s) => s.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(`--only: unknown section(s) ${unknown.join(', ')}; expected some of ${SECTIONS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const sections = SECTIONS.filter((s) => !wanted || wanted.includes(s.name));

/** The machine the numbers came from: CPU, cores, memory, OS, Node, and how busy it was. */
function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

/** Runs one section script; its output goes to this terminal and to `log`. Resolves with its exit code. */
function runSection(section: Section, out: string, log: NodeJS.WritableStream): Promise<number> {
  const argv = ['--import', 'tsx', path.join(BENCH_DIR, section.script), ...section.args({ quick: args.quick!, repeat, connect: !args['no-connect'] }), '--out', out];
  log.write(`\n$ node ${argv.slice(2).map((a) => path.relative(ROOT, a) || a).join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk: Buffer) => {
        process.stdout.write(chunk);
        log.write(chunk);
      });
    }
    child.on('error', (error) => {
      log.write(`failed to start: ${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

const stamp = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');

async function main(): Promise<number> {
  const down = 'start it with `node bin/duckhouse.js stack up`, or run `npm run bench`, which does';
  try {
    const broker = readEndpoints().kafka.brokers[0]!;
    if (!(await canConnect(Number(broker.slice(broker.lastIndexOf(':') + 1))))) {
      console.error(`the stack is not up: Kafka does not answer on ${broker}; ${down}`);
      return 5;
    }
  } catch (error) {
    console.error(`the stack is not up (${(error as Error).message}); ${down}`);
    return 5;
  }
  const started = new Date();
  const resultsDir = path.resolve(args['results-dir']!);
  await mkdir(resultsDir, { recursive: true });
  const base = path.join(resultsDir, `${stamp(started)}${args.quick ? '-quick' : ''}`);
  const work = await mkdtemp(path.join(os.tmpdir(), 'duckhouse-bench-'));
  const log = createWriteStream(`${base}.log`);
  const results: SectionResult[] = [];
  const failures: string[] = [];
  const info = machine();
  console.log(`DuckHouse benchmarks${args.quick ? ' (--quick: small sizes, a smoke run; the numbers mean little)' : ''}: ${sections.map((s) => s.name).join(', ')}; ${repeat} runs per figure`);
  console.log(`machine: ${String(info.cpu)}, ${String(info.cores)} cores, ${String(info.memoryGiB)} GiB, ${String(info.os)}, Node ${process.version}`);
  try {
    for (const section of sections) {
      console.log(`\n=== ${section.name} ===`);
      const out = path.join(work, `${section.name}.json`);
      const t0 = performance.now();
      const code = await runSection(section, out, log);
      const seconds = (performance.now() - t0) / 1000;
      if (existsSync(out)) {
        const result = JSON.parse(await readFile(out, 'utf8')) as SectionResult;
        results.push({ ...result, seconds });
        if (!result.contentOk) failures.push(`${section.name}: a content check failed (see its output above)`);
        else if (code !== 0) failures.push(`${section.name}: exited with ${code} after writing its figures`);
      } else {
        failures.push(`${section.name}: exited with ${code} before writing its figures (see its output above or ${path.relative(ROOT, `${base}.log`)})`);
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    await new Promise<void>((resolve) => log.end(resolve));
  }
  const finished = new Date();
  const report = {
    benchmark: 'duckhouse',
    quick: args.quick,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    commit: gitCommit(),
    machine: { ...info, loadAverageAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))) },
    versions: { kafka: KAFKA_VERSION, schemaRegistry: `Apicurio Registry ${APICURIO_VERSION}`, icebergKafkaConnect: ICEBERG_CONNECT_VERSION },
    repeat,
    sections: results,
    failures,
  };
  const table = markdownTable(results);
  const markdown = [
    `# DuckHouse benchmarks, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC${args.quick ? ' (quick smoke run)' : ''}`,
    '',
    `Commit ${report.commit}; ${String(info.cpu)}, ${String(info.cores)} cores, ${String(info.memoryGiB)} GiB; ${String(info.os)}; Node ${process.version}; load average ${(info.loadAverageAtStart as number[]).join(' / ')} at the start, ${report.machine.loadAverageAtEnd.join(' / ')} at the end.`,
    `Each figure: median (min–max) of the runs, the baseline measured in the same run on the same data, ratio = median ÷ baseline median. Took ${((finished.getTime() - started.getTime()) / 60000).toFixed(1)} min.`,
    '',
    table,
    ...results.flatMap((r) => (r.notes.length > 0 ? [`**${r.title}**`, '', ...r.notes.map((n) => `- ${n}`), ''] : [])),
    ...(failures.length > 0 ? ['**Failures**', '', ...failures.map((f) => `- ${f}`), ''] : []),
  ].join('\n');
  await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(`${base}.md`, `${markdown}\n`);
  console.log(`\n${table}`);
  for (const failure of failures) console.log(`FAILED ${failure}`);
  console.log(`results: ${path.relative(process.cwd(), `${base}.json`)}, ${path.relative(process.cwd(), `${base}.md`)} (full output: ${path.relative(process.cwd(), `${base}.log`)})`);
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
