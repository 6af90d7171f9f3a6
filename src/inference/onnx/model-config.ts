import { InputError } from '../../errors.js';

/** What generation needs from `config.json` and `generation_config.json`; the graph supplies the rest. */
export interface DecoderConfig {
  modelType: string;
  vocabSize: number;
  numLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  /** `hidden_size`, when the config gives it: the residual stream's width. */
  hiddenSize: number | null;
  bosTokenId: number | null;
  /** Any of these ends a sequence (gemma-2 lists several: `<eos>`, `<end_of_turn>`). */
  eosTokenIds: number[];
  padTokenId: number | null;
  /** The context window (`max_position_embeddings`), when the config gives one: prompt and new tokens must fit. */
  maxPositions: number | null;
}

type Json = Record<string, unknown>;

function positiveInt(config: Json, field: string, file: string): number {
  const value = config[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InputError(`${file}: field "${field}" must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function tokenIds(value: unknown, field: string, file: string): number[] {
  if (value === undefined || value === null) return [];
  const ids = Array.isArray(value) ? value : [value];
  if (!ids.every((id) => Number.isInteger(id) && (id as number) >= 0)) {
    throw new InputError(`${file}: field "${field}" must be a token id or a list of them, got ${JSON.stringify(value)}`);
  }
  return ids as number[];
}

/**
 * Reads the decoder's shape and special tokens. `generation_config.json` wins over `config.json` for token ids,
 * as in transformers. Gemma-2 configs carry `head_dim` explicitly (it is not hidden/heads there), so it is read
 * when present and derived only when absent.
 */
export function parseDecoderConfig(config: Json, configFile: string, generation: Json, generationFile: string): DecoderConfig {
  const numAttentionHeads = positiveInt(config, 'num_attention_heads', configFile);
  const headDim =
    config['head_dim'] !== undefined
      ? positiveInt(config, 'head_dim', configFile)
      : positiveInt(config, 'hidden_size', configFile) / numAttentionHeads;
  if (!Number.isInteger(headDim)) throw new InputError(`${configFile}: hidden_size is not a multiple of num_attention_heads`);
  const numKeyValueHeads =
    config['num_key_value_heads'] !== undefined ? positiveInt(config, 'num_key_value_heads', configFile) : numAttentionHeads;
  const pick = (field: string): { value: unknown; file: string } =>
    generation[field] !== undefined ? { value: generation[field], file: generationFile } : { value: config[field], file: configFile };
  const single = (field: string): number | null => {
    const { value, file } = pick(field);
    return tokenIds(value, field, file)[0] ?? null;
  };
  const eos = pick('eos_token_id');
  return {
    modelType: typeof config['model_type'] === 'string' ? config['model_type'] : 'unknown',
    vocabSize: positiveInt(config, 'vocab_size', configFile),
    numLayers: positiveInt(config, 'num_hidden_layers', configFile),
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    hiddenSize: config['hidden_size'] === undefined ? null : positiveInt(config, 'hidden_size', configFile),
    bosTokenId: single('bos_token_id'),
    eosTokenIds: tokenIds(eos.value, 'eos_token_id', eos.file),
    padTokenId: single('pad_token_id'),
    maxPositions: config['max_position_embeddings'] === undefined ? null : positiveInt(config, 'max_position_embeddings', configFile),
  };
}
