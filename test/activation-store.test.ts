/**
 * The activation store: .npy files appended row by row, valid at every moment, repaired after a crash so that
 * every journaled record has exactly one row. Read back with NumPy (skipped without it).
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { halfToFloat } from '../src/inference/onnx/half-float.js';
import { ActivationStore, type ActivationStoreLayout } from '../src/io/activation-store/activation-store.js';
import { float32ToHalfBits } from '../src/io/activation-store/float16-bits.js';
import { numpyMissing, readWithNumpy } from './support/numpy-reader.js';

const LAYOUT: ActivationStoreLayout = { layers: [0, 6], positions: ['last-prompt', 'mean-generated'], hidden: 4, dtype: 'float32' };
const FILES = ['layer_00.last_prompt.npy', 'layer_00.mean_generated.npy', 'layer_06.last_prompt.npy', 'layer_06.mean_generated.npy'];
const always = (): boolean => true;

/** Record `task`'s packed vectors: distinct, recognisable values per layer, position and column. */
function packed(task: number, layout = LAYOUT): Float32Array {
  const size = layout.layers.length * layout.positions.length * layout.hidden;
  return Float32Array.from({ length: size }, (_, i) => task + i / 100 - 0.333);
}

async function filled(dir: string, tasks: number[], layout = LAYOUT): Promise<void> {
  const store = await ActivationStore.open(dir, layout, always);
  for (const task of tasks) await store.append({ task_id: task, sample_index: 0, is_correct: task % 2 === 0 }, packed(task, layout));
  await store.close();
}

let root: string;
let n = 0;
const fresh = (): string => join(root, `store-${n++}`);
before(async () => (root = await mkdtemp(join(tmpdir(), 'mbpp-act-store-'))));
after(() => rm(root, { recursive: true, force: true }));

describe('activation store', () => {
  it('writes one .npy per layer and position, rows aligned with rows.npy, as NumPy reads them', { skip: numpyMissing() }, async () => {
    const dir = fresh();
    await filled(dir, [7, 3, 12]);
    const read = readWithNumpy(dir);
    assert.deepEqual(read.rows, [[7, 0, 0], [3, 0, 0], [12, 0, 1]]);
    assert.deepEqual(Object.keys(read.arrays), FILES);
    FILES.forEach((file, f) => {
      assert.deepEqual(read.arrays[file]?.shape, [3, 4]);
      [7, 3, 12].forEach((task, row) => assert.deepEqual(read.arrays[file]?.values[row], [...packed(task).subarray(f * 4, f * 4 + 4)]));
    });
  });

  it('stores float16 as NumPy rounds it', { skip: numpyMissing() }, async () => {
    const dir = fresh();
    const layout = { ...LAYOUT, dtype: 'float16' as const };
    await filled(dir, [1, 2], layout);
    const read = readWithNumpy(dir);
    assert.equal(read.arrays[FILES[0]!]?.dtype, 'float16');
    const expected = [...packed(2, layout).subarray(0, 4)].map((v) => halfToFloat(float32ToHalfBits(v)));
    assert.deepEqual(read.arrays[FILES[0]!]?.values[1], expected);
  });

  it('converts to float16 by round-to-nearest-even, with infinities, subnormals and NaN', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = halfToFloat(bits);
      if (Number.isNaN(value)) assert.ok(Number.isNaN(halfToFloat(float32ToHalfBits(value))));
      else assert.equal(float32ToHalfBits(value), bits, `half ${bits.toString(16)} (${value})`);
    }
    assert.equal(float32ToHalfBits(1 + 2 ** -11), 0x3c00, 'a tie rounds to the even neighbour (down)');
    assert.equal(float32ToHalfBits(1 + 3 * 2 ** -11), 0x3c02, 'a tie rounds to the even neighbour (up)');
    assert.equal(float32ToHalfBits(65520), 0x7c00, 'past the largest half: infinity');
    assert.equal(float32ToHalfBits(-(2 ** -25)), 0x8000, 'half the smallest subnormal, a tie: -0');
    assert.equal(float32ToHalfBits(2 ** -25 * 1.5), 0x0001);
  });

  it('resumes by appending after the rows it has, nothing doubled', async () => {
    const dir = fresh();
    await filled(dir, [1, 2]);
    const store = await ActivationStore.open(dir, LAYOUT, always);
    assert.equal(store.size, 2);
    assert.deepEqual(store.opening.warnings, []);
    assert.ok(store.has(2, 0));
    await assert.rejects(store.append({ task_id: 2, sample_index: 0, is_correct: true }, packed(2)), /already stored/);
    await assert.rejects(store.append({ task_id: 3, sample_index: 0, is_correct: true }, new Float32Array(3)), /3 values, expected 2 x 2 x 4/);
    await store.append({ task_id: 3, sample_index: 0, is_correct: false }, packed(3));
    await store.close();
    if (!numpyMissing()) assert.deepEqual(readWithNumpy(dir).rows.map((row) => row[0]), [1, 2, 3]);
  });

  it('drops the rows of records the journal does not have (a crash before their journal line), and torn bytes', async () => {
    const dir = fresh();
    await filled(dir, [1, 2, 3]);
    // A kill in the middle of the next append: part of a row in one file.
    await appendFile(join(dir, FILES[1]!), Buffer.alloc(7, 0xff));
    const journaled = (task: number): boolean => task !== 3;
    const store = await ActivationStore.open(dir, LAYOUT, journaled);
    assert.equal(store.size, 2);
    assert.equal(store.has(3, 0), false);
    assert.equal(store.opening.warnings.length, 2);
    assert.match(store.opening.warnings[0]!, /dropped 1 row\(s\) of records the journal does not have/);
    await store.append({ task_id: 3, sample_index: 0, is_correct: true }, packed(3));
    await store.close();
    if (!numpyMissing()) {
      const read = readWithNumpy(dir);
      assert.deepEqual(read.rows, [[1, 0, 0], [2, 0, 1], [3, 0, 1]]);
      assert.deepEqual(read.arrays[FILES[3]!]?.values[2], [...packed(3).subarray(12, 16)]);
    }
  });

  it('refuses another layout, a missing file, and rows out of step with the journal, naming the file', async () => {
    const dir = fresh();
    await filled(dir, [1, 2]);
    await assert.rejects(
      ActivationStore.open(dir, { ...LAYOUT, dtype: 'float16' }, always),
      (error: unknown) => error instanceof InputError && /activations\.json: .*float32, not .*float16; use the same --activation-\* flags, or --fresh/.test(error.message),
    );
    await assert.rejects(ActivationStore.open(dir, LAYOUT, (task) => task === 2), /row 1 \(task 2 sample 0\) is journaled but comes after row 0/);
    await rm(join(dir, FILES[2]!));
    await assert.rejects(ActivationStore.open(dir, LAYOUT, always), /layer_06\.last_prompt\.npy is missing/);
    await rm(join(dir, 'activations.json'));
    await assert.rejects(ActivationStore.open(dir, LAYOUT, always), /activations\.json is missing but rows\.npy has rows/);
  });

  it('starts over in a directory whose creation a crash interrupted', async () => {
    const dir = fresh();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'rows.npy'), 'torn');
    const store = await ActivationStore.open(dir, LAYOUT, always);
    assert.equal(store.size, 0);
    await store.close();
    assert.match(await readFile(join(dir, 'activations.json'), 'utf8'), /"dtype": "float32"/);
  });
});
