import { TransientError } from '../backend.js';
import { runDecoderStep, selectCacheRows, type GraphRunner, type KvCache } from './decoder-step.js';
import type { GraphSignature } from './graph-signature.js';
import { SeededRandom } from './seeded-random.js';
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
}

export type SequenceOutcome = { ok: true; result: SequenceResult } | { ok: false; error: unknown };

/** One sequence in flight: its full (left-padded) token row, mask and positions grow by one each step. */
interface Row {
  index: number;
  request: SequenceRequest;
  tokens: number[];
  mask: number[];
  positions: number[];
  generated: number[];
  random: SeededRandom;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function leftPadded(request: SequenceRequest, index: number, width: number, padId: number): Row {
  const pad = width - request.promptIds.length;
  const mask = [...new Array<number>(pad).fill(0), ...new Array<number>(request.promptIds.length).fill(1)];
  return {
    index,
    request,
    tokens: [...new Array<number>(pad).fill(padId), ...request.promptIds],
    mask,
    positions: mask.map((_, i) => Math.max(0, i - pad)),
    generated: [],
    random: new SeededRandom(request.seed),
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

/** Rows concatenated into one int64 tensor body; plain loops, as this runs every step for every row. */
function flat(rows: Row[], pick: (row: Row) => number[]): BigInt64Array {
  const parts = rows.map(pick);
  const out = new BigInt64Array(parts.reduce((n, part) => n + part.length, 0));
  let k = 0;
  for (const part of parts) for (const value of part) out[k++] = BigInt(value);
  return out;
}

/**
 * Generates continuations for several prompts in one batch: left padding, one graph run per step for the whole
 * batch, the KV cache fed back each step. A row that finishes (EOS, stop sequence, length) or is aborted leaves
 * the batch at once: its outcome goes to `onSettled` and its cache rows are dropped, so the rest run smaller.
 * Aborts are checked between steps; an aborted row settles with the signal's reason (an AbortError).
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
  const width = Math.max(1, ...requests.map((r) => r.promptIds.length));
  let active = requests.map((request, index) => leftPadded(request, index, width, settings.padTokenId));
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
    const newTokens = (row: Row, all: number[]): number[] => (incremental ? all.slice(-1) : all);
    let step;
    try {
      step = await runDecoderStep(runner, signature, {
        batch: active.length,
        inputIds: flat(active, (row) => newTokens(row, row.tokens)),
        attentionMask: flat(active, (row) => row.mask),
        positionIds: flat(active, (row) => newTokens(row, row.positions)),
        past: incremental ? cache : null,
      });
    } catch (error) {
      const failure = new TransientError(`onnx decoder step failed: ${(error as Error).message}`, undefined, { cause: error });
      for (const row of active) settle(row, { ok: false, error: failure });
      break;
    }
    cache = settings.useCache ? step.present : null;
    const finished = new Set<Row>();
    active.forEach((row, i) => {
      const token = chooseToken(step.lastLogits[i] as Float32Array, settings, row.random);
      row.generated.push(token);
      row.tokens.push(token);
      row.positions.push((row.positions[row.positions.length - 1] ?? -1) + 1);
      row.mask.push(1);
      const result = finishOf(row, settings, decode);
      if (result !== null) {
        settle(row, { ok: true, result });
        finished.add(row);
      }
    });
    keepRows((row) => !finished.has(row));
  }
  return outcomes;
}
