import { describeLabels } from './label-rates.js';
import { flakyLines } from './report-text.js';
import { MCNEMAR, type PairedTest, type RunComparison, type RunSummary, type TaskChange } from './run-comparison.js';
import { idList, percent, pointsDifference, pValue, samplesPerTask, table } from './text-format.js';

export const RATE_HEADER = ['', 'A', 'B', 'B − A'];

/** Pass rate and pass@k of each run and their difference, as the text and the HTML tables show them. */
export function rateRows(comparison: RunComparison): string[][] {
  return comparison.rates.map((rate) => [
    rate.label,
    rate.a === null ? '–' : percent(rate.a),
    rate.b === null ? '–' : percent(rate.b),
    rate.a === null || rate.b === null ? '' : pointsDifference(rate.a, rate.b),
  ]);
}

/** The comparison of two runs as plain text for the terminal. */
export function renderComparisonText(comparison: RunComparison): string {
  const { a, b } = comparison;
  const lines: string[] = [
    `comparison on the ${comparison.sharedTasks} tasks both runs have`,
    ...runLines('A', a),
    ...runLines('B', b),
    '',
    ...table(RATE_HEADER, rateRows(comparison)),
    '',
    `per task (${solvedMeaning(comparison)})`,
    ...table(
      ['', 'tasks'],
      [
        ['both solved', String(comparison.bothSolved)],
        ['gained (solved in B only)', String(comparison.gained.length)],
        ['lost (solved in A only)', String(comparison.lost.length)],
        ['neither solved', String(comparison.neitherSolved)],
      ],
    ),
    `  agreement: ${percent(comparison.agreement)}`,
    '',
    `${describeTest(comparison.test)}: p = ${pValue(comparison.test.pValue)}`,
    ...changeLines('tasks gained', comparison.gained, comparison.singleSample),
    ...changeLines('tasks lost', comparison.lost, comparison.singleSample),
    ...(a.flakyTasks ? flakyLines(a.flakyTasks, ' in A') : []),
    ...(b.flakyTasks ? flakyLines(b.flakyTasks, ' in B') : []),
  ];
  return `${lines.join('\n')}\n`;
}

function runLines(name: string, run: RunSummary): string[] {
  const samples = samplesPerTask({ minSamples: run.minSamples, maxSamples: run.maxSamples });
  const left = run.onlyHere > 0 ? `; ${run.onlyHere} more tasks only in ${name}, left out` : '';
  return [
    `  ${name}: ${run.source}  model: ${run.models.join(', ') || '(not recorded)'}  samples: ${samples}${left}`,
    ...run.limitations.map((limitation) => `     ${limitation}`),
    ...(run.labels ? [`     labels: ${describeLabels(run.labels)}`] : []),
  ];
}

export function solvedMeaning(comparison: RunComparison): string {
  return comparison.singleSample
    ? 'solved: its sample passes'
    : 'solved: more than half of its samples pass';
}

/** The test, its counts and what it is, in one sentence. */
export function describeTest(test: PairedTest): string {
  const changed = test.better + test.worse;
  return test.name === MCNEMAR
    ? `${MCNEMAR} (two-sided, on the ${changed} tasks whose verdict differs: ${test.better} gained, ${test.worse} lost)`
    : `${test.name} (two-sided exact binomial on the ${changed} tasks whose pass rate changed: ` +
        `${test.better} higher in B, ${test.worse} lower, ${test.ties} unchanged)`;
}

function changeLines(title: string, changes: readonly TaskChange[], singleSample: boolean): string[] {
  const heading = ['', `${title} (${changes.length})`];
  if (singleSample || changes.length === 0) return [...heading, ...idList(changes.map((t) => t.task_id))];
  return [
    ...heading,
    ...table(['task', 'A correct', 'B correct'], changes.map((t) => [String(t.task_id), `${t.a.c}/${t.a.n}`, `${t.b.c}/${t.b.n}`])),
  ];
}
