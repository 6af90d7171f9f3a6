/**
 * The MBPP+ source: EvalPlus's `MbppPlus-*.jsonl`, one task a line, written by Python's `json` (so `Infinity`, `NaN`
 * and integers past 2^53 occur in the inputs). Every record is validated up front, as MBPP's are. The inputs stay
 * the text the file holds (only Python reads them faithfully); here they are only checked and counted.
 *
 * An MBPP+ record's task_id is the N of `Mbpp/N`, so splits and ranges select as for MBPP. It has no asserts: its
 * text is the statement of the MBPP+ prompt, and its code what EvalPlus runs for the ground truth (prompt +
 * canonical solution). `joinOriginal` puts the original MBPP text, code and asserts back.
 */
import { readFile, stat } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { MbppRecord, PlusTask } from '../records.js';
import { splitPlusPrompt } from '../prompt/plus-prompt.js';
import { checkTaskId, recordsOfRows, type LoadedMbpp } from './mbpp-source.js';
import { arrayElements, objectFields, parseValue, PythonJsonSyntaxError } from './python-json.js';
import { describe, fieldError, requireField, requireString } from './row-fields.js';
import { hasParquetMagic, jsonlLines, sha256Hex, type LocatedRow } from './table-rows.js';

/** EvalPlus's task id: `Mbpp/2`. */
export const MBPPPLUS_TASK_ID = /^Mbpp\/(\d+)$/;

/** The fields read as values; the inputs are kept as text, and other fields (contract, assertion) are not read. */
const VALUE_FIELDS = ['task_id', 'prompt', 'entry_point', 'canonical_solution', 'atol'] as const;
const INPUT_FIELDS = ['base_input', 'plus_input'] as const;
type InputField = (typeof INPUT_FIELDS)[number];

/** A line of the file: its value fields read, its inputs as raw text. */
interface PlusRow extends LocatedRow {
  inputs: ReadonlyMap<string, string>;
}

const PYTHON_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function loadMbppPlus(path: string, flag = '--dataset'): Promise<LoadedMbpp> {
  const bytes = await readPlusFile(path, flag);
  const rows = jsonlLines(bytes.toString('utf8')).map(({ line, number }) => plusRow(line, path, number));
  if (rows.length === 0) throw new InputError(`${flag} ${path}: the file has no records`);
  return { records: recordsOfRows(rows, toPlusRecord), sha256: sha256Hex(bytes), format: 'jsonl' };
}

async function readPlusFile(path: string, flag: string): Promise<Buffer> {
  const cannotRead = (error: NodeJS.ErrnoException): never => {
    throw new InputError(`${flag} ${path}: cannot read (${error.code ?? error.message})`);
  };
  if ((await stat(path).catch(cannotRead)).isDirectory()) {
    throw new InputError(`${flag} ${path}: is a directory; MBPP+ is read from EvalPlus's JSONL file (MbppPlus-v0.2.0.jsonl)`);
  }
  const bytes = await readFile(path).catch(cannotRead);
  if (hasParquetMagic(bytes)) {
    throw new InputError(`${flag} ${path}: is Parquet; MBPP+ is read from EvalPlus's JSONL file (MbppPlus-v0.2.0.jsonl)`);
  }
  return bytes;
}

function plusRow(line: string, file: string, number: number): PlusRow {
  const position = `line ${number}`;
  let fields: Map<string, string>;
  try {
    fields = objectFields(line);
  } catch (error) {
    if (!(error instanceof PythonJsonSyntaxError)) throw error;
    throw new InputError(`${file}, ${position}: malformed JSON (${error.message})`);
  }
  const row: PlusRow = { file, position, value: {}, inputs: fields };
  const value: Record<string, unknown> = {};
  for (const field of VALUE_FIELDS) {
    const raw = fields.get(field);
    if (raw === undefined) continue;
    try {
      value[field] = parseValue(raw);
    } catch (error) {
      if (!(error instanceof PythonJsonSyntaxError)) throw error;
      throw fieldError(row, field, `is unreadable (${error.message})`);
    }
  }
  return { ...row, value };
}

function toPlusRecord(row: PlusRow): MbppRecord {
  const evalplusId = requireField(row, 'task_id');
  const idNumber = typeof evalplusId === 'string' ? MBPPPLUS_TASK_ID.exec(evalplusId)?.[1] : undefined;
  if (typeof evalplusId !== 'string' || idNumber === undefined) {
    throw fieldError(row, 'task_id', `must be EvalPlus's "Mbpp/<n>", got ${describe(evalplusId)}`);
  }
  const taskId = checkTaskId(row, Number(idNumber));
  const entryPoint = requireString(row, 'entry_point');
  if (!PYTHON_IDENTIFIER.test(entryPoint)) throw fieldError(row, 'entry_point', `must be a Python identifier, got ${describe(entryPoint)}`);
  const prompt = requireString(row, 'prompt');
  const canonicalSolution = requireString(row, 'canonical_solution');
  const atol = requireField(row, 'atol');
  if (typeof atol !== 'number' || !Number.isFinite(atol) || atol < 0) {
    throw fieldError(row, 'atol', `must be a number 0 or more, got ${describe(atol)}`);
  }
  const [base, plus] = INPUT_FIELDS.map((field) => inputsOf(row, field)) as [Inputs, Inputs];
  const task: PlusTask = {
    evalplus_id: evalplusId,
    entry_point: entryPoint,
    prompt,
    canonical_solution: canonicalSolution,
    base_input: base.raw,
    plus_input: plus.raw,
    base_count: base.count,
    plus_count: plus.count,
    atol,
  };
  return {
    task_id: taskId,
    text: splitPlusPrompt(prompt).statement,
    // What EvalPlus runs for the ground truth: the prompt (a docstring) then the solution.
    code: prompt + canonicalSolution,
    test_setup_code: '',
    test_list: [],
    challenge_test_list: [],
    plus: task,
  };
}

interface Inputs {
  raw: string;
  count: number;
}

/** A list of argument lists, checked and counted; `{}` (as Mbpp/793's plus_input is) stands for none. */
function inputsOf(row: PlusRow, field: InputField): Inputs {
  const raw = row.inputs.get(field);
  if (raw === undefined) throw fieldError(row, field, 'is missing');
  if (/^\{\s*\}$/.test(raw)) return { raw, count: 0 };
  if (!raw.startsWith('[')) throw fieldError(row, field, `must be a list of argument lists, got ${shown(raw)}`);
  const elements = arrayElements(raw);
  elements.forEach((element, index) => {
    if (!element.startsWith('[')) throw fieldError(row, field, `input ${index} must be a list of arguments, got ${shown(element)}`);
  });
  return { raw, count: elements.length };
}

/** Raw text, cut short for a message. */
function shown(raw: string): string {
  return raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
}

/**
 * MBPP+ records with the original MBPP problems' text, code, asserts, setup and challenge tests, keeping `plus`: the
 * same run then judges the asserts as well as the inputs. A task the original lacks is an error (its asserts are
 * unknown).
 */
export function joinOriginal(plus: readonly MbppRecord[], original: LoadedMbpp, originalPath: string): MbppRecord[] {
  const byTaskId = new Map(original.records.map((record) => [record.task_id, record]));
  const lacking = plus.filter((record) => !byTaskId.has(record.task_id)).map((record) => record.plus?.evalplus_id ?? record.task_id);
  if (lacking.length > 0) {
    const listed = `${lacking.slice(0, 20).join(', ')}${lacking.length > 20 ? ', …' : ''}`;
    throw new InputError(`--original-dataset ${originalPath}: lacks ${lacking.length} of the MBPP+ tasks (${listed})`);
  }
  return plus.map((record) => {
    const { text, code, test_setup_code, test_list, challenge_test_list } = byTaskId.get(record.task_id) as MbppRecord;
    return { ...record, text, code, test_setup_code, test_list, challenge_test_list };
  });
}
