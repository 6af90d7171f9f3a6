import type { StepActivations } from './decoder-step.js';
import type { CapturedOutputs } from './graph-signature.js';

/**
 * One sequence's captured activations as its steps produce them. At the prefill the sequence's real input
 * positions are its prompt, so the step's last vector is the last prompt token's and its sum is the prompt's;
 * every later step reads one generated token, whose vector joins the generated mean. Sums are kept in float64 so
 * a mean over hundreds of tokens loses nothing to rounding.
 */
export class SequenceActivations {
  private readonly lastPrompt: Float32Array[];
  private readonly promptMean: Float32Array[];
  private readonly generatedSum: Float64Array[];
  private generatedCount = 0;

  constructor(private readonly captured: CapturedOutputs) {
    const perLayer = (): Float32Array[] => captured.layers.map(() => new Float32Array(captured.hidden));
    this.lastPrompt = perLayer();
    this.promptMean = perLayer();
    this.generatedSum = captured.layers.map(() => new Float64Array(captured.hidden));
  }

  /** The prefill step, where this sequence is row `row` and its prompt has `promptTokens` tokens. */
  addPrompt(step: readonly StepActivations[], row: number, promptTokens: number): void {
    const h = this.captured.hidden;
    step.forEach((layer, l) => {
      if (layer.last) (this.lastPrompt[l] as Float32Array).set(layer.last.subarray(row * h, (row + 1) * h));
      if (layer.sum) {
        const mean = this.promptMean[l] as Float32Array;
        for (let i = 0; i < h; i++) mean[i] = (layer.sum[row * h + i] as number) / promptTokens;
      }
    });
  }

  /** A step that read one generated token of this sequence (row `row`). */
  addGenerated(step: readonly StepActivations[], row: number): void {
    const h = this.captured.hidden;
    step.forEach((layer, l) => {
      if (!layer.last) return;
      const sum = this.generatedSum[l] as Float64Array;
      for (let i = 0; i < h; i++) sum[i] = (sum[i] as number) + (layer.last[row * h + i] as number);
    });
    this.generatedCount++;
  }

  /** Every captured vector, [layer][position][hidden] in the capture's layer and position order. */
  packed(): Float32Array {
    const { layers, positions, hidden } = this.captured;
    const out = new Float32Array(layers.length * positions.length * hidden);
    layers.forEach((_, l) => {
      positions.forEach((position, p) => {
        const at = (l * positions.length + p) * hidden;
        if (position === 'last-prompt') out.set(this.lastPrompt[l] as Float32Array, at);
        else if (position === 'mean-prompt') out.set(this.promptMean[l] as Float32Array, at);
        else (this.generatedSum[l] as Float64Array).forEach((v, i) => (out[at + i] = v / this.generatedCount));
      });
    });
    return out;
  }
}
