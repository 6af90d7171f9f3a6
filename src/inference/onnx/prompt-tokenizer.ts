import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from '../../errors.js';
import type { ModelDir } from './model-dir.js';

/**
 * Text <-> ids for one model, from its `tokenizer.json`. BOS comes from the tokenizer's own post-processor (as
 * Gemma's and Llama 3's add it); when that does not add it but `tokenizer_config.json` asks for one
 * (`add_bos_token`), it is prepended here so prompts look as they did in training.
 */
export class PromptTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly prependBos: number | null;

  constructor(model: ModelDir) {
    try {
      this.tokenizer = new Tokenizer(model.tokenizerJson, model.tokenizerConfig);
    } catch (error) {
      throw new InputError(`${model.tokenizerFile}: cannot load tokenizer (${(error as Error).message})`);
    }
    const bos = model.config.bosTokenId;
    const wantsBos = model.tokenizerConfig['add_bos_token'] === true && bos !== null;
    this.prependBos = wantsBos && this.tokenizer.encode('a').ids[0] !== bos ? bos : null;
  }

  encode(text: string): number[] {
    const ids = this.tokenizer.encode(text).ids;
    return this.prependBos === null ? ids : [this.prependBos, ...ids];
  }

  /** Text of generated ids, without special tokens. */
  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }
}
