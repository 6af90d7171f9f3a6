import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadMbppPlus } from '../src/io/mbppplus-source.ts';
import { latestDataset, readJson, readRowsIndependently } from './support/output-files.ts';
import { REPO_ROOT, runCli } from './support/run-cli.ts';

/**
 * MBPP+ data through the CLI: format detection, prompts, the original MBPP joined, the run identity, EvalPlus
 * `completion` rows, and the refusals. The labels themselves (the MBPP+ judge) are tested elsewhere.
 */
const PLUS_SAMPLE = join(REPO_ROOT, 'fixtures/mbppplus-sample.jsonl');
const MBPP_SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');

interface Metadata {
  run_id: string;
  prompt_template: { origin: string; text: string };
  identity: Record<string, unknown>;
}

describe('MBPP+ datasets in the CLI', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-mbppplus-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function build(out: string, extra: string[]): Promise<{ rows: Record<string, unknown>[]; metadata: Metadata }> {
    const run = await runCli(['build', '--backend', 'reference', '--dataset', PLUS_SAMPLE, '--output-dir', out, '--quiet', ...extra]);
    assert.equal(run.code, 0, run.stderr);
    const files = await latestDataset(out);
    return { rows: await readRowsIndependently(files.parquet), metadata: await readJson<Metadata>(files.metadata) };
  }

  it('detected without a flag: each problem is prompted with its MBPP+ prompt, verbatim; the identity says MBPP+', async () => {
    const { records } = await loadMbppPlus(PLUS_SAMPLE);
    const { rows, metadata } = await build(join(dir, 'plain'), []);
    assert.deepEqual(rows.map((row) => row.task_id), [4, 6, 9, 10]);
    rows.forEach((row, index) => {
      const record = records[index];
      assert.equal(row.prompt, record?.plus?.prompt);
      assert.equal(row.text, record?.text);
      assert.deepEqual(row.test_list, []);
      assert.equal(row.generated_code, record?.code, 'the reference backend answers prompt + canonical solution');
    });
    assert.deepEqual(metadata.prompt_template, { origin: 'builtin:mbppplus', text: '{prompt}' });
    assert.equal(metadata.identity.datasetFormat, 'mbppplus');
    assert.equal(metadata.identity.originalDatasetSha256, undefined);
  });

  it('--prompt-template: {text} is the statement and {tests} the MBPP+ prompt\'s assert', async () => {
    const template = join(dir, 'template.txt');
    await writeFile(template, 'Task: {text}\nExample: {tests}\n');
    const { rows } = await build(join(dir, 'templated'), ['--prompt-template', template, '--split', 'prompt', '--start', '3']);
    assert.equal(rows[0]?.prompt, "Task: Write a function to convert a snake_case identifier to camelCase.\nExample: assert snake_to_camel('read_file_name') == 'readFileName'\n");
  });

  it('--original-dataset: the original text, code and asserts with the thesis prompt; a run of its own, not the plain one resumed', async () => {
    const out = join(dir, 'joined');
    const plain = await build(out, []);
    const joined = await build(out, ['--original-dataset', MBPP_SAMPLE]);
    assert.notEqual(joined.metadata.run_id, plain.metadata.run_id);
    assert.equal(joined.metadata.identity.datasetFormat, 'mbppplus');
    assert.match(String(joined.metadata.identity.originalDatasetSha256), /^[0-9a-f]{64}$/);
    assert.equal(joined.metadata.prompt_template.origin, 'builtin:thesis');
    const original = (await readFile(MBPP_SAMPLE, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const four = original.find((record) => record.task_id === 4);
    const row = joined.rows.find((candidate) => candidate.task_id === 4);
    assert.equal(row?.text, four?.text);
    assert.deepEqual(row?.test_list, four?.test_list);
    assert.equal(row?.generated_code, four?.code);
    assert.equal(row?.prompt, `${four?.text}\n\n${(four?.test_list as string[]).join('\n')}\n\n# Solution:`);
    assert.deepEqual([row?.passed_tests, row?.total_tests, row?.is_correct], [3, 3, true], 'the original asserts are judged');
  });

  it('evaluate: an EvalPlus "completion" runs after the MBPP+ prompt, no extraction; "solution" and integer-id rows as before', async () => {
    const generations = join(dir, 'evalplus-completions.jsonl');
    const lines = [
      { task_id: 'Mbpp/10', completion: "def snake_to_camel(name):\n    return name.split('_')[0] + ''.join(p.title() for p in name.split('_')[1:])\n" },
      { task_id: 'Mbpp/6', solution: 'def triangular(n):\n    return n * (n + 1) // 2\n' },
      { task_id: 9, completion: 'Here it is:\n```python\ndef gcd_of(a, b):\n    return a if b == 0 else gcd_of(b, a % b)\n```' },
    ];
    await writeFile(generations, lines.map((line) => JSON.stringify(line)).join('\n'));
    const out = join(dir, 'evaluate');
    const run = await runCli(['evaluate', '--generations', generations, '--dataset', PLUS_SAMPLE, '--output-dir', out, '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    const rows = await readRowsIndependently((await latestDataset(out)).parquet);
    const { records } = await loadMbppPlus(PLUS_SAMPLE);
    const byTask = new Map(rows.map((row) => [row.task_id, row]));
    assert.equal(byTask.get(10)?.generated_code, `${records[3]?.plus?.prompt}${lines[0]?.completion}`);
    assert.equal(byTask.get(10)?.raw_completion, lines[0]?.completion);
    assert.equal(byTask.get(6)?.generated_code, lines[1]?.solution);
    assert.equal(byTask.get(9)?.generated_code, 'def gcd_of(a, b):\n    return a if b == 0 else gcd_of(b, a % b)');
  });

  it('evaluate on plain MBPP: an EvalPlus "completion" is still raw text that code is extracted from', async () => {
    const generations = join(dir, 'mbpp-completions.jsonl');
    await writeFile(generations, JSON.stringify({ task_id: 'Mbpp/6', completion: 'Sure:\n```python\ndef triangular(n):\n    return n * (n + 1) // 2\n```' }));
    const out = join(dir, 'evaluate-mbpp');
    const run = await runCli(['evaluate', '--generations', generations, '--dataset', MBPP_SAMPLE, '--output-dir', out, '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    const files = await latestDataset(out);
    const [row] = await readRowsIndependently(files.parquet);
    assert.deepEqual([row?.generated_code, row?.is_correct], ['def triangular(n):\n    return n * (n + 1) // 2', true]);
    // MBPP runs keep the identities (and so the run ids) they had before MBPP+ was read.
    const { identity } = await readJson<Metadata>(files.metadata);
    assert.ok(!('datasetFormat' in identity) && !('originalDatasetSha256' in identity), JSON.stringify(identity));
  });

  describe('refusals: one line, exit 2, nothing written', () => {
    async function expectRefused(args: string[], message: RegExp): Promise<void> {
      const out = join(dir, `refused-${Math.random().toString(36).slice(2)}`);
      await mkdir(out);
      const run = await runCli(['build', '--backend', 'reference', '--output-dir', out, ...args]);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr.trim(), message);
      assert.deepEqual(await readdir(out), []);
    }

    it('a format forced on a file of the other', async () => {
      await expectRefused(['--dataset', PLUS_SAMPLE, '--dataset-format', 'mbpp'], /^mbpp-stream: --dataset .* is MBPP\+ \(EvalPlus's format\), not MBPP/);
      await expectRefused(['--dataset', MBPP_SAMPLE, '--dataset-format', 'mbppplus'], /^mbpp-stream: --dataset .* is MBPP, not MBPP\+/);
    });

    it('--original-dataset with an MBPP dataset, or lacking an MBPP+ task', async () => {
      await expectRefused(['--dataset', MBPP_SAMPLE, '--original-dataset', MBPP_SAMPLE], /--original-dataset joins the original MBPP to an MBPP\+ dataset/);
      const partial = join(dir, 'partial-original.jsonl');
      await writeFile(partial, (await readFile(MBPP_SAMPLE, 'utf8')).split('\n').slice(0, 6).join('\n'));
      await expectRefused(['--dataset', PLUS_SAMPLE, '--original-dataset', partial], /partial-original\.jsonl: lacks 2 of the MBPP\+ tasks \(Mbpp\/9, Mbpp\/10\)$/);
    });

    it('a bad MBPP+ line names the file, line and field', async () => {
      const lines = (await readFile(PLUS_SAMPLE, 'utf8')).trim().split('\n');
      lines[1] = lines[1]!.replace('"entry_point": "triangular"', '"entry_point": "tri angular"');
      const path = join(dir, 'bad-entry-point.jsonl');
      await writeFile(path, `${lines.join('\n')}\n`);
      await expectRefused(['--dataset', path], /bad-entry-point\.jsonl, line 2: field "entry_point" must be a Python identifier/);
    });
  });
});
