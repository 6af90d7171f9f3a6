/**
 * The tiny model's tokenizer: a byte-level BPE in the Hugging Face `tokenizer.json` format (GPT-2 byte alphabet,
 * a few merges for common Python words), with `<pad>`, `<bos>`, `<eos>` as ids 0, 1, 2 and BOS added by a
 * TemplateProcessing post-processor, as Llama 3 and Gemma tokenizers do. Every byte string is encodable.
 */

export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>'] as const;

/** Words whose BPE merges the vocabulary carries, so real code tokenizes to fewer ids than bytes. */
const MERGED_WORDS = [
  'def', 'Ġdef', 'Ġreturn', 'Ġfor', 'Ġin', 'Ġif', 'Ġelse', 'Ġimport', 'Ġprint', 'Ġwhile', 'ĠTrue', 'ĠFalse',
  'ĠNone', 'Ġlen', 'Ġrange', 'Ġassert', 'ĠĠĠ', 'Ġ==', 'Ġ=', '):', 'Ġthe', 'Ġa', 'Ġto', 'Ġfunction', 'Ġlist',
];

/** GPT-2's reversible byte -> printable character map, which the ByteLevel pre-tokenizer and decoder use. */
export function byteLevelAlphabet(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const chars: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    chars[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return chars;
}

/** Merges as "left right" strings, in rank order, building each word left to right. */
function mergesFor(words: readonly string[]): string[] {
  const merges: string[] = [];
  const seen = new Set<string>();
  for (const word of words) {
    const symbols = [...word];
    let left = symbols[0] ?? '';
    for (const next of symbols.slice(1)) {
      const merge = `${left} ${next}`;
      if (!seen.has(merge)) {
        seen.add(merge);
        merges.push(merge);
      }
      left += next;
    }
  }
  return merges;
}

export interface TinyTokenizerFiles {
  tokenizer: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  vocabSize: number;
}

export function makeTinyTokenizer(): TinyTokenizerFiles {
  const vocab: Record<string, number> = {};
  SPECIAL_TOKENS.forEach((token, id) => (vocab[token] = id));
  for (const char of byteLevelAlphabet()) vocab[char] = Object.keys(vocab).length;
  const merges = mergesFor(MERGED_WORDS);
  for (const merge of merges) {
    const token = merge.replace(' ', '');
    if (!(token in vocab)) vocab[token] = Object.keys(vocab).length;
  }
  const addedTokens = SPECIAL_TOKENS.map((content, id) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<bos>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<bos>': { id: '<bos>', ids: [BOS_ID], tokens: ['<bos>'] } },
    },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<bos>',
    eos_token: '<eos>',
    pad_token: '<pad>',
    add_bos_token: true,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: 2048,
  };
  return { tokenizer, tokenizerConfig, vocabSize: Object.keys(vocab).length };
}
