// The benchmark result format (bench/report.ts): medians and ranges, ratios only where a baseline exists, and the
// markdown table bench/run.ts writes. No service needed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Figure, SectionResult } from '../bench/report.js';
import { formatValue, markdownTable, ratioOf, readRatio, stats } from '../bench/report.js';

const throughput: Figure = {
  id: 'x.rows_per_s',
  title: 'Throughput | with a pipe',
  unit: 'rows/s',
  better: 'higher',
  subject: { label: 'ours', runs: [90, 110, 100] },
  baseline: { label: 'raw', runs: [200, 250, 150] },
};
const latency: Figure = { id: 'x.ms', title: 'Latency', unit: 'ms', better: 'lower', subject: { label: 'ours', runs: [30, 10, 20] }, baseline: { label: 'before', runs: [80] } };
const alone: Figure = { id: 'x.alone', title: 'Alone', unit: 'ms', better: 'lower', subject: { label: 'ours', runs: [1, 2, 3] }, note: 'no baseline exists' };

describe('bench report', () => {
  it('takes the median, min and max of the runs', () => {
    assert.deepEqual(stats([5, 1, 3]), { median: 3, min: 1, max: 5, n: 3 });
    assert.equal(stats([]).n, 0);
  });

  it('divides the medians, and gives no ratio without a baseline', () => {
    assert.equal(ratioOf(throughput), 0.5);
    assert.equal(ratioOf(latency), 0.25);
    assert.equal(ratioOf(alone), undefined);
    assert.equal(readRatio(alone, ratioOf(alone)), '-');
  });

  it('reads a lower-is-better ratio as how many times less or more', () => {
    assert.equal(readRatio(latency, 0.25), '0.25× (4.0× less)');
    assert.equal(readRatio(latency, 2), '2.00× (2.0× more)');
    assert.equal(readRatio(throughput, 0.5), '0.50×');
  });

  it('formats values by size', () => {
    assert.equal(formatValue(1234567.8), '1,234,568');
    assert.equal(formatValue(123.4), '123');
    assert.equal(formatValue(12.34), '12.3');
    assert.equal(formatValue(1.234), '1.23');
    assert.equal(formatValue(0.01234), '0.012');
    assert.equal(formatValue(NaN), '-');
  });

  it('writes one row per figure with medians, ranges, the baseline, the ratio and the run counts', () => {
    const section: SectionResult = { section: 's', title: 'S', options: {}, figures: [throughput, latency, alone], contentOk: true, notes: [] };
    const rows = markdownTable([section]).trim().split('\n');
    assert.equal(rows.length, 5);
    assert.equal(rows[2], '| Throughput \\| with a pipe | rows/s | 100 (90.0–110) | raw | 200 (150–250) | 0.50× | 3 / 3 |');
    assert.equal(rows[3], '| Latency | ms | 20.0 (10.0–30.0) | before | 80.0 | 0.25× (4.0× less) | 3 / 1 |');
    assert.equal(rows[4], '| Alone | ms | 2.00 (1.00–3.00) | no baseline exists | - | - | 3 |');
  });

  it('marks the figures of a section whose content check failed', () => {
    const table = markdownTable([{ section: 's', title: 'S', options: {}, figures: [latency], contentOk: false, notes: [] }]);
    assert.match(table, /Latency \*\*\(content check failed\)\*\*/);
  });
});
