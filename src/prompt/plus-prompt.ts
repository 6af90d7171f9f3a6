/**
 * MBPP+'s prompt is a docstring holding the problem statement and then one assert that shows a call, e.g.
 * `"""\nWrite a function to find the shared elements from the given two lists.\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n"""\n`.
 * Split, the two fill a prompt template's `{text}` and `{tests}` as MBPP's text and asserts do.
 */
export interface PlusPromptParts {
  /** The docstring's lines other than asserts, trimmed. */
  statement: string;
  /** The docstring's assert lines, in order. */
  asserts: string[];
}

const DOCSTRING = /^\s*(?:"""|''')([\s\S]*?)(?:"""|''')\s*$/;

export function splitPlusPrompt(prompt: string): PlusPromptParts {
  const body = DOCSTRING.exec(prompt)?.[1] ?? prompt;
  const lines = body.split('\n').map((line) => line.trimEnd());
  const isAssert = (line: string): boolean => /^\s*assert\b/.test(line);
  return {
    statement: lines.filter((line) => !isAssert(line)).join('\n').trim(),
    asserts: lines.filter(isAssert).map((line) => line.trim()),
  };
}
