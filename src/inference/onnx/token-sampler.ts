import type { SeededRandom } from './seeded-random.js';

/** How the next token is chosen. temperature 0 is greedy (the original pipeline's setting and the default). */
export interface SamplingSettings {
  temperature: number;
  /** Keep the k most likely tokens; 0 keeps all. */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p; 1 keeps all. */
  topP: number;
}

export const GREEDY: SamplingSettings = { temperature: 0, topK: 0, topP: 1 };

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if ((logits[i] ?? -Infinity) > (logits[best] ?? -Infinity)) best = i;
  return best;
}

/**
 * Picks the next token from one row of logits. Ties in the sort break by token id, so a given seed gives the
 * same choice on every platform.
 */
export function chooseToken(logits: Float32Array, settings: SamplingSettings, random: SeededRandom): number {
  if (settings.temperature <= 0) return argmax(logits);
  const order = Array.from(logits.keys()).sort((a, b) => (logits[b] ?? 0) - (logits[a] ?? 0) || a - b);
  const kept = settings.topK > 0 ? order.slice(0, settings.topK) : order;
  const top = (logits[kept[0] ?? 0] ?? 0) / settings.temperature;
  const weights = kept.map((id) => Math.exp((logits[id] ?? 0) / settings.temperature - top));
  const total = weights.reduce((sum, w) => sum + w, 0);
  let cut = kept.length;
  if (settings.topP < 1) {
    let mass = 0;
    for (let i = 0; i < kept.length; i++) {
      mass += (weights[i] ?? 0) / total;
      if (mass >= settings.topP) {
        cut = i + 1;
        break;
      }
    }
  }
  const nucleusMass = weights.slice(0, cut).reduce((sum, w) => sum + w, 0);
  let target = random.next() * nucleusMass;
  for (let i = 0; i < cut; i++) {
    target -= weights[i] ?? 0;
    if (target < 0) return kept[i] ?? 0;
  }
  return kept[cut - 1] ?? 0;
}
