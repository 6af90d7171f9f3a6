import ort from 'onnxruntime-node';
import type { GraphSignature } from './graph-signature.js';
import { halfArrayToFloat32 } from './half-float.js';

/** The KV cache of a batch: one key and one value tensor per layer, each [batch, kvHeads, length, headDim]. */
export interface KvCache {
  keys: ort.Tensor[];
  values: ort.Tensor[];
  length: number;
}

/** One decoder step's inputs, row-major [batch, ...]. */
export interface StepInputs {
  batch: number;
  /** [batch, newTokens] */
  inputIds: BigInt64Array;
  /** [batch, past + newTokens] */
  attentionMask: BigInt64Array;
  /** [batch, newTokens] */
  positionIds: BigInt64Array;
  /** null: no past (prefill, or decoding without the cache). */
  past: KvCache | null;
}

export interface StepOutputs {
  /** The last position's logits, one row per batch row. */
  lastLogits: Float32Array[];
  present: KvCache;
  /** With a graph extended for capture: per captured layer (signature order), its vectors of this step. */
  activations?: StepActivations[];
}

/**
 * One captured layer's residual stream in one step, row-major [batch, hidden]: at the step's last input
 * position, and summed over the step's real (unmasked) input positions; each null when not captured.
 */
export interface StepActivations {
  last: Float32Array | null;
  sum: Float32Array | null;
}

/** Anything that runs a graph: an onnxruntime session, or a wrapper that counts calls. */
export type GraphRunner = Pick<ort.InferenceSession, 'run'>;

/** Runs one forward step of the decoder graph described by `signature`. */
export async function runDecoderStep(runner: GraphRunner, signature: GraphSignature, step: StepInputs): Promise<StepOutputs> {
  const newTokens = step.inputIds.length / step.batch;
  const total = step.attentionMask.length / step.batch;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', step.inputIds, [step.batch, newTokens]),
    attention_mask: new ort.Tensor('int64', step.attentionMask, [step.batch, total]),
  };
  if (signature.hasPositionIds) feeds['position_ids'] = new ort.Tensor('int64', step.positionIds, [step.batch, newTokens]);
  const empty = (): ort.Tensor => emptyKv(signature, step.batch);
  signature.layers.forEach((layer, i) => {
    feeds[layer.pastKey] = step.past?.keys[i] ?? empty();
    feeds[layer.pastValue] = step.past?.values[i] ?? empty();
  });
  const outputs = await runner.run(feeds);
  const logits = outputs['logits'];
  if (logits === undefined) throw new Error('decoder step returned no logits');
  const vocab = logits.dims[2] ?? 0;
  const lastLogits = Array.from({ length: step.batch }, (_, row) => {
    const start = (row * newTokens + newTokens - 1) * vocab;
    return signature.logitsType === 'float16'
      ? halfArrayToFloat32(logits.data as Uint16Array, start, start + vocab)
      : (logits.data as Float32Array).subarray(start, start + vocab); // a view: the output buffer is this step's own
  });
  const pick = (name: string): ort.Tensor => {
    const tensor = outputs[name];
    if (tensor === undefined) throw new Error(`decoder step returned no ${name}`);
    return tensor;
  };
  const captured = signature.activations;
  const vectors = (name: string | null): Float32Array | null => {
    if (name === null) return null;
    const data = pick(name).data as Float32Array;
    if (data.length !== step.batch * (captured?.hidden ?? 0)) throw new Error(`decoder step returned ${data.length} values in ${name}, expected ${step.batch} x ${captured?.hidden}`);
    return data;
  };
  return {
    lastLogits,
    ...(captured && { activations: captured.taps.map((tap) => ({ last: vectors(tap.last), sum: vectors(tap.sum) })) }),
    present: {
      keys: signature.layers.map((layer) => pick(layer.presentKey)),
      values: signature.layers.map((layer) => pick(layer.presentValue)),
      length: total,
    },
  };
}

function emptyKv(signature: GraphSignature, batch: number): ort.Tensor {
  const dims = [batch, signature.kvHeads, 0, signature.headDim];
  return signature.kvType === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
}

/** Keeps only `rows` of each cache tensor (batch is the outer dimension, so each row is one contiguous block). */
export function selectCacheRows(cache: KvCache, rows: readonly number[]): KvCache {
  const select = (tensor: ort.Tensor): ort.Tensor => {
    const [batch = 1, ...rest] = tensor.dims;
    const data = tensor.data as Float32Array | Uint16Array;
    const rowSize = data.length / batch;
    const out = new (data.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(rowSize * rows.length);
    rows.forEach((row, i) => out.set(data.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize));
    return new ort.Tensor(tensor.type as 'float32', out as Float32Array, [rows.length, ...rest]);
  };
  return { keys: cache.keys.map(select), values: cache.values.map(select), length: cache.length };
}
