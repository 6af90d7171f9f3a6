/**
 * The MBPP source: loads the google-research JSONL or the Hugging Face Parquet layout of the same data, validates
 * every record up front (so a bad line fails the run before anything is written), selects a split and an inclusive
 * index range as the original pipeline did, and emits the selection as an Observable.
 */
import { from, type Observable } from 'rxjs';
import { InputError } from '../errors.js';
import type { MbppRecord, SourcedRecord, Split } from '../records.js';
import { fieldError, hasField, requireInteger, requireString, requireStringList } from './row-fields.js';
import { readTableFile, rowLocation, type LocatedRow, type TableFormat } from './table-rows.js';

export interface LoadedMbpp {
  /** In file order; `selectRecords` orders by task_id. */
  records: MbppRecord[];
  /** Identifies the data for the run identity. */
  sha256: string;
  format: TableFormat;
}

/** Task-id ranges of the splits, as the dataset defines them. */
export const SPLIT_TASK_IDS: Readonly<Record<Split, readonly [first: number, last: number]>> = {
  prompt: [1, 10],
  test: [11, 510],
  validation: [511, 600],
  train: [601, 974],
};

export type SplitChoice = Split | 'all';
export const SPLIT_CHOICES: readonly SplitChoice[] = ['all', 'prompt', 'test', 'validation', 'train'];

/** How many problems `--test-run` takes from the start of the selection. */
export const TEST_RUN_SIZE = 10;

export const LAST_TASK_ID = SPLIT_TASK_IDS.train[1];

/** `flag` names the file in errors: `--dataset`, or `--original-dataset` for the MBPP file joined to MBPP+. */
export async function loadMbpp(path: string, flag = '--dataset'): Promise<LoadedMbpp> {
  const table = await readTableFile(path, flag);
  if (table.rows.length === 0) throw new InputError(`${flag} ${path}: the file has no records`);
  return { records: recordsOfRows(table.rows, toMbppRecord), sha256: table.sha256, format: table.format };
}

/** Each row as a record, in file order; a task_id seen before is an error naming both rows. */
export function recordsOfRows<Row extends LocatedRow>(rows: readonly Row[], toRecord: (row: Row) => MbppRecord): MbppRecord[] {
  const firstSeen = new Map<number, LocatedRow>();
  return rows.map((row) => {
    const record = toRecord(row);
    const earlier = firstSeen.get(record.task_id);
    if (earlier !== undefined) {
      const first = earlier.file === row.file ? earlier.position : rowLocation(earlier);
      throw fieldError(row, 'task_id', `duplicates task_id ${record.task_id} (first at ${first})`);
    }
    firstSeen.set(record.task_id, row);
    return record;
  });
}

/** A task_id outside MBPP's is an error naming the row. */
export function checkTaskId(row: LocatedRow, taskId: number): number {
  if (taskId < 1 || taskId > LAST_TASK_ID) {
    throw fieldError(row, 'task_id', `is ${taskId}, outside MBPP's task_ids 1–${LAST_TASK_ID}`);
  }
  return taskId;
}

function toMbppRecord(row: LocatedRow): MbppRecord {
  const taskId = checkTaskId(row, requireInteger(row, 'task_id'));
  const testList = requireStringList(row, 'test_list');
  if (testList.length === 0) throw fieldError(row, 'test_list', 'is empty');
  return {
    task_id: taskId,
    text: requireString(row, 'text'),
    code: requireString(row, 'code'),
    test_setup_code: requireString(row, 'test_setup_code'),
    test_list: testList,
    // Optional: some copies of the data drop it; when present it must be well-typed.
    challenge_test_list: hasField(row, 'challenge_test_list') ? requireStringList(row, 'challenge_test_list') : [],
  };
}

export function splitOfTaskId(taskId: number): Split {
  for (const split of Object.keys(SPLIT_TASK_IDS) as Split[]) {
    const [first, last] = SPLIT_TASK_IDS[split];
    if (taskId >= first && taskId <= last) return split;
  }
  throw new RangeError(`task_id ${taskId} is in no MBPP split`);
}

export interface Selection {
  /** `all` (default) or one split; checked here because it comes straight from `--split`. */
  split?: string;
  /** Inclusive index into the split's records in task_id order (`--start`, default 0). */
  start?: number;
  /** Inclusive index (`--end`, default the last). */
  end?: number;
  /** Keep only the first `TEST_RUN_SIZE` of the range (`--test-run`). */
  testRun?: boolean;
}

/** The records a run works on, in task_id order, each tagged with its split. */
export function selectRecords(records: readonly MbppRecord[], selection: Selection = {}): SourcedRecord[] {
  const split = parseSplit(selection.split ?? 'all');
  const inSplit = records
    .map((record) => ({ ...record, split: splitOfTaskId(record.task_id) }))
    .filter((record) => split === 'all' || record.split === split)
    .sort((a, b) => a.task_id - b.task_id);
  if (inSplit.length === 0) {
    const ids = split === 'all' ? '' : ` (task_ids ${SPLIT_TASK_IDS[split].join('–')})`;
    throw new InputError(`--split ${split}: the dataset has no problems in this split${ids}`);
  }
  const last = inSplit.length - 1;
  const start = checkIndex('--start', selection.start ?? 0, split, last);
  const end = checkIndex('--end', selection.end ?? last, split, last);
  if (start > end) throw new InputError(`--start ${start} is after --end ${end} (both are inclusive indices)`);
  const range = inSplit.slice(start, end + 1);
  return selection.testRun ? range.slice(0, TEST_RUN_SIZE) : range;
}

function parseSplit(value: string): SplitChoice {
  const choice = SPLIT_CHOICES.find((name) => name === value);
  if (choice === undefined) {
    throw new InputError(`--split ${JSON.stringify(value)} is not a split; choose one of ${SPLIT_CHOICES.join(', ')}`);
  }
  return choice;
}

function checkIndex(flag: string, index: number, split: SplitChoice, last: number): number {
  if (!Number.isSafeInteger(index) || index < 0 || index > last) {
    throw new InputError(
      `${flag} ${index} is outside split "${split}" (valid indices 0–${last}, inclusive, ${last + 1} problems)`,
    );
  }
  return index;
}

/** The selection as a cold stream: each subscriber gets every record, in order. */
export function mbppSource(selected: readonly SourcedRecord[]): Observable<SourcedRecord> {
  return from(selected);
}
