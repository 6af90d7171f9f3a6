/**
 * A scanner for JSON as Python's `json` module writes it. Besides strict JSON that holds `NaN`, `Infinity` and
 * `-Infinity`, which `JSON.parse` rejects, and integers of any size, which it rounds past 2^53. The scanner checks the
 * syntax and splits a top-level object into its fields' raw text, so a value only Python reads faithfully (MBPP+'s
 * inputs) stays text, and the plain fields are read with `JSON.parse`.
 */

/** Malformed text; `offset` is where the scan stopped (0-based, in UTF-16 code units). */
export class PythonJsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'PythonJsonSyntaxError';
  }
}

/** Python's spellings of the non-finite floats, as whole values. */
const NON_FINITE: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** The fields of a top-level object, each key with the raw text of its value, in the order written. */
export function objectFields(text: string): Map<string, string> {
  const scan = new Scanner(text);
  const fields = new Map<string, string>();
  scan.skipSpace();
  scan.expect('{');
  scan.skipSpace();
  if (!scan.take('}')) {
    do {
      scan.skipSpace();
      const keyStart = scan.pos;
      const key = parseValue(scan.stringToken()) as string;
      if (fields.has(key)) throw new PythonJsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, keyStart);
      scan.skipSpace();
      scan.expect(':');
      scan.skipSpace();
      const start = scan.pos;
      scan.skipValue();
      fields.set(key, text.slice(start, scan.pos));
      scan.skipSpace();
    } while (scan.take(','));
    scan.expect('}');
  }
  scan.expectEnd();
  return fields;
}

/** The raw text of each element of an array value (`[[1, 2], [3]]` gives `[1, 2]` and `[3]`). */
export function arrayElements(raw: string): string[] {
  const scan = new Scanner(raw);
  const elements: string[] = [];
  scan.skipSpace();
  scan.expect('[');
  scan.skipSpace();
  if (!scan.take(']')) {
    do {
      scan.skipSpace();
      const start = scan.pos;
      scan.skipValue();
      elements.push(raw.slice(start, scan.pos));
      scan.skipSpace();
    } while (scan.take(','));
    scan.expect(']');
  }
  scan.expectEnd();
  return elements;
}

/**
 * A value's raw text as JavaScript reads it: the non-finite floats as numbers, anything else by `JSON.parse` (so a
 * string, a number, a boolean or null; an integer past 2^53 is rounded, and containers holding NaN are rejected).
 */
export function parseValue(raw: string): unknown {
  const text = raw.trim();
  const nonFinite = NON_FINITE[text];
  if (nonFinite !== undefined) return nonFinite;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new PythonJsonSyntaxError(`unreadable value (${(error as Error).message})`, 0);
  }
}

/** Where a scan is in the text; each method consumes what it names or throws a `PythonJsonSyntaxError`. */
class Scanner {
  pos = 0;

  constructor(private readonly text: string) {}

  skipSpace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos] ?? '')) this.pos++;
  }

  take(char: string): boolean {
    if (this.text[this.pos] !== char) return false;
    this.pos++;
    return true;
  }

  expect(char: string): void {
    if (!this.take(char)) throw this.error(`expected '${char}'`);
  }

  expectEnd(): void {
    this.skipSpace();
    if (this.pos < this.text.length) throw this.error('unexpected text after the value');
  }

  /** Skips one value of any depth. Iterative, so deep nesting cannot overflow the stack. */
  skipValue(): void {
    const open: ('[' | '{')[] = [];
    for (;;) {
      this.skipSpace();
      const char = this.text[this.pos];
      if (char === '[' || char === '{') {
        this.pos++;
        this.skipSpace();
        if (!this.take(char === '[' ? ']' : '}')) {
          open.push(char);
          if (char === '{') this.memberKey();
          continue;
        }
      } else if (char === '"') {
        this.stringToken();
      } else {
        this.scalarToken();
      }
      // A value has ended: close what it ends, or go on to the next element or member.
      for (;;) {
        const container = open[open.length - 1];
        if (container === undefined) return;
        this.skipSpace();
        if (this.take(',')) {
          if (container === '{') this.memberKey();
          break;
        }
        this.expect(container === '[' ? ']' : '}');
        open.pop();
      }
    }
  }

  /** A member's key and colon, leaving the scan at its value. */
  private memberKey(): void {
    this.skipSpace();
    this.stringToken();
    this.skipSpace();
    this.expect(':');
  }

  /** A string literal, quotes included, as raw text (escapes left as written). */
  stringToken(): string {
    const start = this.pos;
    this.expect('"');
    for (;;) {
      const char = this.text[this.pos];
      if (char === undefined) throw new PythonJsonSyntaxError(`unterminated string from column ${start + 1}`, start);
      this.pos++;
      if (char === '"') return this.text.slice(start, this.pos);
      if (char === '\\') this.pos++;
    }
  }

  /** A number (of any size), true, false, null, NaN, Infinity or -Infinity. */
  private scalarToken(): void {
    const rest = this.text.slice(this.pos, this.pos + 32);
    const literal = /^(?:true|false|null|NaN|-?Infinity)(?![\w.])/.exec(rest);
    if (literal !== null) {
      this.pos += literal[0].length;
      return;
    }
    const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    number.lastIndex = this.pos;
    const match = number.exec(this.text);
    if (match === null) throw this.error('expected a value');
    this.pos += match[0].length;
    if (/[\w.]/.test(this.text[this.pos] ?? '')) throw this.error('malformed number');
  }

  private error(problem: string): PythonJsonSyntaxError {
    const found = this.text[this.pos];
    const at = found === undefined ? 'the end' : JSON.stringify(found);
    return new PythonJsonSyntaxError(`${problem} at column ${this.pos + 1}, found ${at}`, this.pos);
  }
}
