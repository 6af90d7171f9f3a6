import { TransientError } from '../backend.js';
import { runDecoderStep, selectCacheRows, type GraphRunner, type KvCache } from './decoder-step.js';
import type { CapturedOutputs, GraphSignature } from './graph-signature.js';
import { SeededRandom } from './seeded-random.js';
import { SequenceActivations } from './sequence-activations.js';
import { chooseToken, type SamplingSettings } from './token-sampler.js';

export interface GenerationSettings extends SamplingSettings {
  maxNewTokens: number;
  /** Generation ends when the text contains one of these; the text is cut before it. */
  stopSequences: string[];
  /** Generation ends at any of these; empty never stops early (benchmarks). */
  eosTokenIds: number[];
  padTokenId: number;
  /** false recomputes the whole sequence every step: slow, and exists to check and measure the cache. */
  useCache: boolean;
}

export interface SequenceRequest {
  promptIds: number[];
  /** Seeds this sequence's own PRNG, so its sample does not depend on what it was batched with. */
  seed: number;
  signal?: AbortSignal;
}

export type FinishReason = 'eos' | 'length' | 'stop';

export interface SequenceResult {
  /** Generated ids, the EOS that ended it included. */
  tokenIds: number[];
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  /**
   * With a graph extended for capture: the residual stream after each captured layer at each captured position,
   * packed [layer][position][hidden] (see SequenceActivations).
   */
  activations?: Float32Array;
}

export type SequenceOutcome = { ok: true; result: SequenceResult } | { ok: false; error: unknown };

/**
 * One sequence in flight. Its row of the batch is `pad` pad tokens then its prompt and generated tokens; every
 * row has the same width, which grows by one each step. Only what a step needs is kept per row (its pad length,
 * last token and next position): the attention mask and, without the cache, the token and position rows are
 * rebuilt from these with typed-array fills, not grown and converted element by element.
 */
interface Row {
  index: number;
  request: SequenceRequest;
  pad: number;
  /** Prompt and generated ids (no padding). */
  tokens: number[];
  generated: number[];
  random: SeededRandom;
  activations: SequenceActivations | null;
  /**
   * Set when the row has finished but still has its last token to read: a mean over the generated tokens needs
   * the state at that token too, so the row rides along for one more step before it settles with this result.
   */
  draining: SequenceResult | null;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function leftPadded(request: SequenceRequest, index: number, width: number, captured: CapturedOutputs | undefined): Row {
  return {
    index,
    request,
    pad: width - request.promptIds.length,
    tokens: [...request.promptIds],
    generated: [],
    random: new SeededRandom(request.seed),
    activations: captured ? new SequenceActivations(captured) : null,
    draining: null,
  };
}

/** The text so far and why it ends, or null while it goes on. */
function finishOf(row: Row, settings: GenerationSettings, decode: (ids: number[]) => string): SequenceResult | null {
  const last = row.generated[row.generated.length - 1];
  const promptTokens = row.request.promptIds.length;
  if (last !== undefined && settings.eosTokenIds.includes(last)) {
    return { tokenIds: row.generated, text: decode(row.generated.slice(0, -1)), finishReason: 'eos', promptTokens };
  }
  if (settings.stopSequences.length > 0) {
    const text = decode(row.generated);
    const cuts = settings.stopSequences.map((stop) => text.indexOf(stop)).filter((at) => at >= 0);
    if (cuts.length > 0) return { tokenIds: row.generated, text: text.slice(0, Math.min(...cuts)), finishReason: 'stop', promptTokens };
  }
  if (row.generated.length >= settings.maxNewTokens) {
    return { tokenIds: row.generated, text: decode(row.generated), finishReason: 'length', promptTokens };
  }
  return null;
}

/** [batch, width] attention mask: each row's pad positions 0, the rest 1. */
function attentionMask(rows: readonly Row[], width: number): BigInt64Array {
  const mask = new BigInt64Array(rows.length * width).fill(1n);
  rows.forEach((row, r) => mask.fill(0n, r * width, r * width + row.pad));
  return mask;
}

/** [batch, width] left-padded ids and positions of whole rows: the prefill, and every step without the cache. */
function wholeRows(rows: readonly Row[], width: number, padId: number): { ids: BigInt64Array; positions: BigInt64Array } {
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(padId));
  const positions = new BigInt64Array(rows.length * width);
  rows.forEach((row, r) => {
    const base = r * width + row.pad;
    row.tokens.forEach((token, i) => {
      ids[base + i] = BigInt(token);
      positions[base + i] = BigInt(i);
    });
  });
  return { ids, positions };
}

/** [batch, 1] last ids and their positions: an incremental step. */
function lastTokens(rows: readonly Row[]): { ids: BigInt64Array; positions: BigInt64Array } {
  const ids = new BigInt64Array(rows.length);
  const positions = new BigInt64Array(rows.length);
  rows.forEach((row, r) => {
    ids[r] = BigInt(row.tokens[row.tokens.length - 1] ?? 0);
    positions[r] = BigInt(row.tokens.length - 1);
  });
  return { ids, positions };
}

/**
 * Generates continuations for several prompts in one batch: left padding, one graph run per step for the whole
 * batch, the KV cache fed back each step. A row that finishes (EOS, stop sequence, length) or is aborted leaves
 * the batch at once: its outcome goes to `onSettled` and its cache rows are dropped, so the rest run smaller.
 * Aborts are checked between steps; an aborted row settles with the signal's reason (an AbortError).
 * With a graph extended for capture, each row's activations build up from the same steps (no second forward
 * pass); capturing the mean over generated tokens keeps a finished row for one more step, to read its last token.
 */
export async function generateBatch(
  runner: GraphRunner,
  signature: GraphSignature,
  decode: (ids: number[]) => string,
  requests: readonly SequenceRequest[],
  settings: GenerationSettings,
  onSettled: (index: number, outcome: SequenceOutcome) => void = () => {},
): Promise<SequenceOutcome[]> {
  const outcomes: SequenceOutcome[] = new Array<SequenceOutcome>(requests.length);
  const settle = (row: Row, outcome: SequenceOutcome): void => {
    outcomes[row.index] = outcome;
    onSettled(row.index, outcome);
  };
  let width = Math.max(1, ...requests.map((r) => r.promptIds.length));
  const captured = signature.activations;
  const readsLastToken = captured?.positions.includes('mean-generated') ?? false;
  let active = requests.map((request, index) => leftPadded(request, index, width, captured));
  let prefilled = false;
  let cache: KvCache | null = null;
  const keepRows = (keep: (row: Row) => boolean): void => {
    const kept = active.flatMap((row, i) => (keep(row) ? [i] : []));
    if (kept.length === active.length) return;
    if (cache !== null) cache = selectCacheRows(cache, kept);
    active = kept.map((i) => active[i] as Row);
  };
  if (settings.maxNewTokens <= 0) {
    for (const row of active) settle(row, { ok: true, result: { tokenIds: [], text: '', finishReason: 'length', promptTokens: row.request.promptIds.length } });
    return outcomes;
  }
  while (active.length > 0) {
    for (const row of active) {
      if (row.request.signal?.aborted) settle(row, { ok: false, error: abortError(row.request.signal) });
    }
    keepRows((row) => !row.request.signal?.aborted);
    if (active.length === 0) break;
    const incremental = settings.useCache && cache !== null;
    const fed = incremental ? lastTokens(active) : wholeRows(active, width, settings.padTokenId);
    let step;
    try {
      step = await runDecoderStep(runner, signature, {
        batch: active.length,
        inputIds: fed.ids,
        attentionMask: attentionMask(active, width),
        positionIds: fed.positions,
        past: incremental ? cache : null,
      });
    } catch (error) {
      const failure = new TransientError(`onnx decoder step failed: ${(error as Error).message}`, undefined, { cause: error });
      for (const row of active) settle(row, { ok: false, error: failure });
      break;
    }
    cache = settings.useCache ? step.present : null;
    const finished = new Set<Row>();
    const done = (row: Row, result: SequenceResult): void => {
      settle(row, { ok: true, result: row.activations ? { ...result, activations: row.activations.packed() } : result });
      finished.add(row);
    };
    active.forEach((row, i) => {
      if (step.activations && row.activations) {
        if (prefilled) row.activations.addGenerated(step.activations, i);
        else row.activations.addPrompt(step.activations, i, row.request.promptIds.length);
      }
      if (row.draining) return done(row, row.draining);
      const token = chooseToken(step.lastLogits[i] as Float32Array, settings, row.random);
      row.generated.push(token);
      row.tokens.push(token);
      const result = finishOf(row, settings, decode);
      if (result === null) return;
      if (readsLastToken) row.draining = result;
      else done(row, result);
    });
    prefilled = true;
    width++;
    keepRows((row) => !finished.has(row));
  }
  return outcomes;
}
