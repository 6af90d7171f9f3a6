import { basename } from 'node:path';
import { describeTest, RATE_HEADER, rateRows, solvedMeaning } from './comparison-text.js';
import { escapeHtml } from './html-escape.js';
import { describeLabels } from './label-rates.js';
import { htmlList, htmlPage, htmlTable } from './html-page.js';
import { flakyHtml } from './report-html.js';
import type { RunComparison, RunSummary, TaskChange } from './run-comparison.js';
import { countBarsSvg, groupedBarsSvg } from './svg-charts.js';
import { percent, pValue, samplesPerTask } from './text-format.js';

/** The comparison of two runs as a self-contained HTML page with inline SVG charts. */
export function renderComparisonHtml(comparison: RunComparison): string {
  const { a, b } = comparison;
  const drawable = comparison.rates.filter((rate) => rate.charted && rate.a !== null && rate.b !== null);
  const ratesChart = groupedBarsSvg(
    drawable.map((rate) => ({ label: rate.label, fractions: [rate.a!, rate.b!] })),
    [`A: ${basename(a.source)}`, `B: ${basename(b.source)}`],
    'Pass rate and pass@k, A against B',
  );
  const outcomeChart = countBarsSvg(
    [
      { label: 'both solved', count: comparison.bothSolved, colour: '#3b7dd8' },
      { label: 'gained', count: comparison.gained.length, colour: '#4a9e5c' },
      { label: 'lost', count: comparison.lost.length, colour: '#c44e52' },
      { label: 'neither', count: comparison.neitherSolved, colour: '#999999' },
    ],
    'Tasks by outcome in A and B',
  );
  return htmlPage(
    `mbpp-stream comparison: ${a.source} against ${b.source}`,
    `<h1>MBPP run comparison</h1>
<p>On the ${comparison.sharedTasks} tasks both runs have.</p>
${htmlTable(['run', 'dataset', 'model', 'samples', 'tasks only in this run (left out)'], [runRow('A', a), runRow('B', b)])}
${runNotes('A', a)}${runNotes('B', b)}
<h2>Pass rate and pass@k</h2>
<figure>${ratesChart}</figure>
${htmlTable(RATE_HEADER, rateRows(comparison))}
<h2>Per task</h2>
<p>A task is ${escapeHtml(solvedMeaning(comparison))}. Agreement: <strong>${percent(comparison.agreement)}</strong>.</p>
<figure>${outcomeChart}</figure>
<p class="headline">${escapeHtml(describeTest(comparison.test))}: <strong>p = ${pValue(comparison.test.pValue)}</strong></p>
<h2>Tasks gained (${comparison.gained.length})</h2>
${changesHtml(comparison.gained, comparison.singleSample)}
<h2>Tasks lost (${comparison.lost.length})</h2>
${changesHtml(comparison.lost, comparison.singleSample)}
${a.flakyTasks ? flakyHtml(a.flakyTasks, ' in A') : ''}
${b.flakyTasks ? flakyHtml(b.flakyTasks, ' in B') : ''}`,
  );
}

function runRow(name: string, run: RunSummary): (string | number)[] {
  return [
    name,
    run.source,
    run.models.join(', ') || '(not recorded)',
    samplesPerTask({ minSamples: run.minSamples, maxSamples: run.maxSamples }),
    run.onlyHere,
  ];
}

/** What a run's file lacks, and what its labels are. */
function runNotes(name: string, run: RunSummary): string {
  const lacks = run.limitations.length ? `<p class="note">${name} lacks columns:</p>\n${htmlList(run.limitations)}\n` : '';
  return run.labels ? `${lacks}<p class="note">${name}: ${escapeHtml(describeLabels(run.labels))}.</p>\n` : lacks;
}

/** Task ids in a paragraph where each run has one sample (hundreds fit a screen), else with each run's counts. */
function changesHtml(changes: readonly TaskChange[], singleSample: boolean): string {
  if (singleSample) return changes.length ? `<p>${changes.map((t) => t.task_id).join(', ')}</p>` : '<p>none</p>';
  return htmlTable(['task', 'A correct', 'B correct'], changes.map((t) => [String(t.task_id), `${t.a.c}/${t.a.n}`, `${t.b.c}/${t.b.n}`]));
}
