import assert from 'node:assert/strict';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BROUGHT_THE_BUILD_DOWN } from '../src/streams/crash-triage.ts';
import { latestDataset, readJson, readRowsIndependently } from './support/output-files.js';
import { REPO_ROOT, runCli, type CliRun } from './support/run-cli.js';

const SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');

/** Runs of the same command it may take: one crash makes suspects, the next isolates the culprit, then it finishes. */
const MAX_RUNS = 4;

describe('a program that kills the builder', () => {
  let dir: string;
  let generations: string;
  let killer: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbpp-cli-crash-'));
    const builder = await realpath(process.execPath);
    const neighbourIn = join(dir, 'neighbour-in-the-sandbox');
    const killing = join(dir, 'killing');
    // Task 1 kills the builder (its first ancestor running this node), but only once task 2 is in the sandbox
    // beside it, so the first crash has an innocent neighbour in flight; task 2 stays in until the kill.
    killer = [
      'import os, signal, time',
      `def _wait_for(path):`,
      `    for _ in range(2000):`,
      `        if os.path.exists(path): return`,
      `        time.sleep(0.01)`,
      `_wait_for(${JSON.stringify(neighbourIn)})`,
      `open(${JSON.stringify(killing)}, "w").close()`,
      'pid = os.getppid()',
      `while os.path.realpath(f"/proc/{pid}/exe") != ${JSON.stringify(builder)}:`,
      '    with open(f"/proc/{pid}/status") as status:',
      '        pid = int(next(line for line in status if line.startswith("PPid:")).split()[1])',
      'os.kill(pid, signal.SIGKILL)',
    ].join('\n');
    const neighbour = (code: string) =>
      [
        'import os, time',
        `open(${JSON.stringify(neighbourIn)}, "w").close()`,
        'for _ in range(2000):',
        `    if os.path.exists(${JSON.stringify(killing)}): break`,
        '    time.sleep(0.01)',
        code,
      ].join('\n');
    const records = (await readFile(SAMPLE, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { task_id: number; code: string });
    generations = join(dir, 'generations.jsonl');
    await writeFile(
      generations,
      records
        .map((record) => {
          const solution = record.task_id === 1 ? killer : record.task_id === 2 ? neighbour(record.code) : record.code;
          return JSON.stringify({ task_id: record.task_id, solution });
        })
        .join('\n'),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is labelled Killed on resume, its innocent neighbour is not, and the run finishes', async () => {
    const out = join(dir, 'out');
    const args = ['evaluate', '--generations', generations, '--dataset', SAMPLE, '--output-dir', out, '--sandbox', 'none', '--workers', '2'];
    const runs: CliRun[] = [];
    while (runs.length < MAX_RUNS && runs.at(-1)?.code !== 0) runs.push(await runCli(args));
    const last = runs.at(-1)!;
    assert.equal(last.code, 0, `not finished after ${runs.length} runs:\n${last.stderr}`);
    for (const run of runs.slice(0, -1)) assert.equal(run.signal, 'SIGKILL', run.stderr);
    // The first crash had both programs in the sandbox: both became suspects, to be judged alone first.
    assert.match(runs[1]!.stderr, /killed outright with 2 programs \(task 1 sample 0, task 2 sample 0\) in the sandbox/);
    assert.match(last.stderr, /task 1 sample 0: labelled Killed without running it again/);

    const { parquet, metadata } = await latestDataset(out);
    const rows = await readRowsIndependently(parquet);
    assert.deepEqual(rows.map((row) => row.task_id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'every record exactly once');
    const [culprit, ...others] = rows;
    assert.equal(culprit!.status, 'ok');
    assert.equal(culprit!.is_correct, false);
    assert.equal(culprit!.generated_code, killer);
    const verdicts = culprit!.test_results as unknown[];
    assert.ok(verdicts.length > 0);
    assert.deepEqual(verdicts, verdicts.map(() => BROUGHT_THE_BUILD_DOWN));
    assert.equal((culprit!.test_errors as unknown[]).length, verdicts.length);
    for (const row of others) assert.deepEqual([row.task_id, row.status, row.is_correct], [row.task_id, 'ok', true]);
    const meta = await readJson<{ brought_the_build_down: unknown; counts: { brought_the_build_down: number } }>(metadata);
    assert.deepEqual(meta.brought_the_build_down, [{ task_id: 1, sample_index: 0 }]);
    assert.equal(meta.counts.brought_the_build_down, 1);
  });
});
