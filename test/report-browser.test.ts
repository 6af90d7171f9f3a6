/**
 * The HTML reports in a real headless Chromium: they load without console errors (Chromium logs one for each
 * malformed SVG attribute, e.g. a NaN height), and every chart is laid out with visible bars. Skipped where no
 * Chromium or Chrome is installed (`apt-get install -y chromium`, or point CHROME_PATH at one);
 * MBPP_STREAM_SCREENSHOTS=DIR keeps the screenshots for a look by eye.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runReport } from '../src/cli/report.js';
import { findBrowser, renderInBrowser } from './support/headless-browser.js';
import { originalRow, writeOriginalParquet, writeToolDataset, type SampleSpec } from './support/report-datasets.js';

const browser = findBrowser();
const skip = browser === null ? 'no Chromium or Chrome found (apt-get install -y chromium, or set CHROME_PATH to one)' : false;

interface ChartFacts {
  title: string;
  charts: { label: string; width: number; height: number; visibleBars: number }[];
}

/** Evaluated in the page: each chart's rendered size and how many of its bars have a visible height. */
const PROBE = `({
  title: document.title,
  charts: [...document.querySelectorAll('figure > svg')].map((svg) => {
    const box = svg.getBoundingClientRect();
    return {
      label: svg.getAttribute('aria-label'),
      width: box.width,
      height: box.height,
      visibleBars: [...svg.querySelectorAll('rect')].filter((rect) => rect.getBoundingClientRect().height > 0).length,
    };
  }),
})`;

let tmp = '';
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mbpp-report-browser-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Renders `html` in the browser, checks it for errors and a screenshot, and hands back what the probe saw. */
async function render(html: string): Promise<ChartFacts> {
  const page = await renderInBrowser(browser!, html, PROBE);
  assert.deepEqual(page.errors, [], `${path.basename(html)}: console errors`);
  assert.equal(page.screenshot.subarray(1, 4).toString('latin1'), 'PNG');
  const keep = process.env.MBPP_STREAM_SCREENSHOTS;
  if (keep) {
    await mkdir(keep, { recursive: true });
    await writeFile(path.join(keep, `${path.basename(html, '.html')}.png`), page.screenshot);
  }
  const facts = page.facts as ChartFacts;
  for (const chart of facts.charts) {
    assert.ok(chart.width > 300 && chart.height > 100, `${chart.label}: laid out at ${chart.width}x${chart.height}`);
    assert.ok(chart.visibleBars > 0, `${chart.label}: no visible bar`);
  }
  return facts;
}

async function reportHtml(datasets: string[], name: string): Promise<string> {
  const html = path.join(tmp, `${name}.html`);
  await runReport({ datasets, html, out: { write: () => true } });
  return html;
}

const sampled = (task_id: number, n: number, correct: number, flaky = 0): SampleSpec[] =>
  Array.from({ length: n }, (_, i) => ({ task_id, sample_index: i, correct: i < correct, flaky: i < flaky, seconds: 0.5 + i / n }));

/** MBPP+ labels beside the asserts: every correct sample passes the base inputs, every other one the plus inputs too. */
const withPlusLabels = (specs: SampleSpec[]): SampleSpec[] =>
  specs.map((spec, i) => ({ ...spec, mbppPlus: { base: spec.correct, plus: i % 2 === 0 } }));

describe('HTML reports in headless Chromium', { skip }, () => {
  it('a multi-sample MBPP+ dataset with splits and flaky tasks', async () => {
    const dataset = path.join(tmp, 'multi.parquet');
    await writeToolDataset(dataset, withPlusLabels([
      ...sampled(2, 10, 3).map((s) => ({ ...s, split: 'prompt' as const })),
      ...sampled(11, 10, 0, 2),
      ...sampled(12, 10, 10),
      ...sampled(601, 10, 7).map((s) => ({ ...s, split: 'train' as const })),
    ]));
    const facts = await render(await reportHtml([dataset], 'multi'));
    assert.match(facts.title, /^mbpp-stream report: .*multi\.parquet$/);
    assert.deepEqual(facts.charts.map((c) => c.label), ['Pass rate by label', 'Pass rate by split', 'Tasks by number of correct samples', 'Time per record']);
  });

  it("the original pipeline's dataset", async () => {
    const dataset = path.join(tmp, 'original.parquet');
    await writeOriginalParquet(dataset, [11, 12, 13, 14].map((task, i) => originalRow(task, i % 2 === 0, 1 + i)));
    const facts = await render(await reportHtml([dataset], 'original'));
    assert.deepEqual(facts.charts.map((c) => c.label), ['Time per record']);
  });

  it('a comparison of two runs', async () => {
    const a = path.join(tmp, 'a.parquet');
    const b = path.join(tmp, 'b.parquet');
    await writeToolDataset(a, withPlusLabels([...sampled(11, 10, 2), ...sampled(12, 10, 8), ...sampled(13, 10, 0)]));
    await writeToolDataset(b, withPlusLabels([...sampled(11, 10, 9), ...sampled(12, 10, 3), ...sampled(13, 10, 6), ...sampled(14, 10, 6)]));
    const facts = await render(await reportHtml([a, b], 'comparison'));
    assert.match(facts.title, /^mbpp-stream comparison: .*a\.parquet against .*b\.parquet$/);
    assert.deepEqual(facts.charts.map((c) => c.label), ['Pass rate and pass@k, A against B', 'Tasks by outcome in A and B']);
  });

  it('catches a page that logs errors (the check itself works)', async () => {
    const broken = path.join(tmp, 'broken.html');
    await writeFile(broken, '<!DOCTYPE html><title>broken</title><svg><rect width="10" height="NaN"/></svg><script>console.error("boom")</script>');
    const page = await renderInBrowser(browser!, broken, 'document.title');
    assert.equal(page.facts, 'broken');
    assert.equal(page.errors.length, 2, page.errors.join('\n'));
    assert.match(page.errors.join('\n'), /attribute height: Expected length, "NaN"[\s\S]*boom|boom[\s\S]*attribute height: Expected length, "NaN"/);
  });
});
