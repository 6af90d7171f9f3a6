/**
 * Sandbox benchmark: all MBPP reference solutions through the sandbox vs the unsafe floor (one plain
 * Python process exec-ing every solution and its tests in turn), plus per-test overhead of an empty
 * program per isolation level. Also lists the reference solutions that fail their own tests here.
 *
 *   node --import tsx bench/sandbox-bench.ts --dataset path/to/mbpp.jsonl [--workers N] [--overhead-runs N]
 *
 * The dataset comes from --dataset or MBPP_STREAM_DATASET.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import type { MbppRecord } from '../src/records.js';
import { bwrapUnavailableReason } from '../src/sandbox/isolation.js';
import { resolvePython } from '../src/sandbox/python.js';
import { createExecutor } from '../src/sandbox/sandbox-executor.js';
import type { IsolationLevel } from '../src/sandbox/executor.js';

const run = promisify(execFile);

const FLOOR_SCRIPT = `
import json, sys
failures = 0
for line in open(sys.argv[1]):
    record = json.loads(line)
    namespace = {"__name__": "solution"}
    try:
        exec(record["code"], namespace)
        exec(record["test_setup_code"], namespace)
    except BaseException:
        failures += len(record["test_list"])
        continue
    for test in record["test_list"]:
        try:
            exec(test, namespace)
        except BaseException:
            failures += 1
print(failures)
`;

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

let started = performance.now();
const floor = await run(python.executable, ['-c', FLOOR_SCRIPT, dataset], { maxBuffer: 1 << 20 });
const floorSeconds = (performance.now() - started) / 1000;

const executor = await createExecutor({ workers });
started = performance.now();
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
console.log(`unsafe floor (one process, exec in turn): ${floorSeconds.toFixed(2)} s, ${floor.stdout.trim()} failed tests`);
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
  started = performance.now();
  for (let index = 0; index < overheadRuns; index++) {
    await single.execute({ code: 'pass', setupCode: '', tests: ['assert True'] });
  }
  const perTest = (performance.now() - started) / overheadRuns;
  await single.close();
  console.log(`per-test overhead, empty program, ${isolation}: ${perTest.toFixed(2)} ms (${overheadRuns} runs, 1 worker)`);
}
