import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FLOAT, OnnxGraphBuilder } from '../scripts/tiny-model/onnx-graph-builder.js';
import { InputError } from '../src/errors.js';
import type { Prompted } from '../src/records.js';
import { hubEnvironmentFrom } from '../src/inference/hub/hub-environment.js';
import { parseDevices } from '../src/inference/onnx/device-spec.js';
import { resolveGenerationOptions } from '../src/inference/onnx/generation-options.js';
import { OnnxBackend } from '../src/inference/onnx/onnx-backend.js';
import { cudaProviderInstalled, sessionOptions } from '../src/inference/onnx/ort-session-factory.js';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';

function prompted(taskId: number, prompt: string): Prompted {
  return {
    record: { task_id: taskId, text: prompt, code: '', test_setup_code: '', test_list: [], challenge_test_list: [], split: 'test' },
    sampleIndex: 0,
    prompt,
  };
}

const PROMPTS = ['def add(a, b):', 'Write a function to sort a list.', 'x', 'assert f(2) == 4', 'import math', 'return'];
const generation = { maxNewTokens: 12 };

let scratch: string;
before(async () => (scratch = await mkdtemp(join(tmpdir(), 'onnx-backend-'))));
after(async () => rm(scratch, { recursive: true, force: true }));

describe('onnx backend over the tiny model', () => {
  it('micro-batches concurrent requests across 2 sessions and answers each as a single run would', async () => {
    const batched = await OnnxBackend.open({ model: tinyModelDir(), sessions: 2, batchSize: 3, generation });
    const single = await OnnxBackend.open({ model: tinyModelDir(), sessions: 1, batchSize: 1, generation });
    try {
      assert.equal(batched.sessions.length, 2);
      assert.equal(batched.sessions[0]?.concurrency, 3);
      const signal = new AbortController().signal;
      const fromBatches = await Promise.all(
        PROMPTS.map((p, i) => batched.sessions[i % 2]!.generate({ item: prompted(i, p), signal })),
      );
      const fromSingles = [];
      for (const [i, p] of PROMPTS.entries()) fromSingles.push(await single.sessions[0]!.generate({ item: prompted(i, p), signal }));
      assert.deepEqual(fromBatches.map((c) => c.text), fromSingles.map((c) => c.text));
      for (const completion of fromBatches) {
        assert.ok((completion.promptTokens ?? 0) > 1);
        assert.ok(['eos', 'length'].includes(completion.finishReason ?? ''));
        assert.ok((completion.completionTokens ?? 0) >= 1 && (completion.completionTokens ?? 0) <= 12);
      }
      assert.deepEqual(new Set(fromBatches.map((c) => c.sessionId)), new Set(['onnx-cpu-0', 'onnx-cpu-1']));
      assert.equal(batched.describe()['batchSize'], 3);
      assert.equal(batched.describe()['maxNewTokens'], 12);
    } finally {
      await Promise.all([batched.close(), single.close()]);
    }
  });

  it('rejects an aborted request with an AbortError, survives a memory cleanup, and refuses work once closed', async () => {
    const backend = await OnnxBackend.open({ model: tinyModelDir(), generation });
    const session = backend.sessions[0]!;
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(session.generate({ item: prompted(1, 'def f():'), signal: controller.signal }), { name: 'AbortError' });
    const live = new AbortController().signal;
    const before = await session.generate({ item: prompted(1, 'def f():'), signal: live });
    await backend.releaseIdleSessions();
    const afterCleanup = await session.generate({ item: prompted(1, 'def f():'), signal: live });
    assert.equal(afterCleanup.text, before.text);
    await backend.close();
    await assert.rejects(session.generate({ item: prompted(1, 'def f():'), signal: live }), { name: 'SessionClosedError' });
  });
});

describe('bad models and flags give one-line InputErrors naming the culprit', () => {
  async function brokenCopy(name: string, breakIt: (dir: string) => Promise<void>): Promise<string> {
    const dir = join(scratch, name);
    await cp(tinyModelDir(), dir, { recursive: true });
    await breakIt(dir);
    return dir;
  }
  const rejectsWith = (dir: string, pattern: RegExp) =>
    assert.rejects(OnnxBackend.open({ model: dir }), (error: unknown) => {
      assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });

  it('missing config.json or tokenizer.json', async () => {
    await rejectsWith(await brokenCopy('no-config', (d) => rm(join(d, 'config.json'))), /missing .*config\.json/);
    await rejectsWith(await brokenCopy('no-tokenizer', (d) => rm(join(d, 'tokenizer.json'))), /missing .*tokenizer\.json/);
    await rejectsWith(await brokenCopy('bad-config', (d) => writeFile(join(d, 'config.json'), '{"num_hidden_layers": "two"}')), /config\.json: field "num_attention_heads"/);
  });

  it('no graph, a corrupt graph, a graph without the KV-cache interface', async () => {
    await rejectsWith(await brokenCopy('no-onnx', (d) => rm(join(d, 'onnx'), { recursive: true })), /no ONNX graph/);
    await rejectsWith(await brokenCopy('corrupt', (d) => writeFile(join(d, 'onnx', 'model.onnx'), 'not a protobuf at all')), /model\.onnx: not a loadable ONNX model/);
    const plainGraph = new OnnxGraphBuilder();
    plainGraph.input('input_ids', FLOAT, ['b', 's']);
    plainGraph.op('Identity', ['input_ids'], {}, 'logits');
    plainGraph.output('logits', FLOAT, ['b', 's']);
    const dir = await brokenCopy('no-past', (d) => writeFile(join(d, 'onnx', 'model.onnx'), plainGraph.encode('plain', 17)));
    await rejectsWith(dir, /model\.onnx: graph has no "attention_mask" input/);
  });

  it('an unknown model id says how to export one', async () => {
    // Offline, so the Hub is not asked (test/hub-download.test.ts covers that against a local one).
    const hub = hubEnvironmentFrom({ HF_HUB_OFFLINE: '1', HF_HUB_CACHE: scratch });
    await assert.rejects(OnnxBackend.open({ model: 'google/gemma-2-2b', modelsDir: scratch, hub }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /optimum-cli export onnx --model google\/gemma-2-2b --task text-generation-with-past/);
      assert.match(error.message, /google__gemma-2-2b/);
      return true;
    });
  });

  it('devices and generation flags', { skip: cudaProviderInstalled() && 'a CUDA provider is installed here' }, async () => {
    await assert.rejects(OnnxBackend.open({ model: tinyModelDir(), devices: 'cuda:0' }), /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    assert.throws(() => parseDevices('gpu0', 1), /--devices: "gpu0"/);
    assert.throws(() => parseDevices('cuda:0,cuda:0', 1), /listed twice/);
    assert.deepEqual(parseDevices('cpu', 2, 8), [{ kind: 'cpu', threads: 4 }, { kind: 'cpu', threads: 4 }]);
    assert.deepEqual(parseDevices('cuda:0,cuda:3', 1).map((p) => p.kind === 'cuda' && p.deviceId), [0, 3]);
    assert.throws(() => resolveGenerationOptions({ topP: 0 }), /--top-p/);
    assert.throws(() => resolveGenerationOptions({ maxNewTokens: 0 }), /--max-new-tokens/);
    assert.equal(resolveGenerationOptions({}).maxNewTokens, 200);
  });

  it('session options: CPU threads as placed, one inter-op thread, pool threads that sleep instead of spinning', () => {
    const noSpin = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
    const cpu = sessionOptions({ kind: 'cpu', threads: 3 });
    assert.equal(cpu.intraOpNumThreads, 3);
    assert.equal(cpu.interOpNumThreads, 1);
    assert.equal(cpu.executionMode, 'sequential');
    assert.equal(cpu.graphOptimizationLevel, 'all');
    assert.deepEqual(cpu.extra, noSpin);
    const cuda = sessionOptions({ kind: 'cuda', deviceId: 2 });
    assert.deepEqual(cuda.executionProviders, [{ name: 'cuda', deviceId: 2 }]);
    assert.equal(cuda.intraOpNumThreads, undefined);
    assert.deepEqual(cuda.extra, noSpin);
  });
});
