/**
 * `build --capture-activations` end to end on the tiny model: a run killed mid-way (batch 8) and resumed (batch 1,
 * two sessions) ends with exactly one row per judged record, each equal to the reference forward pass's hidden
 * states at every layer and position; NumPy (where importable) reads the files and checks their alignment with
 * the dataset. Bad capture flags are refused with one line naming the flag.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tinyFixtureSpec } from '../scripts/tiny-model/write-tiny-model.js';
import { makeTinyWeights } from '../scripts/tiny-model/weights.js';
import type { ActivationSpec } from '../src/inference/onnx/activation-spec.js';
import { generateBatch } from '../src/inference/onnx/batch-generation.js';
import { NPY_HEADER_BYTES, readNpyHeader } from '../src/io/activation-store/npy-header.js';
import { assertClose, expectedActivations } from './activation-expectations.js';
import { openTinyFixture, type TinyFixture } from './onnx-model-fixture.js';
import { latestDataset, readJson } from './support/output-files.js';
import { numpyMissing, readWithNumpy } from './support/numpy-reader.js';
import { collect, REPO_ROOT, runCli, startCli } from './support/run-cli.js';

const SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');
const MAX_NEW_TOKENS = 16;
const CAPTURE: ActivationSpec = { layers: [0, 1], positions: ['last-prompt', 'mean-prompt', 'mean-generated'] };
const FILES = ['layer_00.last_prompt.npy', 'layer_00.mean_prompt.npy', 'layer_00.mean_generated.npy', 'layer_01.last_prompt.npy', 'layer_01.mean_prompt.npy', 'layer_01.mean_generated.npy'];

/**
 * The build, by default on 12 problems x 4 samples: enough records that a kill after the third lands with work
 * left. `flags` replace the defaults of the same name or add to them.
 */
function buildArgs(out: string, flags: Record<string, string> = {}): string[] {
  const all: Record<string, string> = {
    '--end': '11',
    '--samples': '4',
    '--workers': '2',
    '--max-new-tokens': String(MAX_NEW_TOKENS),
    '--activation-layers': 'all',
    '--activation-positions': 'last-prompt,mean-prompt,mean-generated',
    ...flags,
  };
  return ['build', '--test-run', '--dataset', SAMPLE, '--output-dir', out, '--capture-activations', '--json', ...Object.entries(all).flat()];
}

/** Resolves once the child's `--json` stream has reported `count` finished records. */
function recordsReported(child: ReturnType<typeof startCli>, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString().split('\n').filter((line) => line.includes('"event":"record"')).length;
      if (seen >= count) resolve();
    });
  });
}

/** The rows of one .npy file this tool wrote, read by hand (header, then float32 or int64 rows). */
async function readNpy(path: string): Promise<{ descr: string; rows: number; columns: number; data: Float32Array | BigInt64Array }> {
  const bytes = await readFile(path);
  const header = readNpyHeader(bytes);
  assert.ok(header, `${path} has an npy header`);
  const body = bytes.subarray(NPY_HEADER_BYTES);
  assert.equal(body.length, header.rows * header.columns * (header.descr === '<i8' ? 8 : 4), `${path}: exactly the rows its header says`);
  const buffer = body.buffer.slice(body.byteOffset, body.byteOffset + body.length);
  return { ...header, data: header.descr === '<i8' ? new BigInt64Array(buffer) : new Float32Array(buffer) };
}

let dir: string;
let fixture: TinyFixture;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mbpp-cli-act-'));
  fixture = await openTinyFixture();
});
after(async () => {
  await fixture.graph.session.release();
  await rm(dir, { recursive: true, force: true });
});

describe('build --capture-activations', () => {
  it('keeps one row per judged record equal to the reference forward pass, across a kill and a resume', async () => {
    const out = join(dir, 'killed');
    const first = startCli(buildArgs(out, { '--batch-size': '8' }));
    const firstRun = collect(first);
    await recordsReported(first, 3);
    first.kill('SIGKILL');
    assert.equal((await firstRun).signal, 'SIGKILL');

    const otherFlags = await runCli(buildArgs(out, { '--activation-positions': 'last-prompt' }));
    assert.equal(otherFlags.code, 2, otherFlags.stderr);
    assert.match(otherFlags.stderr, /--activation-positions: run \w+ used "last-prompt,mean-prompt,mean-generated", this command "last-prompt"/);

    const resumed = await runCli(buildArgs(out, { '--batch-size': '1', '--sessions': '2' }));
    assert.equal(resumed.code, 0, resumed.stderr);

    const { json, metadata } = await latestDataset(out);
    const rows = await readJson<Record<string, unknown>[]>(json);
    const meta = (await readJson(metadata)) as { activations: Record<string, unknown>; counts: { judged: number } };
    const activations = meta.activations as { dir: string; rows: number; dtype: string; files: { file: string; shape: number[]; dtype: string }[]; judged_without_activations: unknown[] };
    assert.equal(activations.dtype, 'float32');
    assert.equal(activations.rows, meta.counts.judged);
    assert.deepEqual(activations.judged_without_activations, []);
    assert.deepEqual(activations.files.map((f) => f.file), FILES);
    for (const file of activations.files) assert.deepEqual(file.shape, [meta.counts.judged, 64]);
    assert.deepEqual((await readdir(activations.dir)).sort(), ['activations.json', ...FILES, 'rows.npy'].sort());

    const keys = await readNpy(join(activations.dir, 'rows.npy'));
    const keyOf = (row: number): string => `${keys.data[row * 3]}:${keys.data[row * 3 + 1]}`;
    const stored = Array.from({ length: keys.rows }, (_, row) => keyOf(row));
    assert.equal(new Set(stored).size, stored.length, 'no record has two rows');
    const judged = rows.filter((row) => row.status === 'ok');
    assert.deepEqual(new Set(stored), new Set(judged.map((row) => `${row.task_id}:${row.sample_index}`)), 'every judged record has its row');

    // Each row against the reference: the prompt as the run tokenized it, and the tokens greedy decoding gave it
    // (a prefix of an unstopped greedy run from the same prompt, as long as the record's completion_tokens).
    const spec = tinyFixtureSpec();
    const weights = makeTinyWeights(spec);
    const arrays = await Promise.all(FILES.map((file) => readNpy(join(activations.dir, file))));
    const byKey = new Map(judged.map((row) => [`${row.task_id}:${row.sample_index}`, row]));
    const checked = new Map<string, Float64Array>();
    for (const [r, key] of stored.entries()) {
      const row = byKey.get(key)!;
      const promptIds = fixture.tokenizer.encode(row.prompt as string);
      const cacheKey = `${row.prompt}\0${row.completion_tokens}`;
      let expected = checked.get(cacheKey);
      if (expected === undefined) {
        const [free] = await generateBatch(fixture.graph.session, fixture.graph.signature, (ids) => fixture.tokenizer.decode(ids), [{ promptIds, seed: 0 }], {
          temperature: 0, topK: 0, topP: 1, maxNewTokens: MAX_NEW_TOKENS, stopSequences: [], eosTokenIds: [], padTokenId: 0, useCache: true,
        });
        assert.ok(free?.ok);
        const generated = free.result.tokenIds.slice(0, row.completion_tokens as number);
        expected = expectedActivations(spec, weights, promptIds, generated, CAPTURE);
        checked.set(cacheKey, expected);
      }
      const actual = new Float32Array(FILES.length * 64);
      arrays.forEach((array, f) => actual.set((array.data as Float32Array).subarray(r * 64, (r + 1) * 64), f * 64));
      assertClose(actual, expected, `task ${key}`);
      assert.equal(keys.data[r * 3 + 2], row.is_correct ? 1n : 0n);
    }

    if (!numpyMissing()) {
      const read = readWithNumpy(activations.dir, json);
      assert.equal(read.rows.length, judged.length);
      assert.deepEqual(read.arrays[FILES[2]!]?.values[0], [...(arrays[2]!.data as Float32Array).subarray(0, 64)]);
    }
  });

  it('writes float16 files that NumPy reads, within half precision of the float32 run', { skip: numpyMissing() }, async () => {
    const out = join(dir, 'half');
    const run = await runCli(buildArgs(out, { '--end': '2', '--samples': '1', '--activation-dtype': 'float16' }));
    assert.equal(run.code, 0, run.stderr);
    const { json, metadata } = await latestDataset(out);
    const meta = (await readJson(metadata)) as { activations: { dir: string; dtype: string } };
    assert.equal(meta.activations.dtype, 'float16');
    const read = readWithNumpy(meta.activations.dir, json);
    assert.equal(read.arrays[FILES[0]!]?.dtype, 'float16');
    assert.equal(read.rows.length, 3);
  });

  it('refuses capture flags that cannot work, naming the flag, and writes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--backend', 'reference', '--capture-activations'], /--capture-activations needs --backend onnx/],
      [['--activation-layers', '1'], /--activation-layers needs --capture-activations/],
      [['--capture-activations', '--activation-layers', '2'], /--activation-layers: layer 2 does not exist; the model has 2 decoder layers/],
      [['--capture-activations', '--activation-positions', 'first-token'], /--activation-positions: "first-token" is not a position/],
    ];
    for (const [flags, message] of cases) {
      const out = join(dir, 'refused');
      const run = await runCli(['build', '--test-run', '--dataset', SAMPLE, '--output-dir', out, '--quiet', ...flags]);
      assert.equal(run.code, 2, `${flags.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').filter((line) => line.startsWith('mbpp-stream:')).length, 1);
      assert.deepEqual(await readdir(out).catch(() => []), [], 'nothing written');
    }
  });
});
