import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MbppRecord } from '../src/records.js';
import type { ExecutionRequest } from '../src/sandbox/executor.js';
import { loadReferenceTimings, referenceTimingsPath } from '../src/sandbox/reference-timings.js';
import { createExecutor, type SandboxExecutor } from '../src/sandbox/sandbox-executor.js';
import { cpuLimitsFor, TaskTimeLimits } from '../src/sandbox/time-limits.js';

const policy = { floorSeconds: 1, factor: 4, fallbackSeconds: 10 };

const problem = (task_id: number, code: string, tests: string[], challenge: string[] = []): MbppRecord => ({
  task_id,
  text: `problem ${task_id}`,
  code,
  test_setup_code: '',
  test_list: tests,
  challenge_test_list: challenge,
});

describe('per-task CPU limits', () => {
  it('are max(floor, ceil(factor x reference CPU)) whole seconds, the fallback where the reference did not finish', () => {
    assert.deepEqual(cpuLimitsFor([0.0001, 0.26, 2.51, null], policy), [1, 2, 11, 10]);
    assert.deepEqual(cpuLimitsFor([0.3], { ...policy, floorSeconds: 3 }), [3]);
  });

  it('cover the challenge tests only when they are judged', () => {
    const limits = new TaskTimeLimits(policy, new Map([[7, [0.5, 0.1, 3]]]), 'timings.json');
    const record = problem(7, '', ['a', 'b'], ['c']);
    assert.deepEqual(limits.for(record, false), [2, 1]);
    assert.deepEqual(limits.for(record, true), [2, 1, 12]);
    assert.deepEqual(limits.for(problem(8, '', ['a']), false), [10], 'no timing for the task: the fallback');
    assert.deepEqual(limits.describe([record], true), { floor_seconds: 1, factor: 4, reference_timings: 'timings.json', per_task: { 7: [2, 1, 12] } });
  });
});

describe('reference timings', () => {
  let executor: SandboxExecutor;
  let cacheDir: string;
  before(async () => {
    executor = await createExecutor({ workers: 2 });
    cacheDir = await mkdtemp(join(tmpdir(), 'mbpp-timings-'));
  });
  after(async () => {
    await executor.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  const records = [
    problem(1, 'def spin(s):\n    import time\n    end = time.process_time() + s\n    while time.process_time() < end: pass', ['spin(0)', 'spin(0.6)'], ['spin(0.3)']),
    problem(2, 'def two():\n    return 2', ['assert two() == 2']),
  ];

  it('are measured once per dataset and interpreter, only for the tasks not cached yet, and cached', async () => {
    const counting = { ...executor, execute: (request: ExecutionRequest) => ((judged += 1), executor.execute(request)) };
    let judged = 0;
    const options = { cacheDir, datasetSha256: 'a'.repeat(64), python: executor.python, executor: counting };
    const first = await loadReferenceTimings({ ...options, records: records.slice(0, 1) });
    assert.equal(first.measured, 1);
    const [quick, spun, challenge] = first.timings.get(1)!;
    assert.ok(quick! < 0.3 && spun! >= 0.6 && challenge! >= 0.3, `timings ${String(first.timings.get(1))}`);
    const second = await loadReferenceTimings({ ...options, records });
    assert.equal(second.measured, 1, 'only task 2 was not cached');
    assert.deepEqual(second.timings.get(1), first.timings.get(1));
    assert.equal(judged, 2);
    const third = await loadReferenceTimings({ ...options, records });
    assert.equal(third.measured, 0);
    assert.equal(judged, 2, 'everything came from the cache');
    assert.equal(second.file, referenceTimingsPath(cacheDir, 'a'.repeat(64), executor.python));
    const cached = JSON.parse(await readFile(second.file, 'utf8')) as { tasks: Record<string, unknown> };
    assert.deepEqual(Object.keys(cached.tasks).sort(), ['1', '2']);
  });

  it('measure anew for another dataset, and over a cache file that is damaged', async () => {
    const options = { cacheDir, python: executor.python, executor, records: records.slice(1) };
    assert.equal((await loadReferenceTimings({ ...options, datasetSha256: 'b'.repeat(64) })).measured, 1);
    const file = referenceTimingsPath(cacheDir, 'b'.repeat(64), executor.python);
    await writeFile(file, '{not json');
    const again = await loadReferenceTimings({ ...options, datasetSha256: 'b'.repeat(64) });
    assert.equal(again.measured, 1);
    assert.equal(again.cacheError, undefined);
  });

  it('still come back when the cache cannot be written, saying why', async () => {
    const blocked = join(cacheDir, 'a-file');
    await writeFile(blocked, '');
    const loaded = await loadReferenceTimings({ cacheDir: blocked, datasetSha256: 'c'.repeat(64), python: executor.python, executor, records: records.slice(1) });
    assert.equal(loaded.timings.get(2)!.length, 1);
    assert.match(loaded.cacheError ?? '', /ENOTDIR|EEXIST/);
  });
});
