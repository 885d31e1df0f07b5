// `npm run bench -- --quick` once, as the smoke run of every benchmark section against the real stack: it exits 0,
// writes the results JSON and markdown, and every figure has its runs, a baseline from the same run and a ratio.
// Must never: assert on a measured time or rate (machines are noisy); only that the figures exist and are sane.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SectionResult } from '../../bench/report.js';
import { PROJECT_ROOT } from '../../src/stack/config.js';

interface Report {
  quick: boolean;
  commit: string;
  machine: { cpu: string; cores: number; memoryGiB: number };
  repeat: number;
  sections: SectionResult[];
  failures: string[];
}

let dir: string;
let code: number | null;
let output = '';
let report: Report;
let markdown: string;

describe('bench --quick (every section, real stack)', { timeout: 20 * 60_000 }, () => {
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'duckhouse-bench-test-'));
    code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--results-dir', dir], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('exit', resolve);
    });
    const files = await readdir(dir);
    const json = files.find((f) => f.endsWith('-quick.json'));
    const md = files.find((f) => f.endsWith('-quick.md'));
    assert.ok(json && md, `results written: ${files.join(', ')}\n${output.slice(-4000)}`);
    report = JSON.parse(await readFile(path.join(dir, json), 'utf8')) as Report;
    markdown = await readFile(path.join(dir, md), 'utf8');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 with no failed section or content check', () => {
    assert.equal(code, 0, output.slice(-4000));
    assert.deepEqual(report.failures, []);
    assert.equal(report.quick, true);
    for (const section of report.sections) assert.ok(section.contentOk, `${section.section}: content check failed`);
  });

  it('covers every figure the issue names', () => {
    const ids = new Set(report.sections.flatMap((s) => s.figures.map((f) => f.id)));
    for (const id of [
      'csv.rows_per_s',
      'sink.append.rows_per_s',
      'sink.append.vs_connect.rows_per_s',
      'sink.upsert.changes_per_s',
      'sink.upsert.peak_rss_mb',
      'sink.freshness.p50_ms',
      'sink.freshness.p99_ms',
      'iceberg_write.single.rows_per_s',
      'compaction.files',
      'compaction.view_query_ms',
    ]) {
      assert.ok(ids.has(id), `figure ${id} missing; found ${[...ids].join(', ')}`);
    }
  });

  it('gives each figure ≥ 3 runs of positive finite numbers and a baseline from the same run', () => {
    assert.ok(report.repeat >= 3);
    for (const section of report.sections) {
      for (const figure of section.figures) {
        const where = `${section.section}/${figure.id}`;
        assert.ok(figure.subject.runs.length >= 3, `${where}: ${figure.subject.runs.length} runs`);
        assert.ok(figure.baseline, `${where}: no baseline`);
        assert.ok(figure.baseline.runs.length >= 1, `${where}: no baseline runs`);
        for (const value of [...figure.subject.runs, ...figure.baseline.runs]) {
          assert.ok(Number.isFinite(value) && value >= 0, `${where}: ${value}`);
        }
      }
    }
  });

  it('compaction leaves fewer files than it found', () => {
    const files = report.sections.flatMap((s) => s.figures).find((f) => f.id === 'compaction.files')!;
    assert.ok(Math.max(...files.subject.runs) < Math.min(...files.baseline!.runs), JSON.stringify(files));
  });

  it('writes a markdown table with one row per figure, the machine and the commit', () => {
    const figures = report.sections.flatMap((s) => s.figures);
    const rows = markdown.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| figure'));
    assert.equal(rows.length, figures.length, markdown);
    for (const figure of figures) assert.ok(markdown.includes(figure.title.replaceAll('|', '\\|')), figure.title);
    assert.ok(markdown.includes(report.machine.cpu) && markdown.includes(report.commit), markdown.slice(0, 600));
    // Every row has a ratio (a number followed by ×).
    for (const row of rows) assert.match(row, /\| \d+\.\d+× /, row);
  });
});
