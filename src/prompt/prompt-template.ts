/**
 * Prompt templates. The built-in one is the original thesis prompt, so results compare with it; `--prompt-template
 * FILE` supplies another. Placeholders are `{text}` (the problem statement) and `{tests}` (the asserts, one per
 * line); `{{` and `}}` stand for literal braces, and any other brace is left as written (Python code in a template
 * keeps its dict literals). The file is used byte for byte: a trailing newline in it ends up in every prompt.
 * An MBPP+ problem without the original's asserts fills `{tests}` with the assert of its MBPP+ prompt; without a
 * template file it is prompted with that MBPP+ prompt verbatim, as EvalPlus prompts (`mbppPlusTemplate`).
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { MbppRecord } from '../records.js';
import { splitPlusPrompt } from './plus-prompt.js';

/** The thesis prompt: the problem, its tests one per line, then the cue the model continues from. */
export const THESIS_TEMPLATE = '{text}\n\n{tests}\n\n# Solution:';

export const PLACEHOLDERS = ['text', 'tests'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

export interface PromptTemplate {
  /** `builtin:thesis` or the template file's path. */
  origin: string;
  /** The template as written; hash it for the run identity. */
  text: string;
  render(record: Pick<MbppRecord, 'text' | 'test_list' | 'plus'>): string;
}

/** A template split into literal text and placeholders, so rendering never re-reads braces in the record. */
type Piece = { literal: string } | { placeholder: Placeholder };

const TOKEN = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function thesisTemplate(): PromptTemplate {
  return parsePromptTemplate(THESIS_TEMPLATE, 'builtin:thesis');
}

/** Reads `--prompt-template FILE`. */
export async function loadPromptTemplate(path: string): Promise<PromptTemplate> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`--prompt-template ${path}: cannot read (${error.code ?? error.message})`);
  });
  return parsePromptTemplate(text, path);
}

/** `origin` names the template in errors (a file path, or `builtin:…`). */
export function parsePromptTemplate(text: string, origin: string): PromptTemplate {
  const pieces: Piece[] = [];
  let literal = '';
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    literal += text.slice(last, match.index);
    last = match.index + match[0].length;
    const name = match[1];
    if (name === undefined) {
      literal += match[0][0];
      continue;
    }
    const placeholder = PLACEHOLDERS.find((known) => known === name);
    if (placeholder === undefined) {
      throw new InputError(
        `--prompt-template ${origin}, line ${lineOf(text, match.index)}: unknown placeholder {${name}} (known: ${PLACEHOLDERS.map((known) => `{${known}}`).join(', ')}; write {{ and }} for literal braces)`,
      );
    }
    pieces.push({ literal }, { placeholder });
    literal = '';
  }
  pieces.push({ literal: literal + text.slice(last) });
  if (!pieces.some((piece) => 'placeholder' in piece && piece.placeholder === 'text')) {
    throw new InputError(`--prompt-template ${origin}: has no {text} placeholder, so prompts would not state the problem`);
  }
  return {
    origin,
    text,
    render(record) {
      const values: Record<Placeholder, string> = { text: record.text, tests: testsOf(record).join('\n') };
      return pieces.map((piece) => ('literal' in piece ? piece.literal : values[piece.placeholder])).join('');
    },
  };
}

/** The record's asserts; an MBPP+ record without the original's has the one its MBPP+ prompt shows. */
function testsOf(record: Pick<MbppRecord, 'test_list' | 'plus'>): string[] {
  return record.test_list.length === 0 && record.plus !== undefined ? splitPlusPrompt(record.plus.prompt).asserts : record.test_list;
}

/**
 * MBPP+'s own prompt, verbatim: what a run on MBPP+ data without the original MBPP joined uses unless a template file
 * is given. Its text is no valid template (`{prompt}` is no placeholder), so it never matches a user's template in
 * the run identity.
 */
export function mbppPlusTemplate(): PromptTemplate {
  return {
    origin: 'builtin:mbppplus',
    text: '{prompt}',
    render(record) {
      if (record.plus === undefined) throw new Error('the MBPP+ prompt template was given a record without MBPP+ data');
      return record.plus.prompt;
    },
  };
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}
