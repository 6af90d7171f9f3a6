/**
 * A plain TypeScript forward pass of the tiny llama decoder (float64 arithmetic, no cache), the oracle the ONNX
 * graph is checked against. Written from the architecture, not from the graph builder.
 */
import type { TinyModelSpec } from '../scripts/tiny-model/spec.js';
import { ropeInverseFrequencies, type TinyWeights } from '../scripts/tiny-model/weights.js';

const MASKED = -1e9;

function matVec(x: ArrayLike<number>, w: Float32Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const xr = x[r] as number;
    for (let c = 0; c < cols; c++) out[c] = (out[c] as number) + xr * (w[r * cols + c] as number);
  }
  return out;
}

function rmsNorm(x: Float64Array, weight: Float32Array, eps: number): Float64Array {
  let meanSquare = 0;
  for (const v of x) meanSquare += v * v;
  const scale = 1 / Math.sqrt(meanSquare / x.length + eps);
  return x.map((v, i) => v * scale * (weight[i] as number));
}

function rope(vec: Float64Array, heads: number, headDim: number, position: number, invFreq: Float32Array): void {
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(position * (invFreq[i] as number));
      const a = vec[h * headDim + i] as number;
      const b = vec[h * headDim + i + half] as number;
      vec[h * headDim + i] = a * Math.cos(angle) - b * Math.sin(angle);
      vec[h * headDim + i + half] = b * Math.cos(angle) + a * Math.sin(angle);
    }
  }
}

/**
 * The residual stream [layer][position][hidden] for one row: after each decoder layer, before the final norm
 * (what --capture-activations records). Ids, attention mask and position ids as the graph takes them.
 */
export function referenceHiddenStates(spec: TinyModelSpec, w: TinyWeights, ids: number[], mask: number[], positions: number[]): Float64Array[][] {
  const { hiddenSize: hs, headDim: d, numHeads: nh, numKvHeads: nkv, intermediateSize: m } = spec;
  const invFreq = ropeInverseFrequencies(spec);
  let x = ids.map((id) => Float64Array.from(w.embed.subarray(id * hs, (id + 1) * hs)));
  const layers: Float64Array[][] = [];
  for (const layer of w.layers) {
    const normed = x.map((v) => rmsNorm(v, layer.inputNorm, spec.rmsNormEps));
    const q = normed.map((v, s) => {
      const out = matVec(v, layer.q, hs, nh * d);
      rope(out, nh, d, positions[s] as number, invFreq);
      return out;
    });
    const k = normed.map((v, s) => {
      const out = matVec(v, layer.k, hs, nkv * d);
      rope(out, nkv, d, positions[s] as number, invFreq);
      return out;
    });
    const v = normed.map((row) => matVec(row, layer.v, hs, nkv * d));
    x = x.map((residual, s) => {
      const context = new Float64Array(nh * d);
      for (let h = 0; h < nh; h++) {
        const kvHead = Math.floor(h / (nh / nkv));
        const scores = ids.map((_, t) => {
          let dot = 0;
          for (let i = 0; i < d; i++) dot += (q[s]?.[h * d + i] as number) * (k[t]?.[kvHead * d + i] as number);
          return dot / Math.sqrt(d) + (t <= s && mask[t] === 1 ? 0 : MASKED);
        });
        const top = Math.max(...scores);
        const exps = scores.map((score) => Math.exp(score - top));
        const total = exps.reduce((a, b) => a + b, 0);
        exps.forEach((e, t) => {
          for (let i = 0; i < d; i++) context[h * d + i] = (context[h * d + i] as number) + (e / total) * (v[t]?.[kvHead * d + i] as number);
        });
      }
      const attended = matVec(context, layer.o, nh * d, hs).map((val, i) => val + (residual[i] as number));
      const normed2 = rmsNorm(attended, layer.postNorm, spec.rmsNormEps);
      const gate = matVec(normed2, layer.gate, hs, m);
      const up = matVec(normed2, layer.up, hs, m);
      const activated = gate.map((g, i) => (g / (1 + Math.exp(-g))) * (up[i] as number));
      return matVec(activated, layer.down, m, hs).map((val, i) => val + (attended[i] as number));
    });
    layers.push(x);
  }
  return layers;
}

/** Logits [position][vocab] for one row: its ids, attention mask and position ids (left padding allowed). */
export function referenceLogits(spec: TinyModelSpec, w: TinyWeights, ids: number[], mask: number[], positions: number[]): Float64Array[] {
  const last = referenceHiddenStates(spec, w, ids, mask, positions).at(-1) ?? [];
  return last.map((row) => matVec(rmsNorm(row, w.finalNorm, spec.rmsNormEps), w.lmHead, spec.hiddenSize, spec.vocabSize));
}
