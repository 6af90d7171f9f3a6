/**
 * What a run has finished, folded from its journal: the completed keys and the failed ones with their
 * errors. A checkpoint is this state plus the journal offset it covers; resuming folds the journal lines
 * after that offset onto it. Correct records are only counted (for a resumed run's progress): a set of correct keys
 * would be as long as the run, since right and wrong answers interleave, and make every checkpoint grow with it.
 * Folding is last-wins per key, so a record journaled twice (a retried failure) counts once, as its latest result.
 */
import { recordKey, type GenerationResult } from '../../records.js';
import { RecordKeySet } from './record-key-set.js';

/** A record that failed after its retries, as `retry-failed` and the metadata's `failed_records` list it. */
export interface FailedRecord {
  task_id: number;
  sample_index: number;
  error: string;
  attempts: number;
}

/** The fields of a journaled result that the run's state depends on. */
export type JournalOutcome = Pick<GenerationResult, 'task_id' | 'sample_index' | 'status' | 'is_correct' | 'error' | 'attempts'>;

/** Checks that a decoded journal entry has the fields the state needs; null if not (a foreign or damaged entry). */
export function asJournalOutcome(entry: unknown): JournalOutcome | null {
  if (entry === null || typeof entry !== 'object') return null;
  const candidate = entry as Partial<Record<keyof JournalOutcome, unknown>>;
  const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
  if (!isCount(candidate.task_id) || !isCount(candidate.sample_index)) return null;
  if (candidate.status !== 'ok' && candidate.status !== 'failed') return null;
  return entry as JournalOutcome;
}

export class RunProgress {
  /** Keys with a final result, ok or failed: what a resume skips. */
  readonly completed: RecordKeySet;
  /** Keys whose latest result failed, by `recordKey`. */
  readonly failed: Map<string, FailedRecord>;
  /** Keys whose latest result is judged correct (a count: the keys themselves would be as long as the run). */
  correct: number;
  /** Journal bytes folded into this state. */
  journalOffset: number;
  /** Journal lines folded into this state (a key journaled twice counts twice). */
  journalLines: number;

  constructor(
    init: {
      completed?: RecordKeySet;
      failed?: Iterable<FailedRecord>;
      correct?: number;
      journalOffset?: number;
      journalLines?: number;
    } = {},
  ) {
    this.completed = init.completed ?? new RecordKeySet();
    this.failed = new Map([...(init.failed ?? [])].map((record) => [recordKey(record.task_id, record.sample_index), record]));
    this.correct = init.correct ?? 0;
    this.journalOffset = init.journalOffset ?? 0;
    this.journalLines = init.journalLines ?? 0;
  }

  /** Folds one journaled result, ending at `endOffset` in the journal. */
  apply(outcome: JournalOutcome, endOffset: number): void {
    const { task_id: taskId, sample_index: sampleIndex } = outcome;
    const key = recordKey(taskId, sampleIndex);
    // Every command skips finished records, so a key is journaled again only to redo a failure: a correct result
    // never replaces another ok one, and the count needs no memory of which keys were correct.
    const replacesOk = this.completed.has(taskId, sampleIndex) && !this.failed.has(key);
    if (outcome.status === 'ok' && outcome.is_correct === true && !replacesOk) this.correct += 1;
    this.completed.add(taskId, sampleIndex);
    if (outcome.status === 'failed') {
      this.failed.set(key, {
        task_id: taskId,
        sample_index: sampleIndex,
        error: outcome.error ?? 'unknown error',
        attempts: Number.isSafeInteger(outcome.attempts) ? outcome.attempts : 0,
      });
    } else {
      this.failed.delete(key);
    }
    this.journalOffset = Math.max(this.journalOffset, endOffset);
    this.journalLines += 1;
  }

  get done(): number {
    return this.completed.size;
  }

  /** Failed records in (task_id, sample_index) order. */
  failedRecords(): FailedRecord[] {
    return [...this.failed.values()].sort((a, b) => a.task_id - b.task_id || a.sample_index - b.sample_index);
  }
}
