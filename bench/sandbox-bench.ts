/**
 * Sandbox benchmark: all MBPP reference solutions through the sandbox vs the unsafe floor (one plain
 * Python process exec-ing every solution and its tests in turn), plus per-test overhead of an empty
 * program per isolation level. Also lists the reference solutions that fail their own tests here.
 *
 *   node --import tsx bench/sandbox-bench.ts --dataset path/to/mbpp.jsonl [--workers N] [--overhead-runs N]
 *
 * The dataset comes from --dataset or MBPP_STREAM_DATASET.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { MbppRecord } from '../src/records.js';
import { bwrapUnavailableReason } from '../src/sandbox/isolation.js';
import { resolvePython } from '../src/sandbox/python.js';
import { createExecutor } from '../src/sandbox/sandbox-executor.js';
import type { IsolationLevel } from '../src/sandbox/executor.js';
import { runUnsafeFloor } from './unsafe-floor.js';


const { values } = parseArgs({
  options: {
    dataset: { type: 'string' },
    workers: { type: 'string' },
    'overhead-runs': { type: 'string', default: '200' },
  },
});
const dataset = values.dataset ?? process.env.MBPP_STREAM_DATASET;
if (!dataset) {
  console.error('sandbox-bench: give --dataset PATH or set MBPP_STREAM_DATASET');
  process.exit(2);
}
const records = readFileSync(dataset, 'utf8')
  .split('\n')
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line) as MbppRecord);
const workers = values.workers ? Number(values.workers) : undefined;
const overheadRuns = Number(values['overhead-runs']);
const python = await resolvePython();
const testCount = records.reduce((sum, record) => sum + record.test_list.length, 0);

const floor = await runUnsafeFloor(python.executable, dataset);
const floorSeconds = floor.seconds;

const executor = await createExecutor({ workers });
let started = performance.now();
const outcomes = await Promise.all(
  records.map((record) =>
    executor.execute({ code: record.code, setupCode: record.test_setup_code, tests: record.test_list }),
  ),
);
const sandboxSeconds = (performance.now() - started) / 1000;
await executor.close();

const failing = records
  .map((record, index) => ({ record, results: outcomes[index]!.testResults }))
  .filter(({ results }) => results.some((result) => !result.passed));

console.log(`MBPP reference solutions: ${records.length} programs, ${testCount} tests, Python ${python.version}`);
console.log(`unsafe floor (one process, exec in turn): ${floorSeconds.toFixed(2)} s, ${floor.failedTests} failed tests`);
console.log(
  `sandbox (${executor.isolation}, ${executor.parallelism} workers): ${sandboxSeconds.toFixed(2)} s, ` +
    `ratio ${(sandboxSeconds / floorSeconds).toFixed(2)}x the floor, ${failing.length} programs with a failed test`,
);
for (const { record, results } of failing) {
  const failed = results
    .map((result, index) => ({ result, index }))
    .filter(({ result }) => !result.passed)
    .map(({ result, index }) => `test ${index}: ${result.error_type} ${result.message ?? ''}`.trim());
  console.log(`  task ${record.task_id}: ${failed.join('; ')}`);
}

const levels: IsolationLevel[] = ['rlimit', 'none'];
if ((await bwrapUnavailableReason(python)) === null) levels.unshift('bwrap');
for (const isolation of levels) {
  const single = await createExecutor({ isolation, workers: 1 });
  const times: number[] = [];
  for (let index = 0; index < overheadRuns; index++) {
    started = performance.now();
    await single.execute({ code: 'pass', setupCode: '', tests: ['assert True'] });
    times.push(performance.now() - started);
  }
  await single.close();
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`per-program overhead, empty program, ${isolation}: median ${median.toFixed(2)} ms (${overheadRuns} runs, 1 worker)`);
}
