/** What --capture-activations must record for one record, from the reference forward pass; and the tolerance. */
import assert from 'node:assert/strict';
import type { TinyModelSpec } from '../scripts/tiny-model/spec.js';
import type { TinyWeights } from '../scripts/tiny-model/weights.js';
import type { ActivationSpec } from '../src/inference/onnx/activation-spec.js';
import { referenceHiddenStates } from './onnx-reference-forward.js';

/** float32 graph against the float64 reference: absolute plus relative slack. */
const ABSOLUTE = 1e-4;
const RELATIVE = 1e-4;

/**
 * The packed [layer][position][hidden] vectors of one record: one forward pass over its prompt and generated ids
 * (no padding), as a second pass in Python would compute them. last-prompt is the prompt's last position,
 * mean-prompt the mean over the prompt, mean-generated the mean over every generated token.
 */
export function expectedActivations(spec: TinyModelSpec, weights: TinyWeights, promptIds: number[], generatedIds: number[], capture: ActivationSpec): Float64Array {
  const ids = [...promptIds, ...generatedIds];
  const states = referenceHiddenStates(spec, weights, ids, ids.map(() => 1), ids.map((_, i) => i));
  const h = spec.hiddenSize;
  const mean = (rows: Float64Array[]): Float64Array => {
    const out = new Float64Array(h);
    for (const row of rows) row.forEach((v, i) => (out[i] = (out[i] as number) + v / rows.length));
    return out;
  };
  const out = new Float64Array(capture.layers.length * capture.positions.length * h);
  capture.layers.forEach((layer, l) => {
    const at = states[layer] as Float64Array[];
    capture.positions.forEach((position, p) => {
      const vector =
        position === 'last-prompt'
          ? (at[promptIds.length - 1] as Float64Array)
          : position === 'mean-prompt'
            ? mean(at.slice(0, promptIds.length))
            : mean(at.slice(promptIds.length));
      out.set(vector, (l * capture.positions.length + p) * h);
    });
  });
  return out;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    assert.ok(Math.abs(a - e) <= ABSOLUTE + RELATIVE * Math.abs(e), `${what}: value ${i} is ${a}, reference ${e}`);
  }
}
