import { BOOL, FLOAT, INT64, OnnxGraphBuilder } from './onnx-graph-builder.js';
import type { TinyModelSpec } from './spec.js';
import { ropeInverseFrequencies, type TinyWeights } from './weights.js';

/** Opset 17: Unsqueeze/Slice take axes as inputs, ReduceMean still takes them as an attribute. */
const OPSET = 17;
/** Added to masked attention scores; finite, so a row with every key masked (a pad query) stays NaN-free. */
export const MASKED_SCORE = -1e9;

/**
 * The tiny llama decoder as an ONNX graph with the optimum `text-generation-with-past` interface:
 * inputs input_ids, attention_mask (past + current), position_ids (optional), past_key_values.{i}.key|value;
 * outputs logits, present.{i}.key|value.
 */
export function buildDecoderGraph(spec: TinyModelSpec, weights: TinyWeights): Uint8Array {
  const g = new OnnxGraphBuilder();
  const { headDim: d, numHeads: nh, numKvHeads: nkv } = spec;
  const inputIds = g.input('input_ids', INT64, ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', INT64, ['batch_size', 'total_sequence_length']);
  g.output('logits', FLOAT, ['batch_size', 'sequence_length', spec.vocabSize]);
  const positionIdsIn = spec.positionIdsInput ? g.input('position_ids', INT64, ['batch_size', 'sequence_length']) : null;
  for (let i = 0; i < spec.numLayers; i++) {
    for (const part of ['key', 'value']) {
      g.input(`past_key_values.${i}.${part}`, FLOAT, ['batch_size', nkv, 'past_sequence_length', d]);
    }
  }

  const int = (name: string, values: number[]): string => g.int64(name, values);
  const zero = g.int64('const_zero', [0], []);
  const one = g.int64('const_one', [1], []);
  const axis1 = int('axes_1', [1]);
  const axis2 = int('axes_2', [2]);
  const axis3 = int('axes_3', [3]);
  const axes12 = int('axes_1_2', [1, 2]);
  const floatScalar = (name: string, value: number): string => g.float32(name, [], Float32Array.of(value));

  // Lengths: S (new tokens), T (past + new), P = T - S (past).
  const seqLen = g.op('Gather', [g.op('Shape', [inputIds]), one], { axis: 0 });
  const totalLen = g.op('Gather', [g.op('Shape', [attentionMask]), one], { axis: 0 });
  const pastLen = g.op('Sub', [totalLen, seqLen]);

  // Positions: given, or the running count of real tokens (as HF does for left padding), clamped at 0.
  let positions: string;
  if (positionIdsIn) {
    positions = positionIdsIn;
  } else {
    const counted = g.op('Sub', [g.op('CumSum', [attentionMask, one]), one]);
    const clamped = g.op('Max', [counted, zero]);
    const axis0 = int('axes_0', [0]);
    positions = g.op('Slice', [clamped, g.op('Unsqueeze', [pastLen, axis0]), g.op('Unsqueeze', [totalLen, axis0]), axis1]);
  }
  const invFreq = g.float32('rotary.inv_freq', [d / 2], ropeInverseFrequencies(spec));
  const freqs = g.op('Mul', [g.op('Unsqueeze', [g.op('Cast', [positions], { to: FLOAT }), axis2]), invFreq]);
  const angles = g.op('Concat', [freqs, freqs], { axis: -1 });
  const cos = g.op('Unsqueeze', [g.op('Cos', [angles]), axis1]);
  const sin = g.op('Unsqueeze', [g.op('Sin', [angles]), axis1]);

  // Additive mask [B, 1, S, T]: key j is visible to query i (absolute P + i) when j <= P + i and j is not padding.
  const keyIndex = g.op('Range', [zero, totalLen, one]);
  const queryIndex = g.op('Unsqueeze', [g.op('Range', [pastLen, totalLen, one]), axis1]);
  const causal = g.op('Not', [g.op('Greater', [keyIndex, queryIndex])]);
  const notPadding = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: BOOL }), axes12]);
  const visible = g.op('And', [causal, notPadding]);
  const scoreBias = g.op('Where', [visible, floatScalar('mask.visible', 0), floatScalar('mask.hidden', MASKED_SCORE)]);

  const epsilon = floatScalar('rms_norm.eps', spec.rmsNormEps);
  const rmsNorm = (x: string, weight: string): string => {
    const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    return g.op('Mul', [g.op('Div', [x, g.op('Sqrt', [g.op('Add', [meanSquare, epsilon])])]), weight]);
  };
  const halfStart = int('rotary.half_start', [0]);
  const halfMid = int('rotary.half_mid', [d / 2]);
  const halfEnd = int('rotary.half_end', [d]);
  const rotary = (x: string): string => {
    const first = g.op('Slice', [x, halfStart, halfMid, axis3]);
    const second = g.op('Slice', [x, halfMid, halfEnd, axis3]);
    const rotated = g.op('Concat', [g.op('Neg', [second]), first], { axis: -1 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  };
  const heads = (x: string, count: number): string =>
    g.op('Transpose', [g.op('Reshape', [x, int(`shape.heads_${count}`, [0, 0, count, d])])], { perm: [0, 2, 1, 3] });
  const groupRepeat = nh / nkv;
  const repeatKv = (x: string): string => {
    if (groupRepeat === 1) return x;
    const expanded = g.op('Expand', [g.op('Unsqueeze', [x, axis2]), int('shape.kv_repeat', [1, 1, groupRepeat, 1, 1])]);
    return g.op('Reshape', [expanded, int('shape.kv_merged', [0, nh, -1, d])]);
  };
  const attentionScale = floatScalar('attention.scale', 1 / Math.sqrt(d));

  let hidden = g.op('Gather', [g.float32('embed_tokens.weight', [spec.vocabSize, spec.hiddenSize], weights.embed), inputIds], { axis: 0 });
  weights.layers.forEach((w, i) => {
    const p = `layers.${i}`;
    const normed = rmsNorm(hidden, g.float32(`${p}.input_layernorm.weight`, [spec.hiddenSize], w.inputNorm));
    const q = rotary(heads(g.op('MatMul', [normed, g.float32(`${p}.q_proj.weight`, [spec.hiddenSize, nh * d], w.q)]), nh));
    const k = rotary(heads(g.op('MatMul', [normed, g.float32(`${p}.k_proj.weight`, [spec.hiddenSize, nkv * d], w.k)]), nkv));
    const v = heads(g.op('MatMul', [normed, g.float32(`${p}.v_proj.weight`, [spec.hiddenSize, nkv * d], w.v)]), nkv);
    const keys = g.op('Concat', [`past_key_values.${i}.key`, k], { axis: 2 }, `present.${i}.key`);
    const values = g.op('Concat', [`past_key_values.${i}.value`, v], { axis: 2 }, `present.${i}.value`);
    const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [repeatKv(keys)], { perm: [0, 1, 3, 2] })]), attentionScale]);
    const probs = g.op('Softmax', [g.op('Add', [scores, scoreBias])], { axis: -1 });
    const context = g.op('Transpose', [g.op('MatMul', [probs, repeatKv(values)])], { perm: [0, 2, 1, 3] });
    const merged = g.op('Reshape', [context, int(`${p}.shape.merge_heads`, [0, 0, nh * d])]);
    hidden = g.op('Add', [hidden, g.op('MatMul', [merged, g.float32(`${p}.o_proj.weight`, [nh * d, spec.hiddenSize], w.o)])]);
    const normed2 = rmsNorm(hidden, g.float32(`${p}.post_attention_layernorm.weight`, [spec.hiddenSize], w.postNorm));
    const gate = g.op('MatMul', [normed2, g.float32(`${p}.gate_proj.weight`, [spec.hiddenSize, spec.intermediateSize], w.gate)]);
    const up = g.op('MatMul', [normed2, g.float32(`${p}.up_proj.weight`, [spec.hiddenSize, spec.intermediateSize], w.up)]);
    const activated = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    hidden = g.op('Add', [hidden, g.op('MatMul', [activated, g.float32(`${p}.down_proj.weight`, [spec.intermediateSize, spec.hiddenSize], w.down)])]);
    g.output(`present.${i}.key`, FLOAT, ['batch_size', nkv, 'total_sequence_length', d]);
    g.output(`present.${i}.value`, FLOAT, ['batch_size', nkv, 'total_sequence_length', d]);
  });
  const final = rmsNorm(hidden, g.float32('norm.weight', [spec.hiddenSize], weights.finalNorm));
  g.op('MatMul', [final, g.float32('lm_head.weight', [spec.hiddenSize, spec.vocabSize], weights.lmHead)], {}, 'logits');
  return g.encode('tiny_llama_decoder', OPSET);
}
