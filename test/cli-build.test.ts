import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { latestDataset, readJson, readRowsIndependently } from './support/output-files.js';
import { REPO_ROOT, runCli } from './support/run-cli.js';

const SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');
const FULL = process.env.MBPP_STREAM_DATASET;
/** Real model generations for the test split (7 runs x 500 tasks), kept outside the project. */
const REAL_GENERATIONS = process.env.MBPP_STREAM_REAL_GENERATIONS;

describe('mbpp-stream build, end to end', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbpp-cli-build-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reference backend: writes the three files and the log, every reference solution correct, then resumes without redoing', async () => {
    const out = join(dir, 'reference');
    const args = ['build', '--backend', 'reference', '--dataset', SAMPLE, '--output-dir', out];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    const files = await latestDataset(out);
    const rows = await readRowsIndependently(files.parquet);
    assert.equal(rows.length, 12);
    assert.deepEqual(rows.map((row) => row.task_id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.ok(rows.every((row) => row.is_correct === true && row.status === 'ok' && row.passed_tests === row.total_tests));
    const json = await readJson<Array<{ task_id: number }>>(files.json);
    assert.deepEqual(json.map((row) => row.task_id), rows.map((row) => row.task_id));
    const metadata = await readJson<{ counts: { correct: number }; failed_records: unknown[]; run_id: string }>(files.metadata);
    assert.equal(metadata.counts.correct, 12);
    assert.deepEqual(metadata.failed_records, []);
    const logs = await readdir(join(out, 'mbpp_logs'));
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /^mbpp_production_\d{8}_\d{6}(_\d+)?\.log$/);

    const again = await runCli(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`resuming run ${metadata.run_id}: 12/12 done`));
    assert.match(again.stderr, /starting: 0 of 12 records to do, 12 already done/);
    const rerun = await readRowsIndependently((await latestDataset(out)).parquet);
    assert.equal(rerun.length, 12);
  });

  it('refuses to resume with a setting that changes the output, naming it, and writes nothing', async () => {
    const out = join(dir, 'mismatch');
    const base = ['build', '--backend', 'reference', '--dataset', SAMPLE, '--output-dir', out, '--end', '3'];
    const partial = await runCli([...base, '--max-new-tokens', '100']);
    assert.equal(partial.code, 0, partial.stderr);
    // Make the run unfinished again as a crash would: an unfinished run is what blocks other settings.
    const { rm: remove } = await import('node:fs/promises');
    const runs = join(out, 'mbpp_datasets', 'runs');
    const [runId] = await readdir(runs);
    const manifestPath = join(runs, runId!, 'manifest.json');
    const manifest = await readJson<Record<string, unknown>>(manifestPath);
    await writeFile(manifestPath, JSON.stringify({ ...manifest, finishedAt: null }));
    const before = await readdir(join(out, 'mbpp_datasets'));
    const refused = await runCli([...base, '--max-new-tokens', '300']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--max-new-tokens: run \w+ used 100, this command 300/);
    assert.match(refused.stderr, /--fresh/);
    assert.deepEqual(await readdir(join(out, 'mbpp_datasets')), before);
    const fresh = await runCli([...base, '--max-new-tokens', '300', '--fresh']);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.ok((await readdir(runs)).some((name) => name.startsWith(`${runId}.old-`)), 'the old run is kept aside');
    await remove(out, { recursive: true, force: true });
  });

  it('build --backend replay: the flags select; every sample the file lacks is one failed record, however many in a row', async () => {
    const generations = join(dir, 'generations.jsonl');
    const lines = [
      // task 1 right (raw completion with a fence), task 2 wrong, task 3 EvalPlus style right; tasks 4-8 missing.
      { task_id: 1, completion: 'Here you go:\n```python\ndef digit_sum(n):\n    return sum(int(d) for d in str(n))\n```\n' },
      { task_id: 2, completion: 'def count_vowels(s):\n    return 0\n' },
      { task_id: 'Mbpp/3', solution: (await sampleRecord(3)).code },
    ];
    await writeFile(generations, lines.map((line) => JSON.stringify(line)).join('\n'));
    const out = join(dir, 'replay-build');
    // Five missing in a row: more than the 3 failures that would take the only session out of rotation.
    const run = await runCli(['build', '--backend', 'replay', '--generations', generations, '--dataset', SAMPLE, '--end', '7', '--output-dir', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /nothing for 5 selected task\(s\): 4, 5, 6, 7, 8/);
    assert.doesNotMatch(run.stderr, /out of rotation/);
    const rows = await readRowsIndependently((await latestDataset(out)).parquet);
    const byTask = new Map(rows.map((row) => [row.task_id, row]));
    assert.deepEqual([...byTask.keys()], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(byTask.get(1)?.is_correct, true);
    assert.equal(byTask.get(2)?.is_correct, false);
    assert.equal(byTask.get(2)?.status, 'ok');
    assert.ok((byTask.get(2)?.test_errors as string[]).length > 0);
    assert.equal(byTask.get(3)?.is_correct, true);
    for (const taskId of [4, 5, 6, 7, 8]) {
      assert.equal(byTask.get(taskId)?.status, 'failed');
      assert.match(String(byTask.get(taskId)?.error), new RegExp(`RecordError: --generations .* has no generation for task ${taskId} sample 0`));
    }
    const metadata = await readJson<{ failed_records: Array<{ task_id: number; attempts: number }> }>((await latestDataset(out)).metadata);
    assert.deepEqual(metadata.failed_records.map((failed) => [failed.task_id, failed.attempts]), [[4, 1], [5, 1], [6, 1], [7, 1], [8, 1]]);
  });

  it('evaluate: exactly the (task, sample) pairs of an EvalPlus-style file, in task order, samples counted from the file', async () => {
    const right = async (taskId: number) => (await sampleRecord(taskId)).code;
    const generations = join(dir, 'evalplus.jsonl');
    // Out of order, both styles, several lines per task (samples in file order) and explicit sample_index.
    const lines = [
      { task_id: 'Mbpp/12', solution: await right(12) },
      { task_id: 3, completion: `\`\`\`python\n${await right(3)}\n\`\`\`` },
      { task_id: 'Mbpp/5', solution: await right(5) },
      { task_id: 3, completion: 'def nope():\n    return None' },
      { task_id: 'Mbpp/9', sample_index: 4, solution: 'def nope():\n    return None' },
      { task_id: 'Mbpp/9', sample_index: 1, solution: await right(9) },
    ];
    await writeFile(generations, lines.map((line) => JSON.stringify(line)).join('\n'));
    const out = join(dir, 'evalplus');
    const run = await runCli(['evaluate', '--generations', generations, '--dataset', SAMPLE, '--output-dir', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /nothing for/);
    const files = await latestDataset(out);
    const rows = await readRowsIndependently(files.parquet);
    assert.deepEqual(rows.map((row) => [row.task_id, row.sample_index, row.status, row.is_correct]), [
      [3, 0, 'ok', true],
      [3, 1, 'ok', false],
      [5, 0, 'ok', true],
      [9, 1, 'ok', true],
      [9, 4, 'ok', false],
      [12, 0, 'ok', true],
    ]);
    const metadata = await readJson<{ samples_per_problem: number; selection: { records: number }; failed_records: unknown[]; missing_generations: unknown[] }>(files.metadata);
    assert.equal(metadata.samples_per_problem, 2);
    assert.equal(metadata.selection.records, 4);
    assert.deepEqual(metadata.failed_records, []);
    assert.deepEqual(metadata.missing_generations, []);

    // The selection flags narrow the file's pairs: --split test keeps task 12, --end 4 (tasks 1-5) keeps 3 and 5.
    const narrowed = async (name: string, flags: string[]) => {
      const result = await runCli(['evaluate', '--generations', generations, '--dataset', SAMPLE, '--output-dir', join(dir, name), ...flags]);
      assert.equal(result.code, 0, result.stderr);
      return (await readRowsIndependently((await latestDataset(join(dir, name))).parquet)).map((row) => [row.task_id, row.sample_index]);
    };
    assert.deepEqual(await narrowed('evalplus-test', ['--split', 'test']), [[12, 0]]);
    assert.deepEqual(await narrowed('evalplus-end', ['--end', '4', '--samples', '1']), [[3, 0], [5, 0]]);
  });

  it('--samples N: one row per sample with sample_index, and pass@k per problem in the metadata', async () => {
    const generations = join(dir, 'samples.jsonl');
    const right = (await sampleRecord(1)).code;
    const lines = [
      { task_id: 1, sample_index: 0, solution: right },
      { task_id: 1, sample_index: 1, solution: 'def digit_sum(n):\n    return -1' },
      { task_id: 1, sample_index: 2, solution: 'def digit_sum(n):\n    return -1' },
      { task_id: 2, sample_index: 0, solution: 'def count_vowels(s):\n    return -1' },
      { task_id: 2, sample_index: 1, solution: 'def count_vowels(s):\n    return -1' },
      { task_id: 2, sample_index: 2, solution: 'def count_vowels(s):\n    return -1' },
    ];
    await writeFile(generations, lines.map((line) => JSON.stringify(line)).join('\n'));
    const out = join(dir, 'samples');
    const run = await runCli(['evaluate', '--generations', generations, '--samples', '3', '--dataset', SAMPLE, '--end', '1', '--output-dir', out]);
    assert.equal(run.code, 0, run.stderr);
    const files = await latestDataset(out);
    const rows = await readRowsIndependently(files.parquet);
    assert.deepEqual(rows.map((row) => [row.task_id, row.sample_index, row.is_correct]), [
      [1, 0, true],
      [1, 1, false],
      [1, 2, false],
      [2, 0, false],
      [2, 1, false],
      [2, 2, false],
    ]);
    const metadata = await readJson<{
      pass_at_k: Record<string, number>;
      pass_at_k_by_problem: Array<{ task_id: number; pass_at_k: Record<string, number> }>;
      labels: string;
      mbpp_plus?: unknown;
    }>(files.metadata);
    assert.equal(metadata.labels, 'asserts');
    assert.equal(metadata.mbpp_plus, undefined, 'no MBPP+ labels without MBPP+ records');
    assert.ok(Math.abs(metadata.pass_at_k_by_problem[0]!.pass_at_k['1']! - 1 / 3) < 1e-12);
    assert.equal(metadata.pass_at_k_by_problem[1]!.pass_at_k['1'], 0);
    assert.ok(Math.abs(metadata.pass_at_k['1']! - 1 / 6) < 1e-12);
  });

  it('retry-failed redoes exactly the failed records into the same run', async () => {
    // Task 2's program sleeps twice the first run's 5 s record timeout, so it times out however fast the machine is;
    // with no retries it ends as a failed record. Tasks 1 and 3 take a few ms: 5 s is plenty for them however busy.
    const generations = join(dir, 'slow.jsonl');
    const slow = `import time\ntime.sleep(10)\n${(await sampleRecord(2)).code}`;
    const lines = [1, 2, 3].map((taskId) => ({ task_id: taskId, solution: taskId === 2 ? slow : null }));
    const codes = await Promise.all(lines.map(async (line) => line.solution ?? (await sampleRecord(line.task_id)).code));
    await writeFile(generations, lines.map((line, index) => JSON.stringify({ task_id: line.task_id, solution: codes[index] })).join('\n'));
    const out = join(dir, 'retry');
    // No --end: the sample has 12 problems, the file 3; retrying adds none of the other 9 as failures.
    const common = ['--generations', generations, '--dataset', SAMPLE, '--output-dir', out, '--max-retries', '0'];
    const first = await runCli(['evaluate', ...common, '--timeout', '5']);
    assert.equal(first.code, 0, first.stderr);
    const firstMeta = await readJson<{ failed_records: Array<{ task_id: number; error: string; attempts: number }> }>((await latestDataset(out)).metadata);
    assert.deepEqual(firstMeta.failed_records.map((failed) => failed.task_id), [2]);
    assert.match(firstMeta.failed_records[0]!.error, /timed out/);

    const retried = await runCli(['retry-failed', '--backend', 'replay', ...common, '--timeout', '60']);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stderr, /starting: 1 of 3 records to do, 2 already done/);
    const rows = await readRowsIndependently((await latestDataset(out)).parquet);
    assert.deepEqual(rows.map((row) => [row.task_id, row.status, row.is_correct]), [
      [1, 'ok', true],
      [2, 'ok', true],
      [3, 'ok', true],
    ]);
  });

  it('retry-failed with no such run says so and writes nothing', async () => {
    const out = join(dir, 'no-run');
    const run = await runCli(['retry-failed', '--backend', 'reference', '--dataset', SAMPLE, '--output-dir', out]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /retry-failed: no run with these settings/);
    await assert.rejects(readdir(out), { code: 'ENOENT' });
  });

  it('the full MBPP file with the reference backend: 974 rows, 974 task_ids, all correct but the three known failures', { skip: !FULL && 'set MBPP_STREAM_DATASET' }, async () => {
    const out = join(dir, 'full');
    const run = await runCli(['build', '--backend', 'reference', '--dataset', FULL!, '--output-dir', out]);
    assert.equal(run.code, 0, run.stderr);
    const rows = await readRowsIndependently((await latestDataset(out)).parquet);
    assert.equal(rows.length, 974);
    assert.equal(new Set(rows.map((row) => row.task_id)).size, 974);
    // MBPP's own reference solutions fail their asserts in exactly these tasks; any other failure is ours.
    assert.deepEqual(rows.filter((row) => row.is_correct !== true).map((row) => row.task_id), [341, 596, 642]);
    const splits = new Map<unknown, number>();
    for (const row of rows) splits.set(row.split, (splits.get(row.split) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(splits), { prompt: 10, test: 500, validation: 90, train: 374 });
  });

  it(
    'evaluate on real generations needs no --samples or --split: 3,500 rows, 7 samples for each of the 500 test tasks',
    { skip: !(FULL && REAL_GENERATIONS) && 'set MBPP_STREAM_DATASET and MBPP_STREAM_REAL_GENERATIONS', timeout: 600_000 },
    async () => {
      const out = join(dir, 'real');
      const run = await runCli(['evaluate', '--generations', REAL_GENERATIONS!, '--dataset', FULL!, '--output-dir', out, '--quiet']);
      assert.equal(run.code, 0, run.stderr);
      const files = await latestDataset(out);
      const rows = await readRowsIndependently(files.parquet);
      assert.equal(rows.length, 3500);
      assert.equal(new Set(rows.map((row) => `${row.task_id}/${row.sample_index}`)).size, 3500);
      assert.deepEqual([rows[0]!.task_id, rows.at(-1)!.task_id], [11, 510]);
      assert.ok(rows.every((row) => row.split === 'test'));
      const metadata = await readJson<{ samples_per_problem: number; pass_at_k: Record<string, number> }>(files.metadata);
      assert.equal(metadata.samples_per_problem, 7);
      assert.ok(metadata.pass_at_k['1']! > 0);
    },
  );
});

async function sampleRecord(taskId: number): Promise<{ code: string }> {
  const { readFile } = await import('node:fs/promises');
  const lines = (await readFile(SAMPLE, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { task_id: number; code: string });
  const record = lines.find((line) => line.task_id === taskId);
  if (!record) throw new Error(`no task ${taskId} in the sample`);
  return record;
}
