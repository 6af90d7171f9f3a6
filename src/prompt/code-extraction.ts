/**
 * Pulls the Python solution out of a model's completion. Two shapes occur:
 *  - chat-style answers with fenced blocks (```python, ``` or ~~~): the blocks that define the solution are kept
 *    (joined in order, so helpers and a later corrected version both survive; a later `def` of the same name
 *    wins in Python), test-only blocks are dropped;
 *  - a raw continuation of the thesis prompt (`... # Solution:`): code runs until the model starts something
 *    else: an `assert`, `if __name__`, a `# Test`/`# Example` section, a print/input driver, a new problem
 *    statement, prose, or another `# Solution:`.
 * Either way, leading prose and an echoed prompt before the code are skipped, imports and helper functions are
 * kept, and chat special tokens and `<think>` sections are removed. The scan works line by line on top-level
 * statements only (it tracks brackets and triple-quoted strings), so nothing inside a function is ever cut.
 */

/** Tokens after which a model has finished its turn; the text is cut at the first one. */
const END_OF_TURN = /<end_of_turn>|<\|endoftext\|>|<\|im_end\|>|<\|eot_id\|>|<\|end\|>|<\/s>|<eos>|<start_of_turn>|<\|im_start\|>/;
const TURN_HEADER = /^\s*(?:<start_of_turn>|<\|im_start\|>)\s*(?:model|assistant)?[ \t]*\n?/;

const PYTHON_KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from ' +
    'global if import in is lambda nonlocal not or pass raise return try while with yield match case type print exec'
  ).split(' '),
);

export function extractCode(completion: string): string {
  const text = withoutChatMarkup(completion.replace(/\r\n?/g, '\n'));
  const blocks = fencedBlocks(text);
  const python = blocks.filter((block) => block.isPython).map((block) => trimToSolution(block.code));
  if (python.length > 0) return chooseBlocks(python);
  const outsideFences = blocks.length > 0 ? withoutFencedBlocks(text) : text;
  return trimToSolution(outsideFences);
}

function withoutChatMarkup(text: string): string {
  let result = text.replace(/<think>[\s\S]*?(?:<\/think>|$)/g, '');
  // A chat template may open the thinking section in the prompt: then only its end is in the completion.
  const strayEnd = result.indexOf('</think>');
  if (strayEnd >= 0) result = result.slice(strayEnd + '</think>'.length);
  result = result.replace(TURN_HEADER, '');
  const end = END_OF_TURN.exec(result);
  return end ? result.slice(0, end.index) : result;
}

interface FencedBlock {
  isPython: boolean;
  code: string;
}

const FENCE_OPEN = /^([ \t]*)(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^`\n]*$/;
const PYTHON_LANGUAGES = new Set(['', 'python', 'py', 'python3', 'py3', 'python2', 'ipython', 'pycon']);

/** Fenced blocks in order; an unclosed last block (the model hit its token limit) runs to the end. */
function fencedBlocks(text: string): FencedBlock[] {
  const lines = text.split('\n');
  const blocks: FencedBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = FENCE_OPEN.exec(lines[index] ?? '');
    if (!open) continue;
    const [, indent = '', marker = '', language = ''] = open;
    const content: string[] = [];
    index++;
    for (; index < lines.length; index++) {
      const line = lines[index] ?? '';
      if (isFenceClose(line, marker)) break;
      content.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    blocks.push({ isPython: PYTHON_LANGUAGES.has(language.toLowerCase()), code: content.join('\n') });
  }
  return blocks;
}

function isFenceClose(line: string, marker: string): boolean {
  const trimmed = line.trim();
  return trimmed.length >= marker.length && trimmed === (marker[0] ?? '`').repeat(trimmed.length);
}

function withoutFencedBlocks(text: string): string {
  const kept: string[] = [];
  let marker: string | undefined;
  for (const line of text.split('\n')) {
    if (marker !== undefined) {
      if (isFenceClose(line, marker)) marker = undefined;
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    if (open) marker = open[2];
    else kept.push(line);
  }
  return kept.join('\n');
}

const TOP_LEVEL_DEFINITION = /^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)/gm;
const TEST_NAME = /^(?:test|Test|check_|run_tests?$)/;
const IMPORT_LINE = /^(?:import|from)\s/;

/**
 * The blocks that define the solution (a non-test function or class), with import-only blocks, joined in order
 * and each once; when none defines anything, the first non-empty block (a lambda, say).
 */
function chooseBlocks(blocks: readonly string[]): string {
  const defining = blocks.filter((code) => definedNames(code).some((name) => !TEST_NAME.test(name)));
  if (defining.length === 0) return blocks.find((code) => code !== '') ?? '';
  const kept = blocks.filter((code) => defining.includes(code) || isImportsOnly(code));
  return [...new Set(kept)].join('\n\n');
}

function definedNames(code: string): string[] {
  return [...code.matchAll(TOP_LEVEL_DEFINITION)].map((match) => match[1] ?? '');
}

function isImportsOnly(code: string): boolean {
  const statements = code.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
  return statements.length > 0 && statements.every((line) => IMPORT_LINE.test(line));
}

/**
 * Keeps the first run of Python code: skips what comes before it (prose, an echoed prompt and its asserts,
 * `# Solution:`) and cuts where the model starts something else.
 */
function trimToSolution(code: string): string {
  const lines = dedent(code).split('\n');
  const kept: string[] = [];
  const scan: ScanState = { quote: null, depth: 0, continued: false };
  let inCode = false;
  let keepStatement = false;
  for (const line of lines) {
    const statementStart = scan.quote === null && scan.depth === 0 && !scan.continued;
    if (statementStart && line.trim() !== '') {
      const topLevel = !/^\s/.test(line);
      if (!inCode) {
        keepStatement = topLevel && startsCode(line);
        inCode = keepStatement;
      } else if (topLevel && endsSolution(line)) {
        break;
      } else {
        keepStatement = true;
      }
    }
    if (keepStatement) kept.push(line);
    scanLine(line, scan);
  }
  return kept.join('\n').replace(/\s+$/, '').replace(/^\n+/, '');
}

/** Whether a top-level line, met before any code, begins the solution (rather than prose or an echoed prompt). */
function startsCode(line: string): boolean {
  return !line.startsWith('#') && !endsSolution(line);
}

const SECTION_COMMENT =
  /^#+\s*(?:tests?|testing|test cases?|unit tests?|examples?|example usage|usage|sample|driver|output|solution|answer|problem|question|task)\b/i;
const DRIVER_CALL = /^(?:print|input|main|unittest\.main|doctest\.testmod|pytest\.main|exit|quit|sys\.exit)\s*\(|^print\b/;
const MARKDOWN = /^(?:```|~~~|\*\*|>>>|>\s|[-*+]\s+\S|\d+[.)]\s+\S)/;
const STRING_STATEMENT = /^[rRbBuUfF]{0,2}(?:"|')/;
const ANNOTATED_ASSIGNMENT = /^[A-Za-z_]\w*\s*:\s*[A-Za-z_][\w.]*(?:\[[^\]]*\])?(?:\s*\|\s*[A-Za-z_][\w.]*(?:\[[^\]]*\])?)*\s*=[^=]/;

/** Whether a top-level line starts something other than the solution: tests, a driver, a new problem, prose. */
function endsSolution(line: string): boolean {
  const trimmed = line.trimEnd();
  return (
    /^assert\b/.test(trimmed) ||
    /^if\s+__name__\s*==/.test(trimmed) ||
    SECTION_COMMENT.test(trimmed) ||
    DRIVER_CALL.test(trimmed) ||
    /\binput\s*\(/.test(trimmed) ||
    MARKDOWN.test(trimmed) ||
    STRING_STATEMENT.test(trimmed) ||
    isProse(trimmed)
  );
}

/**
 * A sentence, not a statement: a word that is no Python keyword followed by another word (never valid at top
 * level: `The function ...`, `Here is ...`, `Write a function ...`), or a lone `Word:` label (`Explanation:`).
 */
function isProse(line: string): boolean {
  if (ANNOTATED_ASSIGNMENT.test(line)) return false;
  const sentence = /^([A-Za-z][\w'’-]*)[:;.!?]?\s+[A-Za-z0-9`'"“‘]/.exec(line);
  if (sentence) return !PYTHON_KEYWORDS.has(sentence[1] ?? '');
  const label = /^([A-Za-z][\w ]*):$/.exec(line);
  return label !== null && !PYTHON_KEYWORDS.has(label[1] ?? '');
}

/** Removes the indentation all non-blank lines share (a block indented under a list item, say). */
function dedent(code: string): string {
  const lines = code.split('\n');
  const indents = lines.filter((line) => line.trim() !== '').map((line) => /^[ \t]*/.exec(line)?.[0] ?? '');
  if (indents.length === 0) return code;
  let common = indents[0] ?? '';
  for (const indent of indents) {
    while (!indent.startsWith(common)) common = common.slice(0, -1);
  }
  return common === '' ? code : lines.map((line) => line.slice(common.length)).join('\n');
}

/** Where the scan is between lines: inside a triple-quoted string, inside brackets, after a `\` continuation. */
interface ScanState {
  quote: '"""' | "'''" | null;
  depth: number;
  continued: boolean;
}

/** Advances `state` over one line, with just enough of Python's lexer to find statement boundaries. */
function scanLine(line: string, state: ScanState): void {
  let index = 0;
  let inComment = false;
  while (index < line.length) {
    if (state.quote !== null) {
      const close = findClosing(line, index, state.quote);
      if (close < 0) return;
      index = close + 3;
      state.quote = null;
      continue;
    }
    const char = line[index];
    if (char === '#') {
      inComment = true;
      break;
    }
    const triple = line.startsWith('"""', index) ? '"""' : line.startsWith("'''", index) ? "'''" : null;
    if (triple !== null) {
      state.quote = triple;
      index += 3;
    } else if (char === '"' || char === "'") {
      index = findClosing(line, index + 1, char);
      index = index < 0 ? line.length : index + 1;
    } else {
      if (char === '(' || char === '[' || char === '{') state.depth++;
      else if (char === ')' || char === ']' || char === '}') state.depth = Math.max(0, state.depth - 1);
      index++;
    }
  }
  state.continued = state.quote === null && !inComment && line.endsWith('\\');
}

/** Index of the unescaped `quote` at or after `from`, or -1. */
function findClosing(line: string, from: number, quote: string): number {
  for (let index = from; index < line.length; index++) {
    if (line[index] === '\\') index++;
    else if (line.startsWith(quote, index)) return index;
  }
  return -1;
}
