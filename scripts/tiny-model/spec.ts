/** The shape of a tiny llama-style decoder: what the graph builder, the weights and config.json share. */
export interface TinyModelSpec {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Fewer than `numHeads` makes it grouped-query attention, as gemma-2 and llama 3 use. */
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositions: number;
  /** Seeds the weights; the same seed gives the same bytes. */
  seed: number;
  /** Whether the graph takes `position_ids` (optimum exports usually do) or derives them from the mask. */
  positionIdsInput: boolean;
}

/** The committed fixture: small enough to commit (< 1 MB), big enough to have real structure. */
export function defaultTinySpec(vocabSize: number): TinyModelSpec {
  return {
    vocabSize,
    hiddenSize: 64,
    intermediateSize: 128,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 16,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    maxPositions: 2048,
    seed: 1234,
    positionIdsInput: true,
  };
}
