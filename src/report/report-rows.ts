/**
 * The rows a report reads, from any dataset file: this tool's (every column) or the original Python pipeline's
 * (`task_id, prompt, generated_code, passed_tests, total_tests, test_errors, is_correct, generation_time`).
 * Columns the report can do without are read when present; which ones were absent is kept, so the report can
 * say what it cannot show.
 */
import { InputError } from '../errors.js';
import { recordKey, type RecordStatus, type Split, type TestResult } from '../records.js';
import { readDatasetTable, type DatasetTable } from './dataset-table.js';
import { readRunFigures, type RunFigures } from './run-figures.js';

export interface ReportRow {
  task_id: number;
  /** 0 where the dataset has no `sample_index` (one sample per task). */
  sample_index: number;
  split: Split | null;
  model: string | null;
  /** `ok` where the dataset has no `status`: such datasets cannot tell a failed record from a wrong one. */
  status: RecordStatus;
  is_correct: boolean;
  /** null where the dataset has no per-test verdicts. */
  test_results: TestResult[] | null;
  generation_time: number;
  /** 0 where the dataset has no `execution_time`. */
  execution_time: number;
  attempts: number;
  error: string | null;
  /** true/false once a flaky check ran on the record; null or absent where none did. */
  flaky?: boolean | null;
  /** Whether the record has assert-tests (an MBPP+ record may not); absent where the dataset has no `test_list`. */
  has_asserts?: boolean;
  /** MBPP+ labels; null or absent for a record without MBPP+ inputs, a failed one, or a dataset without them. */
  is_correct_base?: boolean | null;
  is_correct_plus?: boolean | null;
}

/** Columns without which the report still works, but shows less. */
export const OPTIONAL_COLUMNS = ['sample_index', 'split', 'model', 'status', 'test_results', 'execution_time'] as const;
export type OptionalColumn = (typeof OPTIONAL_COLUMNS)[number];

/** Columns every dataset has, the original pipeline's included. */
const REQUIRED_COLUMNS = ['task_id', 'is_correct', 'generation_time'] as const;

export interface ReportDataset {
  source: string;
  rows: ReportRow[];
  /** Optional columns the file lacks. */
  absent: OptionalColumn[];
  /** The run's throughput, from the metadata beside the file; null without it. */
  run?: RunFigures | null;
}

const SPLITS: ReadonlySet<string> = new Set<Split>(['prompt', 'test', 'validation', 'train']);
const STATUSES: ReadonlySet<string> = new Set<RecordStatus>(['ok', 'failed']);

/**
 * Every column the report reads (`test_list` only to tell a record without asserts): the code, prompts and problem
 * texts of a large dataset are never loaded.
 */
const READ_COLUMNS = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS, 'attempts', 'error', 'flaky', 'test_list', 'is_correct_base', 'is_correct_plus'];

/** Reads a dataset file for the report; anything it cannot use is an `InputError` naming the file, row and column. */
export async function readReportDataset(file: string): Promise<ReportDataset> {
  const [table, run] = await Promise.all([readDatasetTable(file, READ_COLUMNS), readRunFigures(file)]);
  return { ...toReportDataset(table), run };
}

export function toReportDataset(table: DatasetTable): ReportDataset {
  if (table.rowCount === 0) throw new InputError(`${table.file}: the dataset has no records`);
  const missing = REQUIRED_COLUMNS.filter((column) => !table.columns.has(column));
  if (missing.length > 0) {
    throw new InputError(
      `${table.file}: no column ${missing.map((c) => `"${c}"`).join(', ')} (a dataset has at least ${REQUIRED_COLUMNS.join(', ')})`,
    );
  }
  const has = (column: string) => table.columns.has(column);
  const cells = new CellReader(table);
  const rows: ReportRow[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < table.rowCount; i++) {
    const row: ReportRow = {
      task_id: cells.integer('task_id', i),
      sample_index: has('sample_index') ? cells.integer('sample_index', i) : 0,
      split: has('split') ? cells.oneOf('split', i, SPLITS) as Split : null,
      model: has('model') ? cells.string('model', i) : null,
      status: has('status') ? cells.oneOf('status', i, STATUSES) as RecordStatus : 'ok',
      is_correct: cells.boolean('is_correct', i),
      test_results: has('test_results') ? cells.testResults('test_results', i) : null,
      generation_time: cells.number('generation_time', i),
      execution_time: has('execution_time') ? cells.number('execution_time', i) : 0,
      attempts: has('attempts') ? cells.integer('attempts', i) : 1,
      error: has('error') ? cells.nullable('error', i, () => cells.string('error', i)) : null,
      flaky: has('flaky') ? cells.nullable('flaky', i, () => cells.boolean('flaky', i)) : null,
      ...(has('test_list') ? { has_asserts: cells.listLength('test_list', i) > 0 } : {}),
      ...(has('is_correct_base') ? { is_correct_base: cells.nullable('is_correct_base', i, () => cells.boolean('is_correct_base', i)) } : {}),
      ...(has('is_correct_plus') ? { is_correct_plus: cells.nullable('is_correct_plus', i, () => cells.boolean('is_correct_plus', i)) } : {}),
    };
    const key = recordKey(row.task_id, row.sample_index);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      const why = has('sample_index') ? '' : ' (there is no sample_index column, so every row is taken as sample 0)';
      throw new InputError(`${table.file}: rows ${earlier} and ${i} are both task ${row.task_id} sample ${row.sample_index}${why}`);
    }
    seen.set(key, i);
    rows.push(row);
  }
  return { source: table.file, rows, absent: OPTIONAL_COLUMNS.filter((column) => !has(column)) };
}

/** Typed cells, with errors that name the file, row and column. */
class CellReader {
  constructor(private readonly table: DatasetTable) {}

  number(column: string, row: number): number {
    const value = this.present(column, row);
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    throw this.mistyped(column, row, 'a finite number', value);
  }

  integer(column: string, row: number): number {
    const value = this.present(column, row);
    if (Number.isSafeInteger(value)) return value as number;
    throw this.mistyped(column, row, 'an integer', value);
  }

  string(column: string, row: number): string {
    const value = this.present(column, row);
    if (typeof value === 'string') return value;
    throw this.mistyped(column, row, 'a string', value);
  }

  oneOf(column: string, row: number, allowed: ReadonlySet<string>): string {
    const value = this.string(column, row);
    if (allowed.has(value)) return value;
    throw this.mistyped(column, row, `one of ${[...allowed].join(', ')}`, value);
  }

  boolean(column: string, row: number): boolean {
    const value = this.present(column, row);
    if (typeof value === 'boolean') return value;
    throw this.mistyped(column, row, 'a boolean', value);
  }

  listLength(column: string, row: number): number {
    const value = this.present(column, row);
    if (Array.isArray(value)) return value.length;
    throw this.mistyped(column, row, 'a list', value);
  }

  testResults(column: string, row: number): TestResult[] {
    const value = this.present(column, row);
    const optionalString = (v: unknown) => v === null || v === undefined || typeof v === 'string';
    if (!Array.isArray(value)) throw this.mistyped(column, row, 'a list of {passed, error_type, message}', value);
    return value.map((item: unknown) => {
      const { passed, error_type, message } = (item ?? {}) as Record<string, unknown>;
      if (typeof passed !== 'boolean' || !optionalString(error_type) || !optionalString(message)) {
        throw this.mistyped(column, row, 'a list of {passed, error_type, message}', JSON.stringify(item));
      }
      return { passed, error_type: (error_type as string | undefined) ?? null, message: (message as string | undefined) ?? null };
    });
  }

  /** null for a null cell, else what `read` makes of it. */
  nullable<T>(column: string, row: number, read: () => T): T | null {
    return this.table.cell(column, row) === null ? null : read();
  }

  private present(column: string, row: number): unknown {
    const value = this.table.cell(column, row);
    if (value === undefined) throw new InputError(`${this.table.file}: row ${row} has no "${column}"`);
    return value;
  }

  private mistyped(column: string, row: number, expected: string, value: unknown): InputError {
    return new InputError(`${this.table.file}: row ${row}, column "${column}": expected ${expected}, got ${String(value)}`);
  }
}
