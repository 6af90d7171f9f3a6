/**
 * Which labels a dataset carries, as its metadata's `labels` says and the report names them. `is_correct` is the
 * verdict of a record's assert-tests where it has them, else (an MBPP+ record without the original asserts) of its
 * MBPP+ base and plus inputs; `is_correct_base` and `is_correct_plus` are MBPP+'s wherever a record has MBPP+ inputs.
 */

/**
 * `asserts`: `is_correct` is the asserts', no MBPP+ labels. `mbpp+`: MBPP+ records without asserts, `is_correct` is
 * `is_correct_plus`. `asserts and mbpp+`: MBPP+ joined with the original asserts, `is_correct` is the asserts', the
 * MBPP+ labels beside it.
 */
export type DatasetLabels = 'asserts' | 'mbpp+' | 'asserts and mbpp+';

/** What one row says about the labels: whether it has asserts, and its MBPP+ plus label (null or absent: none). */
export interface RowLabels {
  hasAsserts: boolean;
  isCorrectPlus?: boolean | null;
}

/** The dataset's labels, told from its rows one at a time. */
export class DatasetLabelsTally {
  private asserts = false;
  private plus = false;

  add(row: RowLabels): void {
    if (row.hasAsserts) this.asserts = true;
    // A record without asserts is an MBPP+ one (every MBPP problem has asserts), judged or not.
    if (!row.hasAsserts || (row.isCorrectPlus ?? null) !== null) this.plus = true;
  }

  /** Whether any record has MBPP+ labels. */
  hasPlus(): boolean {
    return this.plus;
  }

  labels(): DatasetLabels {
    if (!this.plus) return 'asserts';
    return this.asserts ? 'asserts and mbpp+' : 'mbpp+';
  }
}
