import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { tinyFixtureSpec } from '../scripts/tiny-model/write-tiny-model.js';
import { makeTinyWeights } from '../scripts/tiny-model/weights.js';
import { generateBatch, type GenerationSettings, type SequenceRequest, type SequenceResult } from '../src/inference/onnx/batch-generation.js';
import { openTinyFixture, type TinyFixture } from './onnx-model-fixture.js';
import { referenceLogits } from './onnx-reference-forward.js';

const GREEDY_NO_EOS: GenerationSettings = {
  temperature: 0, topK: 0, topP: 1, maxNewTokens: 24, stopSequences: [], eosTokenIds: [], padTokenId: 0, useCache: true,
};

let fixture: TinyFixture;
before(async () => (fixture = await openTinyFixture()));
after(async () => fixture.graph.session.release());

async function generate(prompts: string[], settings: GenerationSettings, seed = 0): Promise<SequenceResult[]> {
  const requests: SequenceRequest[] = prompts.map((p) => ({ promptIds: fixture.tokenizer.encode(p), seed }));
  const outcomes = await generateBatch(fixture.graph.session, fixture.graph.signature, (ids) => fixture.tokenizer.decode(ids), requests, settings);
  return outcomes.map((o) => {
    if (!o.ok) throw o.error;
    return o.result;
  });
}

describe('tiny decoder through onnxruntime', () => {
  it('gives the logits of a plain TypeScript forward pass (1e-4), with left padding', async () => {
    const spec = tinyFixtureSpec();
    const weights = makeTinyWeights(spec);
    const rows = [
      { ids: [1, 80, 90, 100, 7, 260], mask: [1, 1, 1, 1, 1, 1] },
      { ids: [0, 0, 1, 33, 44, 55], mask: [0, 0, 1, 1, 1, 1] },
    ];
    const positions = rows.map((r) => r.mask.map((_, i) => Math.max(0, i - r.mask.indexOf(1))));
    const width = 6;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(rows.flatMap((r) => r.ids), BigInt), [2, width]),
      attention_mask: new ort.Tensor('int64', BigInt64Array.from(rows.flatMap((r) => r.mask), BigInt), [2, width]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(positions.flat(), BigInt), [2, width]),
    };
    for (const layer of fixture.graph.signature.layers) {
      for (const name of [layer.pastKey, layer.pastValue]) {
        feeds[name] = new ort.Tensor('float32', new Float32Array(0), [2, spec.numKvHeads, 0, spec.headDim]);
      }
    }
    const logits = (await fixture.graph.session.run(feeds))['logits'];
    assert.ok(logits);
    const data = logits.data as Float32Array;
    let compared = 0;
    rows.forEach((row, b) => {
      const expected = referenceLogits(spec, weights, row.ids, row.mask, positions[b] as number[]);
      row.mask.forEach((real, s) => {
        if (real === 0) return; // a pad query attends to nothing; its output is never used
        const offset = (b * width + s) * spec.vocabSize;
        for (let v = 0; v < spec.vocabSize; v++) {
          const diff = Math.abs((data[offset + v] as number) - (expected[s]?.[v] as number));
          assert.ok(diff <= 1e-4, `row ${b} pos ${s} token ${v}: ort ${data[offset + v]} vs reference ${expected[s]?.[v]}`);
          compared++;
        }
      });
    });
    assert.equal(compared, 10 * spec.vocabSize);
  });

  it('decodes the same tokens with the KV cache as without it', async () => {
    const prompts = ['def add(a, b):', 'Write a function to reverse a list.'];
    const cached = await generate(prompts, GREEDY_NO_EOS);
    const uncached = await generate(prompts, { ...GREEDY_NO_EOS, useCache: false });
    assert.deepEqual(cached.map((r) => r.tokenIds), uncached.map((r) => r.tokenIds));
    assert.equal(cached[0]?.tokenIds.length, 24);
  });

  it('gives a batch of 4 the same tokens as 4 single runs', async () => {
    const prompts = ['x', 'def is_even(n):\n    return', 'Write a python function to find the max of three numbers.', 'assert f(3) == 9'];
    const batched = await generate(prompts, GREEDY_NO_EOS);
    const singles = [];
    for (const prompt of prompts) singles.push(...(await generate([prompt], GREEDY_NO_EOS)));
    assert.deepEqual(batched.map((r) => r.tokenIds), singles.map((r) => r.tokenIds));
    assert.deepEqual(batched.map((r) => r.text), singles.map((r) => r.text));
  });

  it('is deterministic: greedy, and sampling for a given seed', async () => {
    const prompts = ['def f(x):', 'return'];
    assert.deepEqual(await generate(prompts, GREEDY_NO_EOS), await generate(prompts, GREEDY_NO_EOS));
    const sampling = { ...GREEDY_NO_EOS, temperature: 1.2, topK: 50, topP: 0.95 };
    const first = await generate(prompts, sampling, 7);
    assert.deepEqual(await generate(prompts, sampling, 7), first);
    const otherSeed = await generate(prompts, sampling, 8);
    assert.notDeepEqual(otherSeed.map((r) => r.tokenIds), first.map((r) => r.tokenIds));
    const greedy = await generate(prompts, GREEDY_NO_EOS);
    assert.notDeepEqual(first.map((r) => r.tokenIds), greedy.map((r) => r.tokenIds));
  });

  it('stops at EOS, at a stop sequence, or at max_new_tokens, and says which', async () => {
    const free = (await generate(['def f(x):'], { ...GREEDY_NO_EOS, maxNewTokens: 16 }))[0] as SequenceResult;
    assert.equal(free.finishReason, 'length');
    assert.equal(free.tokenIds.length, 16);
    const eosAt = free.tokenIds[5] as number;
    const eos = (await generate(['def f(x):'], { ...GREEDY_NO_EOS, maxNewTokens: 16, eosTokenIds: [eosAt] }))[0] as SequenceResult;
    assert.equal(eos.finishReason, 'eos');
    assert.deepEqual(eos.tokenIds, free.tokenIds.slice(0, free.tokenIds.indexOf(eosAt) + 1));
    const stopText = free.text.slice(4, 7);
    assert.ok(stopText.length > 0);
    const stopped = (await generate(['def f(x):'], { ...GREEDY_NO_EOS, maxNewTokens: 16, stopSequences: [stopText] }))[0] as SequenceResult;
    assert.equal(stopped.finishReason, 'stop');
    assert.equal(stopped.text, free.text.slice(0, free.text.indexOf(stopText)));
  });

  it('drops an aborted row between steps, rejecting it with its AbortError, and finishes the others', async () => {
    const controller = new AbortController();
    const requests: SequenceRequest[] = [
      { promptIds: fixture.tokenizer.encode('a'), seed: 0, signal: controller.signal },
      { promptIds: fixture.tokenizer.encode('b'), seed: 0 },
    ];
    let steps = 0;
    const counting = {
      run: (feeds: ort.InferenceSession.FeedsType) => {
        if (++steps === 3) controller.abort();
        return fixture.graph.session.run(feeds);
      },
    };
    const outcomes = await generateBatch(counting, fixture.graph.signature, (ids) => fixture.tokenizer.decode(ids), requests, GREEDY_NO_EOS);
    assert.equal(outcomes[0]?.ok, false);
    assert.equal((outcomes[0] as { error: Error }).error.name, 'AbortError');
    assert.equal(outcomes[1]?.ok && outcomes[1].result.tokenIds.length, 24);
    const single = await generate(['b'], GREEDY_NO_EOS);
    assert.deepEqual(outcomes[1]?.ok && outcomes[1].result.tokenIds, single[0]?.tokenIds);
  });
});
