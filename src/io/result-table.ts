/**
 * The dataset's Arrow schema and the conversion between `GenerationResult` rows and Arrow tables, both ways.
 * Column names and order follow `GenerationResult`; nullable only where the type admits null, so readers
 * (pandas, DuckDB) see REQUIRED columns where a value is always present.
 */
import {
  Bool,
  Field,
  Float64,
  Int32,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Uint32,
  Utf8,
  vectorFromArray,
  type DataType,
} from 'apache-arrow';
import { InputError } from '../errors.js';
import type { GenerationResult, RecordStatus, SeedOutcome, Split, TestResult } from '../records.js';

const testResultType = new Struct([
  new Field('passed', new Bool(), false),
  new Field('error_type', new Utf8(), true),
  new Field('message', new Utf8(), true),
]);

const stringList = () => new List(new Field('item', new Utf8(), false));
const testResultList = () => new List(new Field('item', testResultType, false));
const seedOutcomeList = () =>
  new List(
    new Field(
      'item',
      new Struct([
        new Field('hash_seed', new Uint32(), false),
        new Field('passed_tests', new Int32(), false),
        new Field('is_correct', new Bool(), false),
      ]),
      false,
    ),
  );

/** One column per `GenerationResult` field, in declaration order; the key set is checked against the type. */
const columns: { [K in keyof GenerationResult]-?: { type: DataType; nullable: boolean } } = {
  task_id: { type: new Int32(), nullable: false },
  sample_index: { type: new Int32(), nullable: false },
  split: { type: new Utf8(), nullable: false },
  text: { type: new Utf8(), nullable: false },
  reference_code: { type: new Utf8(), nullable: false },
  test_list: { type: stringList(), nullable: false },
  test_setup_code: { type: new Utf8(), nullable: false },
  prompt: { type: new Utf8(), nullable: false },
  model: { type: new Utf8(), nullable: false },
  backend: { type: new Utf8(), nullable: false },
  raw_completion: { type: new Utf8(), nullable: false },
  generated_code: { type: new Utf8(), nullable: false },
  passed_tests: { type: new Int32(), nullable: false },
  total_tests: { type: new Int32(), nullable: false },
  test_errors: { type: stringList(), nullable: false },
  test_results: { type: testResultList(), nullable: false },
  challenge_test_results: { type: testResultList(), nullable: true },
  is_correct: { type: new Bool(), nullable: false },
  flaky: { type: new Bool(), nullable: true },
  flaky_check: { type: seedOutcomeList(), nullable: true },
  is_correct_base: { type: new Bool(), nullable: true },
  is_correct_plus: { type: new Bool(), nullable: true },
  base_passed: { type: new Int32(), nullable: true },
  base_total: { type: new Int32(), nullable: true },
  plus_passed: { type: new Int32(), nullable: true },
  plus_total: { type: new Int32(), nullable: true },
  base_test_results: { type: testResultList(), nullable: true },
  plus_test_results: { type: testResultList(), nullable: true },
  base_first_failure: { type: new Utf8(), nullable: true },
  plus_first_failure: { type: new Utf8(), nullable: true },
  generation_time: { type: new Float64(), nullable: false },
  execution_time: { type: new Float64(), nullable: false },
  prompt_tokens: { type: new Int32(), nullable: true },
  completion_tokens: { type: new Int32(), nullable: true },
  finish_reason: { type: new Utf8(), nullable: true },
  session_id: { type: new Utf8(), nullable: true },
  attempts: { type: new Int32(), nullable: false },
  status: { type: new Utf8(), nullable: false },
  error: { type: new Utf8(), nullable: true },
};

/** The dataset columns, in `GenerationResult` order. */
export const resultColumnNames = Object.keys(columns) as (keyof GenerationResult)[];

export const generationResultSchema = new Schema(
  resultColumnNames.map((name) => new Field(name, columns[name].type, columns[name].nullable)),
);

/** A row with exactly the dataset's columns, in schema order (also the JSON twin's key order). */
export function toDatasetRow(row: GenerationResult): GenerationResult {
  // `?? null`: rows journaled before a column existed lack it.
  return Object.fromEntries(resultColumnNames.map((name) => [name, row[name] ?? null])) as unknown as GenerationResult;
}

/** Rows -> Arrow table with `generationResultSchema`. */
export function resultsToTable(rows: readonly GenerationResult[]): Table {
  const struct = vectorFromArray(rows.map(toDatasetRow), new Struct(generationResultSchema.fields));
  return new Table(
    generationResultSchema,
    struct.data.map((chunk) => new RecordBatch(generationResultSchema, chunk)),
  );
}

/**
 * Arrow table -> rows, for reading a dataset back. `source` (a file name) prefixes errors: a table without a
 * dataset column, or with a value of the wrong kind, is a file the user gave us that is not our dataset.
 */
export function tableToResults(table: Table, source: string): GenerationResult[] {
  const read = new ColumnReader(table, source);
  const rows: GenerationResult[] = [];
  for (let i = 0; i < table.numRows; i++) {
    rows.push({
      task_id: read.number('task_id', i),
      sample_index: read.number('sample_index', i),
      split: read.string('split', i) as Split,
      text: read.string('text', i),
      reference_code: read.string('reference_code', i),
      test_list: read.strings('test_list', i),
      test_setup_code: read.string('test_setup_code', i),
      prompt: read.string('prompt', i),
      model: read.string('model', i),
      backend: read.string('backend', i),
      raw_completion: read.string('raw_completion', i),
      generated_code: read.string('generated_code', i),
      passed_tests: read.number('passed_tests', i),
      total_tests: read.number('total_tests', i),
      test_errors: read.strings('test_errors', i),
      test_results: read.testResults('test_results', i),
      challenge_test_results: read.nullable('challenge_test_results', i, () =>
        read.testResults('challenge_test_results', i),
      ),
      is_correct: read.boolean('is_correct', i),
      flaky: read.optional('flaky', i, () => read.boolean('flaky', i)),
      flaky_check: read.optional('flaky_check', i, () => read.seedOutcomes('flaky_check', i)),
      is_correct_base: read.optional('is_correct_base', i, () => read.boolean('is_correct_base', i)),
      is_correct_plus: read.optional('is_correct_plus', i, () => read.boolean('is_correct_plus', i)),
      base_passed: read.optional('base_passed', i, () => read.number('base_passed', i)),
      base_total: read.optional('base_total', i, () => read.number('base_total', i)),
      plus_passed: read.optional('plus_passed', i, () => read.number('plus_passed', i)),
      plus_total: read.optional('plus_total', i, () => read.number('plus_total', i)),
      base_test_results: read.optional('base_test_results', i, () => read.testResults('base_test_results', i)),
      plus_test_results: read.optional('plus_test_results', i, () => read.testResults('plus_test_results', i)),
      base_first_failure: read.optional('base_first_failure', i, () => read.string('base_first_failure', i)),
      plus_first_failure: read.optional('plus_first_failure', i, () => read.string('plus_first_failure', i)),
      generation_time: read.number('generation_time', i),
      execution_time: read.number('execution_time', i),
      prompt_tokens: read.nullable('prompt_tokens', i, () => read.number('prompt_tokens', i)),
      completion_tokens: read.nullable('completion_tokens', i, () => read.number('completion_tokens', i)),
      finish_reason: read.nullable('finish_reason', i, () => read.string('finish_reason', i)),
      session_id: read.nullable('session_id', i, () => read.string('session_id', i)),
      attempts: read.number('attempts', i),
      status: read.string('status', i) as RecordStatus,
      error: read.nullable('error', i, () => read.string('error', i)),
    });
  }
  return rows;
}

/** Typed access to one table's cells, with errors that name the source, column and row. */
class ColumnReader {
  constructor(
    private readonly table: Table,
    private readonly source: string,
  ) {}

  number(column: string, row: number): number {
    const value = this.cell(column, row);
    if (typeof value === 'number') return value;
    if (typeof value === 'bigint') return Number(value);
    throw this.mistyped(column, row, 'a number', value);
  }

  string(column: string, row: number): string {
    const value = this.cell(column, row);
    if (typeof value === 'string') return value;
    throw this.mistyped(column, row, 'a string', value);
  }

  boolean(column: string, row: number): boolean {
    const value = this.cell(column, row);
    if (typeof value === 'boolean') return value;
    throw this.mistyped(column, row, 'a boolean', value);
  }

  strings(column: string, row: number): string[] {
    return this.list(column, row).map((item) => {
      if (typeof item === 'string') return item;
      throw this.mistyped(column, row, 'a list of strings', item);
    });
  }

  testResults(column: string, row: number): TestResult[] {
    return this.list(column, row).map((item) => {
      const { passed, error_type, message } = (item as { toJSON?: () => Record<string, unknown> }).toJSON?.() ?? {};
      const optionalString = (v: unknown) => v === null || typeof v === 'string';
      if (typeof passed !== 'boolean' || !optionalString(error_type) || !optionalString(message)) {
        throw this.mistyped(column, row, 'a list of {passed, error_type, message}', item);
      }
      return { passed, error_type: error_type as string | null, message: message as string | null };
    });
  }

  seedOutcomes(column: string, row: number): SeedOutcome[] {
    return this.list(column, row).map((item) => {
      const { hash_seed, passed_tests, is_correct } = (item as { toJSON?: () => Record<string, unknown> }).toJSON?.() ?? {};
      if (typeof hash_seed !== 'number' || typeof passed_tests !== 'number' || typeof is_correct !== 'boolean') {
        throw this.mistyped(column, row, 'a list of {hash_seed, passed_tests, is_correct}', item);
      }
      return { hash_seed, passed_tests, is_correct };
    });
  }

  /** Like `nullable`, for a column that datasets written before it existed lack. */
  optional<T>(column: string, row: number, read: () => T): T | null {
    return this.table.getChild(column) === null ? null : this.nullable(column, row, read);
  }

  /** `null` for a null cell, else what `read` makes of it. */
  nullable<T>(column: string, row: number, read: () => T): T | null {
    return this.cell(column, row) === null ? null : read();
  }

  private list(column: string, row: number): unknown[] {
    const value = this.cell(column, row) as { toArray?: () => ArrayLike<unknown> } | null;
    if (value === null || typeof value?.toArray !== 'function') throw this.mistyped(column, row, 'a list', value);
    return Array.from(value.toArray());
  }

  private cell(column: string, row: number): unknown {
    const vector = this.table.getChild(column);
    if (vector === null) throw new InputError(`${this.source}: no column "${column}" (not an mbpp-stream dataset?)`);
    return vector.get(row) ?? null;
  }

  private mistyped(column: string, row: number, expected: string, value: unknown): InputError {
    return new InputError(`${this.source}: row ${row}, column "${column}": expected ${expected}, got ${String(value)}`);
  }
}
