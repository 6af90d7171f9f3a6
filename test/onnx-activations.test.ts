/**
 * --capture-activations in the decoder: the graph extended at load time returns the residual stream after the
 * chosen layers, and batch generation reduces it to the chosen positions. Checked against the plain TypeScript
 * forward pass (test/onnx-reference-forward.ts) on the tiny model, with left padding, batch 1 and batch 8.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { tinyFixtureSpec, writeTinyModel } from '../scripts/tiny-model/write-tiny-model.js';
import { makeTinyWeights, type TinyWeights } from '../scripts/tiny-model/weights.js';
import type { TinyModelSpec } from '../scripts/tiny-model/spec.js';
import { InputError } from '../src/errors.js';
import { withActivationTaps } from '../src/inference/onnx/activation-graph.js';
import { halfToFloat } from '../src/inference/onnx/half-float.js';
import { float32ToHalfBits } from '../src/io/activation-store/float16-bits.js';
import { generateBatch, type GenerationSettings, type SequenceResult } from '../src/inference/onnx/batch-generation.js';
import { parseLayerSelection, parsePositions, resolveLayers, type ActivationSpec } from '../src/inference/onnx/activation-spec.js';
import { loadModelDir, type ModelDir } from '../src/inference/onnx/model-dir.js';
import { openDecoderGraph, type DecoderGraph } from '../src/inference/onnx/ort-session-factory.js';
import { PromptTokenizer } from '../src/inference/onnx/prompt-tokenizer.js';
import { residualStreamTensors } from '../src/inference/onnx/residual-stream.js';
import { TINY_MODEL_DIR } from './onnx-model-fixture.js';
import { expectedActivations, assertClose } from './activation-expectations.js';

const { onnx } = onnxProto;

const GREEDY: GenerationSettings = {
  temperature: 0, topK: 0, topP: 1, maxNewTokens: 12, stopSequences: [], eosTokenIds: [], padTokenId: 0, useCache: true,
};
const EVERY_POSITION: ActivationSpec = { layers: [0, 1], positions: ['last-prompt', 'mean-prompt', 'mean-generated'] };
/** Eight prompts of different lengths, so a batch of them is left-padded. */
const PROMPTS = [
  'x',
  'def is_even(n):\n    return',
  'Write a python function to find the max of three numbers.',
  'assert f(3) == 9',
  'Write a function to reverse a list.\nassert rev([1, 2]) == [2, 1]',
  'def add(a, b):',
  '"""Sum a list."""',
  'You are an expert Python programmer, and here is your task: remove the first and last occurrence of a character.',
];

let model: ModelDir;
let tokenizer: PromptTokenizer;
let spec: TinyModelSpec;
let weights: TinyWeights;
const opened: DecoderGraph[] = [];

async function open(capture?: ActivationSpec, dir = TINY_MODEL_DIR): Promise<DecoderGraph> {
  const graph = await openDecoderGraph(dir === TINY_MODEL_DIR ? model : await loadModelDir(dir), { kind: 'cpu', threads: 1 }, capture);
  opened.push(graph);
  return graph;
}

async function generate(graph: DecoderGraph, prompts: string[], settings = GREEDY): Promise<{ promptIds: number[]; result: SequenceResult }[]> {
  const requests = prompts.map((p) => ({ promptIds: tokenizer.encode(p), seed: 0 }));
  const outcomes = await generateBatch(graph.session, graph.signature, (ids) => tokenizer.decode(ids), requests, settings);
  return outcomes.map((outcome, i) => {
    if (!outcome.ok) throw outcome.error;
    return { promptIds: requests[i]!.promptIds, result: outcome.result };
  });
}

/** Every captured vector of every row equals the reference forward pass over the row's prompt and generated ids. */
function assertMatchesReference(rows: { promptIds: number[]; result: SequenceResult }[], capture: ActivationSpec): void {
  for (const { promptIds, result } of rows) {
    assert.ok(result.activations, 'the result carries its activations');
    const expected = expectedActivations(spec, weights, promptIds, result.tokenIds, capture);
    assertClose(result.activations, expected, `prompt of ${promptIds.length} tokens, ${result.tokenIds.length} generated`);
  }
}

before(async () => {
  model = await loadModelDir(TINY_MODEL_DIR);
  tokenizer = new PromptTokenizer(model);
  spec = tinyFixtureSpec();
  weights = makeTinyWeights(spec);
});
after(async () => {
  for (const graph of opened) await graph.session.release();
});

describe('activation capture on the tiny model', () => {
  it('equals the reference hidden states at every layer and position, batch 1', async () => {
    const graph = await open(EVERY_POSITION);
    for (const prompt of PROMPTS.slice(0, 3)) assertMatchesReference(await generate(graph, [prompt]), EVERY_POSITION);
  });

  it('equals the reference hidden states with batch 8 (left padding), rows finishing at different steps', async () => {
    const graph = await open(EVERY_POSITION);
    const free = await generate(graph, PROMPTS);
    // An EOS that one row meets early makes the rows leave the batch at different steps.
    const eos = free[2]!.result.tokenIds[3]!;
    const rows = await generate(graph, PROMPTS, { ...GREEDY, eosTokenIds: [eos] });
    const lengths = new Set(rows.map((r) => r.result.tokenIds.length));
    assert.ok(lengths.size > 1, `rows finished at different steps (${[...lengths].join(', ')} tokens)`);
    assertMatchesReference(rows, EVERY_POSITION);
  });

  it('leaves the generated tokens as they are without capture, and works without the KV cache', async () => {
    const plain = await generate(await open(), PROMPTS);
    const graph = await open(EVERY_POSITION);
    const captured = await generate(graph, PROMPTS);
    assert.deepEqual(captured.map((r) => r.result.tokenIds), plain.map((r) => r.result.tokenIds));
    assert.equal(plain[0]!.result.activations, undefined);
    const uncached = await generate(graph, PROMPTS.slice(0, 3), { ...GREEDY, useCache: false });
    assertMatchesReference(uncached, EVERY_POSITION);
  });

  it('captures only what was asked: one layer counted from the end, one position', async () => {
    for (const positions of [['mean-prompt'], ['last-prompt'], ['mean-generated']] as ActivationSpec['positions'][]) {
      const capture: ActivationSpec = { layers: resolveLayers(parseLayerSelection('-1'), spec.numLayers), positions };
      const graph = await open(capture);
      const rows = await generate(graph, PROMPTS.slice(3, 6));
      assert.equal(rows[0]!.result.activations?.length, spec.hiddenSize);
      assertMatchesReference(rows, capture);
      const outputs = graph.session.outputNames.filter((name) => name.startsWith('mbpp_stream.'));
      assert.deepEqual(outputs, [positions[0] === 'mean-prompt' ? 'mbpp_stream.activations.layer_1.sum' : 'mbpp_stream.activations.layer_1.last']);
    }
  });

  it('opens a model whose weights are external data (optimum model.onnx_data), and a deeper one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mbpp-act-model-'));
    try {
      await cp(TINY_MODEL_DIR, dir, { recursive: true });
      await moveWeightsToExternalData(join(dir, 'onnx', 'model.onnx'));
      const external = await generate(await open(EVERY_POSITION, dir), PROMPTS.slice(0, 2));
      assertMatchesReference(external, EVERY_POSITION);

      const deep = { ...spec, numLayers: 4, positionIdsInput: false };
      const deepDir = join(dir, 'deep');
      await writeTinyModel(deepDir, deep);
      const capture: ActivationSpec = { layers: [1, 3], positions: ['last-prompt', 'mean-generated'] };
      const graph = await open(capture, deepDir);
      const deepWeights = makeTinyWeights(deep);
      for (const { promptIds, result } of await generate(graph, PROMPTS.slice(0, 4))) {
        assertClose(result.activations!, expectedActivations(deep, deepWeights, promptIds, result.tokenIds, capture), 'deep model');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('an fp16 graph', () => {
  /**
   * A small fp16 decoder-shaped graph (embedding, two residual additions per layer, an LM head) with its residual
   * stream also exposed as it is, so the taps can be checked against the graph's own fp16 values.
   */
  function fp16Graph(): Uint8Array {
    const half = (values: number[]): Uint8Array => new Uint8Array(Uint16Array.from(values.map(float32ToHalfBits)).buffer);
    const weight = (name: string, dims: number[], seed: number) => ({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT16,
      rawData: half(Array.from({ length: dims[0]! * dims[1]! }, (_, i) => Math.sin(seed * 7 + i) / 2)),
    });
    const node: onnxProto.onnx.INodeProto[] = [{ opType: 'Gather', input: ['embed', 'input_ids'], output: ['x_0'] }];
    const initializer = [weight('embed', [6, 4], 1), weight('lm_head', [4, 6], 2)];
    let stream = 'x_0';
    for (let i = 1; i <= 4; i++) {
      initializer.push(weight(`w_${i}`, [4, 4], 2 + i));
      node.push({ opType: 'Mul', input: [stream, stream], output: [`sq_${i}`] });
      node.push({ opType: 'MatMul', input: [`sq_${i}`, `w_${i}`], output: [`branch_${i}`] });
      node.push({ opType: 'Add', input: [stream, `branch_${i}`], output: [`x_${i}`] });
      stream = `x_${i}`;
    }
    node.push({ opType: 'MatMul', input: [stream, 'lm_head'], output: ['logits'] });
    const tensor = (name: string, elemType: number) => ({ name, type: { tensorType: { elemType } } });
    return onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'fp16',
        node,
        initializer,
        input: [tensor('input_ids', onnx.TensorProto.DataType.INT64), tensor('attention_mask', onnx.TensorProto.DataType.INT64)],
        output: ['logits', 'x_2', 'x_4'].map((name) => tensor(name, onnx.TensorProto.DataType.FLOAT16)),
      },
    }).finish();
  }

  it('returns float32 taps equal to the fp16 stream at the last position and summed over real positions', async () => {
    const capture: ActivationSpec = { layers: [0, 1], positions: ['last-prompt', 'mean-prompt'] };
    const { model: extended, taps } = withActivationTaps(fp16Graph(), capture, 2, 'fp16.onnx');
    const session = await ort.InferenceSession.create(extended);
    try {
      const mask = [0, 1, 1, 1, 1, 1];
      const outputs = await session.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from([0, 2, 3, 1, 4, 5], BigInt), [2, 3]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask, BigInt), [2, 3]),
      });
      ['x_2', 'x_4'].forEach((name, l) => {
        const stream = [...(outputs[name]!.data as Uint16Array)].map(halfToFloat);
        const last = outputs[taps[l]!.last!]!;
        const sum = outputs[taps[l]!.sum!]!;
        assert.equal(last.type, 'float32');
        assert.equal(sum.type, 'float32');
        for (let b = 0; b < 2; b++) {
          for (let h = 0; h < 4; h++) {
            // ORT may compute the float32 branch from the fp16 ops in float32 (it moves casts): half a unit in
            // the last place of each fp16 summand is the slack.
            const close = (actual: number, expected: number, magnitude: number, what: string): void =>
              assert.ok(Math.abs(actual - expected) <= 2 ** -11 * magnitude + 1e-6, `layer ${l} row ${b} column ${h} ${what}: ${actual} vs ${expected}`);
            const at = (s: number): number => stream[(b * 3 + s) * 4 + h]!;
            close((last.data as Float32Array)[b * 4 + h]!, at(2), Math.abs(at(2)), 'last');
            const real = [0, 1, 2].filter((s) => mask[b * 3 + s] === 1);
            const expected = real.reduce((total, s) => total + at(s), 0);
            close((sum.data as Float32Array)[b * 4 + h]!, expected, real.reduce((total, s) => total + Math.abs(at(s)), 0), 'sum');
          }
        }
      });
    } finally {
      await session.release();
    }
  });
});

describe('finding the residual stream', () => {
  /** A pre-norm decoder's skeleton: per layer, a norm reading the stream and two residual Adds. */
  function skeleton(layers: number, options: { names?: (layer: number, add: number) => string; scale?: boolean; positionAdd?: boolean } = {}) {
    const node: onnxProto.onnx.INodeProto[] = [{ opType: 'Gather', input: ['embed.weight', 'input_ids'], output: ['embedded'] }];
    let stream = 'embedded';
    const push = (opType: string, input: string[], output: string, name = `${opType}_${node.length}`): string => {
      node.push({ opType, input, output: [output], name });
      return output;
    };
    if (options.scale) stream = push('Mul', [stream, 'normalizer'], 'scaled');
    if (options.positionAdd) stream = push('Add', [stream, 'positions'], 'with_positions');
    for (let layer = 0; layer < layers; layer++) {
      for (const add of [0, 1]) {
        const normed = push('Mul', [stream, push('ReduceMean', [push('Mul', [stream, stream], `sq_${layer}_${add}`)], `ms_${layer}_${add}`)], `norm_${layer}_${add}`);
        const branch = push('MatMul', [normed, `w_${layer}_${add}`], `branch_${layer}_${add}`);
        stream = push('Add', [stream, branch], `residual_${layer}_${add}`, options.names?.(layer, add));
      }
    }
    push('Mul', [stream, 'final_norm'], 'final');
    return { node };
  }

  it('takes the second residual Add of each layer, past a scaled embedding or a position embedding', () => {
    assert.deepEqual(residualStreamTensors(skeleton(3), 3, 'm.onnx'), ['residual_0_1', 'residual_1_1', 'residual_2_1']);
    assert.deepEqual(residualStreamTensors(skeleton(2, { scale: true }), 2, 'm.onnx'), ['residual_0_1', 'residual_1_1']);
    assert.deepEqual(residualStreamTensors(skeleton(2, { positionAdd: true }), 2, 'm.onnx'), ['residual_0_1', 'residual_1_1']);
  });

  it('checks the layer numbers in torch-exported node names, and refuses a graph it cannot read', () => {
    const torch = (layer: number, add: number): string => `/model/layers.${layer}/Add${add === 0 ? '' : '_1'}`;
    assert.deepEqual(residualStreamTensors(skeleton(2, { names: torch }), 2, 'm.onnx'), ['residual_0_1', 'residual_1_1']);
    const shifted = (layer: number, add: number): string => `/model/layers.${layer + add}/Add`;
    assert.throws(() => residualStreamTensors(skeleton(2, { names: shifted }), 2, 'm.onnx'), /layer 0 comes from node \/model\/layers\.1\/Add/);
    assert.throws(() => residualStreamTensors(skeleton(3), 2, 'm.onnx'), (error: unknown) => error instanceof InputError && /m\.onnx: .*found 6 residual additions for 2 layers/.test(error.message));
    assert.throws(() => residualStreamTensors({ node: [] }, 2, 'm.onnx'), /no Gather reads input_ids/);
  });

  it('parses the flags and names a bad value', () => {
    assert.equal(parseLayerSelection('0,all'), 'all');
    assert.deepEqual(resolveLayers(parseLayerSelection('3, 0,-1,3'), 4), [0, 3]);
    assert.deepEqual(parsePositions('mean-generated,last-prompt'), ['last-prompt', 'mean-generated']);
    assert.throws(() => parseLayerSelection('1,x'), /--activation-layers: "x" is not a layer index/);
    assert.throws(() => resolveLayers([2], 2), /--activation-layers: layer 2 does not exist; the model has 2 decoder layers \(0-1\)/);
    assert.throws(() => parsePositions('last'), /--activation-positions: "last" is not a position/);
  });
});

/** Rewrites an ONNX file as optimum writes big models: weights in `model.onnx_data` beside it. */
async function moveWeightsToExternalData(file: string): Promise<void> {
  const decoded = onnx.ModelProto.decode(await readFile(file));
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const tensor of decoded.graph?.initializer ?? []) {
    if (!tensor.rawData || tensor.rawData.length < 1024) continue;
    const data = Buffer.from(tensor.rawData);
    tensor.externalData = [
      { key: 'location', value: 'model.onnx_data' },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(data.length) },
    ];
    tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    tensor.rawData = new Uint8Array(0);
    chunks.push(data);
    offset += data.length;
  }
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(join(file, '..', 'model.onnx_data'), Buffer.concat(chunks));
  await writeFile(file, onnx.ModelProto.encode(decoded).finish());
}
