import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runGenerate } from '../src/cli/generate.js';
import { InputError } from '../src/errors.js';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('mbpp-stream generate', () => {
  it('prints the same completion on every greedy run, with counts on stderr', async () => {
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const out = capture();
      const err = capture();
      assert.equal(await runGenerate({ model: tinyModelDir(), prompt: 'def add(a, b):', maxNewTokens: 10 }, out.stream, err.stream), 0);
      assert.match(err.text(), /completion \d+ tokens, finish (eos|length)/);
      runs.push(out.text());
    }
    assert.equal(runs[0], runs[1]);
    assert.ok((runs[0] ?? '').endsWith('\n'));
  });

  it('rejects a bad flag with an InputError naming it', async () => {
    await assert.rejects(runGenerate({ model: tinyModelDir(), prompt: 'x', temperature: -1 }), (e: unknown) => e instanceof InputError && /--temperature/.test(e.message));
  });
});
