import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runReport } from '../src/cli/report.js';
import { writeToolDataset, type SampleSpec } from './support/report-datasets.js';

/** `correct` of `n` samples of a task; `flaky` marks the first `flaky` samples flaky (others checked, not flaky). */
function samples(task_id: number, n: number, correct: number, flaky?: number): SampleSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    task_id,
    sample_index: i,
    correct: i < correct,
    ...(flaky === undefined ? {} : { flaky: i < flaky }),
  }));
}

let tmp = '';
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mbpp-report-samples-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function report(specs: SampleSpec[], name: string, json = false): Promise<{ text: string; html: string }> {
  const parquet = path.join(tmp, `${name}.parquet`);
  const twin = path.join(tmp, `${name}.json`);
  await writeToolDataset(parquet, specs, json ? twin : undefined);
  const htmlFile = path.join(tmp, `${name}.html`);
  let text = '';
  await runReport({ datasets: [json ? twin : parquet], html: htmlFile, out: { write: (chunk: string) => (text += chunk) } });
  return { text, html: await readFile(htmlFile, 'utf8') };
}

describe('report of a multi-sample dataset', () => {
  // Correct samples of 10 per task: 0, 3, 10, 1 -> pass@1 = (0 + .3 + 1 + .1) / 4, pass@10 = (0 + 1 + 1 + 1) / 4.
  const specs = [...samples(11, 10, 0), ...samples(12, 10, 3), ...samples(13, 10, 10), ...samples(14, 10, 1)];

  it('shows pass@k for each k the samples allow, and tasks by number of correct samples', async () => {
    const { text, html } = await report(specs, 'ten');
    assert.match(text, /\nrecords: 40  passed: 14 \(35\.0%\)/);
    assert.match(text, /\nsamples: 10 per task, 4 tasks\npass@k \(unbiased estimator of Chen et al\. 2021[^\n]*\n   k  pass@k\n   1   35\.0%\n  10   75\.0%\n/);
    assert.doesNotMatch(text, /\n +100 /, 'no pass@100 from 10 samples');
    assert.match(
      text,
      /\ntasks by number of correct samples\n  correct  tasks\n        0      1\n        1      1\n        2      0\n        3      1\n(        \d      0\n){6}       10      1\n/,
    );
    assert.match(html, /aria-label="Tasks by number of correct samples"/);
    assert.match(html, /<tr><td class="n">10<\/td><td>75\.0%<\/td><\/tr>/);
    assert.equal((html.match(/<svg /g) ?? []).length, 3); // split, correct samples, time
  });

  it('says when tasks have different sample counts, and gives pass@k only for k every task reaches', async () => {
    const { text } = await report([...samples(11, 10, 5), ...samples(12, 8, 2)], 'uneven');
    assert.match(text, /\nsamples: 8–10 per task, 2 tasks\n/);
    assert.match(text, /\n  k  pass@k\n  1   37\.5%\n\n/);
  });

  it('lists the flaky tasks with how many of their samples were flaky', async () => {
    const flaky = [...samples(11, 4, 2, 0), ...samples(12, 4, 1, 2), ...samples(13, 4, 4, 1)];
    for (const json of [false, true]) {
      const { text, html } = await report(flaky, `flaky-${json}`, json);
      assert.match(
        text,
        /\nflaky tasks \(2\): a sample's verdict changed when re-run under other hash seeds\n  task  flaky samples  samples\n    12              2        4\n    13              1        4\n/,
      );
      assert.match(html, /<h2>Flaky tasks \(2\)<\/h2>/);
      assert.match(html, /<tr><td>12<\/td><td class="n">2<\/td><td class="n">4<\/td><\/tr>/);
    }
  });

  it('says none are flaky when the check ran and found none, and nothing when it did not run', async () => {
    assert.match((await report(samples(11, 2, 1, 0), 'checked')).text, /\nflaky tasks \(0\)[^\n]*\n  none\n/);
    const unchecked = await report(samples(11, 2, 1), 'unchecked');
    assert.doesNotMatch(unchecked.text, /flaky/);
    assert.doesNotMatch(unchecked.html, /Flaky/);
  });
});
