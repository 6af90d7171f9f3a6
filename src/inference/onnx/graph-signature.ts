import type { InferenceSession } from 'onnxruntime-node';
import { InputError } from '../../errors.js';
import type { LayerTaps } from './activation-graph.js';
import type { ActivationSpec } from './activation-spec.js';
import type { DecoderConfig } from './model-config.js';

export type KvType = 'float32' | 'float16';

/** The names, shapes and dtypes of one decoder graph's KV-cache interface, read from the session. */
export interface GraphSignature {
  hasPositionIds: boolean;
  numLayers: number;
  /** Per layer: the past input names and the present output names that feed them next step. */
  layers: { pastKey: string; pastValue: string; presentKey: string; presentValue: string }[];
  kvType: KvType;
  kvHeads: number;
  headDim: number;
  logitsType: KvType;
  /** Set when the graph was extended to return residual-stream activations (--capture-activations). */
  activations?: CapturedOutputs;
}

/** What an extended graph captures, the width of each vector, and the outputs that carry them (in `layers` order). */
export interface CapturedOutputs extends ActivationSpec {
  hidden: number;
  taps: LayerTaps[];
}

type SessionMetadata = Pick<InferenceSession, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>;

function floatType(type: string, what: string, file: string): KvType {
  if (type === 'float32' || type === 'float16') return type;
  throw new InputError(`${file}: ${what} has dtype ${type}; expected float32 or float16`);
}

/**
 * Checks the graph has the optimum `text-generation-with-past` interface and reads its KV layout. Layer count
 * comes from the graph's `past_key_values.{i}.key` inputs and must agree with config.json; head count and size
 * come from the input shapes where they are fixed, from config.json where symbolic.
 */
export function readGraphSignature(session: SessionMetadata, config: DecoderConfig, file: string): GraphSignature {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  for (const required of ['input_ids', 'attention_mask']) {
    if (!inputs.has(required)) {
      throw new InputError(
        `${file}: graph has no "${required}" input (inputs: ${session.inputNames.join(', ')}); export it with ` +
          '--task text-generation-with-past',
      );
    }
  }
  if (!outputs.has('logits')) throw new InputError(`${file}: graph has no "logits" output`);
  let numLayers = 0;
  while (inputs.has(`past_key_values.${numLayers}.key`)) numLayers++;
  if (numLayers === 0) {
    throw new InputError(`${file}: graph has no past_key_values.0.key input: it was exported without KV cache (use --task text-generation-with-past)`);
  }
  if (numLayers !== config.numLayers) {
    throw new InputError(`${file}: graph has ${numLayers} KV layers but config.json says num_hidden_layers=${config.numLayers}`);
  }
  const layers = Array.from({ length: numLayers }, (_, i) => {
    const names = {
      pastKey: `past_key_values.${i}.key`,
      pastValue: `past_key_values.${i}.value`,
      presentKey: `present.${i}.key`,
      presentValue: `present.${i}.value`,
    };
    if (!inputs.has(names.pastValue)) throw new InputError(`${file}: graph has no "${names.pastValue}" input`);
    for (const output of [names.presentKey, names.presentValue]) {
      if (!outputs.has(output)) throw new InputError(`${file}: graph has no "${output}" output`);
    }
    return names;
  });
  const pastMeta = session.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
  const logitsMeta = session.outputMetadata.find((m) => m.name === 'logits');
  if (!pastMeta?.isTensor || !logitsMeta?.isTensor) throw new InputError(`${file}: KV cache and logits must be tensors`);
  const dim = (index: number, fallback: number): number => {
    const value = pastMeta.shape[index];
    return typeof value === 'number' && value > 0 ? value : fallback;
  };
  return {
    hasPositionIds: inputs.has('position_ids'),
    numLayers,
    layers,
    kvType: floatType(pastMeta.type, 'past_key_values.0.key', file),
    kvHeads: dim(1, config.numKeyValueHeads),
    headDim: dim(3, config.headDim),
    logitsType: floatType(logitsMeta.type, 'logits', file),
  };
}
