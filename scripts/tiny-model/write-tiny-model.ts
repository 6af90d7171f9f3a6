import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDecoderGraph } from './decoder-graph.js';
import { defaultTinySpec, type TinyModelSpec } from './spec.js';
import { BOS_ID, EOS_ID, PAD_ID, makeTinyTokenizer } from './tokenizer-json.js';
import { makeTinyWeights } from './weights.js';

/** The spec of the committed fixture, with the vocabulary size its tokenizer has. */
export function tinyFixtureSpec(): TinyModelSpec {
  return defaultTinySpec(makeTinyTokenizer().vocabSize);
}

/** A `config.json` that describes the graph as the llama architecture it implements, with the usual fields. */
function llamaConfig(spec: TinyModelSpec): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: spec.vocabSize,
    hidden_size: spec.hiddenSize,
    intermediate_size: spec.intermediateSize,
    num_hidden_layers: spec.numLayers,
    num_attention_heads: spec.numHeads,
    num_key_value_heads: spec.numKvHeads,
    head_dim: spec.headDim,
    hidden_act: 'silu',
    max_position_embeddings: spec.maxPositions,
    rms_norm_eps: spec.rmsNormEps,
    rope_theta: spec.ropeTheta,
    rope_scaling: null,
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: false,
    initializer_range: 0.02,
    use_cache: true,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    pad_token_id: PAD_ID,
    torch_dtype: 'float32',
    transformers_version: '4.44.0',
  };
}

/**
 * Writes the tiny model in the Hugging Face / optimum layout. Deterministic: the same spec writes the same bytes
 * (JSON key order is fixed by construction, weights come from a seeded PRNG, protobuf encoding is canonical here).
 */
export async function writeTinyModel(dir: string, spec: TinyModelSpec = tinyFixtureSpec()): Promise<void> {
  const { tokenizer, tokenizerConfig, vocabSize } = makeTinyTokenizer();
  if (spec.vocabSize !== vocabSize) throw new RangeError(`spec.vocabSize ${spec.vocabSize} != tokenizer's ${vocabSize}`);
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeFile(join(dir, 'config.json'), json(llamaConfig(spec)));
  await writeFile(
    join(dir, 'generation_config.json'),
    json({ bos_token_id: BOS_ID, eos_token_id: EOS_ID, pad_token_id: PAD_ID, do_sample: false, transformers_version: '4.44.0' }),
  );
  await writeFile(join(dir, 'tokenizer.json'), json(tokenizer));
  await writeFile(join(dir, 'tokenizer_config.json'), json(tokenizerConfig));
  await writeFile(join(dir, 'onnx', 'model.onnx'), buildDecoderGraph(spec, makeTinyWeights(spec)));
}
