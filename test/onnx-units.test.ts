import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { writeTinyModel } from '../scripts/tiny-model/write-tiny-model.js';
import { recordSeed } from '../src/inference/onnx/generation-options.js';
import { halfToFloat } from '../src/inference/onnx/half-float.js';
import { MicroBatcher } from '../src/inference/onnx/micro-batcher.js';
import { SeededRandom } from '../src/inference/onnx/seeded-random.js';
import { chooseToken } from '../src/inference/onnx/token-sampler.js';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

describe('tiny model script', () => {
  it('reproduces the committed fixture byte for byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tiny-model-'));
    try {
      await writeTinyModel(dir);
      const committed = await filesUnder(tinyModelDir());
      assert.deepEqual(await filesUnder(dir), committed);
      assert.ok(committed.includes(join('onnx', 'model.onnx')));
      for (const file of committed) {
        assert.ok((await readFile(join(dir, file))).equals(await readFile(join(tinyModelDir(), file))), `${file} differs`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('sampling pieces', () => {
  it('converts fp16 bits', () => {
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x7c00), Infinity);
  });

  it('samples in proportion to the softmax, and top-k 1 / tiny top-p is greedy', () => {
    const logits = Float32Array.of(0, Math.log(3), -50);
    const random = new SeededRandom(5);
    let ones = 0;
    for (let i = 0; i < 4000; i++) if (chooseToken(logits, { temperature: 1, topK: 0, topP: 1 }, random) === 1) ones++;
    assert.ok(ones > 2800 && ones < 3200, `token 1 drawn ${ones}/4000 times, expected ~3000`);
    const spread = Float32Array.of(1, 2, 1.9, 0.5);
    for (let i = 0; i < 50; i++) {
      assert.equal(chooseToken(spread, { temperature: 2, topK: 1, topP: 1 }, random), 1);
      assert.equal(chooseToken(spread, { temperature: 2, topK: 0, topP: 0.01 }, random), 1);
    }
  });

  it('gives each sample of each task its own seed', () => {
    const seeds = new Set([recordSeed(0, 1, 0), recordSeed(0, 1, 1), recordSeed(0, 2, 0), recordSeed(1, 1, 0)]);
    assert.equal(seeds.size, 4);
    assert.equal(recordSeed(0, 1, 0), recordSeed(0, 1, 0));
  });
});

describe('micro-batcher', () => {
  it('batches requests that arrive together, up to the limit, and runs maintenance between batches', async () => {
    const log: string[] = [];
    const batcher = new MicroBatcher<number, number>(3, async (requests, settle) => {
      log.push(`batch ${requests.join(',')}`);
      await new Promise((r) => setTimeout(r, 5));
      requests.forEach((n, i) => settle(i, n === 4 ? { ok: false, error: new Error('four') } : { ok: true, result: n * 10 }));
    });
    const answers = [1, 2, 3, 4, 5].map((n) => batcher.submit(n).catch((e: Error) => e.message));
    const maintenance = batcher.between(async () => void log.push('maintenance'));
    assert.deepEqual(await Promise.all(answers), [10, 20, 30, 'four', 50]);
    await maintenance;
    assert.deepEqual(log, ['maintenance', 'batch 1,2,3', 'batch 4,5']);
    assert.equal(batcher.busy, false);
  });
});
