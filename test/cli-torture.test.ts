import assert from 'node:assert/strict';
import { it } from 'node:test';
import { tortureResume } from '../scripts/torture-resume.js';

const FULL = process.env.MBPP_STREAM_DATASET;

it(
  'SIGKILL at random points, re-running the same command each time: same rows and verdicts as an uninterrupted run, nothing lost or doubled',
  { skip: !FULL && 'set MBPP_STREAM_DATASET', timeout: 420_000 },
  async () => {
    const report = await tortureResume({
      dataset: FULL!,
      // Each kill comes after 3 to 42 of a run's records (2 workers + 1..400 / (2 · 5)): every one lands with work left.
      selection: ['--split', 'test', '--end', '399'],
      kills: 5,
      seed: 7,
    });
    assert.equal(report.kills, 5, 'every kill landed mid-run');
    assert.equal(report.rows, 400);
    assert.deepEqual(report.lost, [], 'records reported finished before a kill are in the final dataset');
    assert.deepEqual(report.duplicates, []);
    assert.deepEqual(report.mismatches, []);
    assert.deepEqual(report.missing, []);
    assert.deepEqual(report.extra, []);
  },
);
