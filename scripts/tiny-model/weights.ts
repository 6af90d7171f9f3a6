import { SeededRandom } from '../../src/inference/onnx/seeded-random.js';
import type { TinyModelSpec } from './spec.js';

/**
 * Deterministic weights for the tiny decoder. Matrices are stored [in, out] (the graph multiplies `x @ W`), which
 * the reference forward pass in the tests uses as is. Scales follow fan-in so activations stay O(1) and the
 * logits are spread out, which keeps greedy choices away from float ties.
 */
export interface TinyLayerWeights {
  inputNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  postNorm: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
}

export interface TinyWeights {
  embed: Float32Array;
  layers: TinyLayerWeights[];
  finalNorm: Float32Array;
  lmHead: Float32Array;
}

export function makeTinyWeights(spec: TinyModelSpec): TinyWeights {
  const random = new SeededRandom(spec.seed);
  const matrix = (rows: number, cols: number, gain = 1): Float32Array => {
    const bound = (gain * Math.sqrt(3)) / Math.sqrt(rows);
    return Float32Array.from({ length: rows * cols }, () => random.symmetric(bound));
  };
  const norm = (size: number): Float32Array => Float32Array.from({ length: size }, () => 1 + random.symmetric(0.2));
  const { hiddenSize: h, headDim: d, intermediateSize: m } = spec;
  const layers = Array.from({ length: spec.numLayers }, () => ({
    inputNorm: norm(h),
    q: matrix(h, spec.numHeads * d),
    k: matrix(h, spec.numKvHeads * d),
    v: matrix(h, spec.numKvHeads * d),
    o: matrix(spec.numHeads * d, h),
    postNorm: norm(h),
    gate: matrix(h, m),
    up: matrix(h, m),
    down: matrix(m, h),
  }));
  return {
    embed: Float32Array.from({ length: spec.vocabSize * h }, () => random.symmetric(1)),
    layers,
    finalNorm: norm(h),
    lmHead: matrix(h, spec.vocabSize, 4),
  };
}

/** RoPE inverse frequencies as float32, exactly what the graph stores. */
export function ropeInverseFrequencies(spec: TinyModelSpec): Float32Array {
  const half = spec.headDim / 2;
  return Float32Array.from({ length: half }, (_, i) => 1 / Math.pow(spec.ropeTheta, (2 * i) / spec.headDim));
}
