/**
 * Existing generations to replay (`--generations FILE`, JSONL or Parquet), indexed by task and sample so the
 * replay backend can answer each prompt without a model. Three row styles are accepted:
 *   {"task_id": 11, "completion": "..."}          raw model text: code extraction applies
 *   {"task_id": "Mbpp/11", "solution": "..."}     EvalPlus samples: the code is used as is
 *   {"task_id": "Mbpp/11", "completion": "..."}   EvalPlus samples that continue the prompt: on MBPP+ data the code
 *                                                 is the MBPP+ prompt + completion, as EvalPlus judges them; on MBPP
 *                                                 data, raw model text as above
 * `sample_index` is optional; without it a task's rows are samples 0, 1, 2... in file order.
 */
import { InputError } from '../errors.js';
import { recordKey, type Completion } from '../records.js';
import { describe, fieldError, hasField, requireField, requireInteger, requireString } from './row-fields.js';
import { readTableFile, rowLocation, type LocatedRow, type TableFormat } from './table-rows.js';

/** A stored completion; `continuesPrompt` marks an EvalPlus `completion`, which EvalPlus runs after its prompt. */
export interface StoredCompletion extends Completion {
  continuesPrompt?: boolean;
}

export interface Generations {
  path: string;
  format: TableFormat;
  sha256: string;
  /** Number of (task, sample) generations in the file. */
  readonly size: number;
  /** The stored completion for one sample: `code` is set for EvalPlus `solution` rows. */
  get(taskId: number, sampleIndex: number): StoredCompletion | undefined;
  /** The task_ids the file names, ascending. */
  taskIds(): number[];
  /** The sample indices the file holds for a task, ascending (none when it has no such task). */
  sampleIndices(taskId: number): number[];
  /** The given task_ids with no generation at all, in the given order, for the run to report. */
  missingTaskIds(taskIds: Iterable<number>): number[];
}

export async function loadGenerations(path: string): Promise<Generations> {
  const table = await readTableFile(path, '--generations');
  if (table.rows.length === 0) throw new InputError(`--generations ${path}: the file has no generations`);
  const completions = new Map<string, StoredCompletion>();
  /** Where each key was first seen, for the duplicate's message; dropped with the rows after loading. */
  const firstRows = new Map<string, LocatedRow>();
  /** Per task, the index a row without `sample_index` gets: one past the highest so far. */
  const nextIndex = new Map<number, number>();
  const indicesPerTask = new Map<number, number[]>();
  for (const row of table.rows) {
    const taskId = parseTaskId(row);
    const sampleIndex = hasField(row, 'sample_index')
      ? nonNegative(row, 'sample_index')
      : (nextIndex.get(taskId) ?? 0);
    const key = recordKey(taskId, sampleIndex);
    const earlier = firstRows.get(key);
    if (earlier !== undefined) {
      const first = earlier.file === row.file ? earlier.position : rowLocation(earlier);
      throw new InputError(
        `${rowLocation(row)}: task_id ${taskId} sample_index ${sampleIndex} appears twice (first at ${first})`,
      );
    }
    completions.set(key, parseCompletion(row));
    firstRows.set(key, row);
    nextIndex.set(taskId, Math.max(nextIndex.get(taskId) ?? 0, sampleIndex + 1));
    const indices = indicesPerTask.get(taskId) ?? [];
    indices.push(sampleIndex);
    indicesPerTask.set(taskId, indices);
  }
  return {
    path,
    format: table.format,
    sha256: table.sha256,
    size: completions.size,
    get: (taskId, sampleIndex) => completions.get(recordKey(taskId, sampleIndex)),
    taskIds: () => [...indicesPerTask.keys()].sort((a, b) => a - b),
    sampleIndices: (taskId) => [...(indicesPerTask.get(taskId) ?? [])].sort((a, b) => a - b),
    missingTaskIds: (taskIds) => [...taskIds].filter((taskId) => !indicesPerTask.has(taskId)),
  };
}

const EVALPLUS_TASK_ID = /^(?:mbpp\/)?(\d+)$/i;
const EVALPLUS_ID = /^mbpp\//i;

/** An integer, or a string `"11"` / `"Mbpp/11"` (EvalPlus). */
function parseTaskId(row: LocatedRow): number {
  const value = requireField(row, 'task_id');
  const taskId =
    typeof value === 'number' ? value : typeof value === 'string' ? Number(EVALPLUS_TASK_ID.exec(value)?.[1]) : NaN;
  if (!Number.isSafeInteger(taskId) || taskId < 1) {
    throw fieldError(row, 'task_id', `must be a positive integer or "Mbpp/<n>", got ${describe(value)}`);
  }
  return taskId;
}

function nonNegative(row: LocatedRow, field: string): number {
  const value = requireInteger(row, field);
  if (value < 0) throw fieldError(row, field, `must be 0 or more, got ${value}`);
  return value;
}

/**
 * `solution` is code to run as is; `completion` is raw text to extract from, or under an EvalPlus id (`Mbpp/11`) the
 * continuation of the task's prompt. With both, the solution is run.
 */
function parseCompletion(row: LocatedRow): StoredCompletion {
  if (hasField(row, 'solution')) {
    const code = requireString(row, 'solution');
    return { text: hasField(row, 'completion') ? requireString(row, 'completion') : code, code };
  }
  if (!hasField(row, 'completion')) throw fieldError(row, 'completion', 'is missing (give "completion" or "solution")');
  const text = requireString(row, 'completion');
  const taskId = requireField(row, 'task_id');
  return typeof taskId === 'string' && EVALPLUS_ID.test(taskId) ? { text, continuesPrompt: true } : { text };
}
