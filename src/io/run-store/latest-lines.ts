/**
 * Where the latest line of each record lies in a journal. A record journaled twice (a failure that `retry-failed`
 * redid) counts as its latest line, as everywhere in the run store. Only numbers are kept per record, so the index
 * of a 200,000-record run is a few MiB, not the rows.
 */
import { recordKey } from '../../records.js';
import type { JournalReader, LineSpan } from './journal-reader.js';
import { asJournalOutcome } from './run-progress.js';

export class LatestLines {
  private readonly slots = new Map<string, number>();
  private readonly taskIds: number[] = [];
  private readonly sampleIndices: number[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Records with a line. */
  get size(): number {
    return this.taskIds.length;
  }

  /** Notes a line of a record, read in journal order; returns whether it replaces an earlier line of that record. */
  add(taskId: number, sampleIndex: number, span: LineSpan): boolean {
    const key = recordKey(taskId, sampleIndex);
    const slot = this.slots.get(key);
    if (slot !== undefined) {
      this.starts[slot] = span.start;
      this.ends[slot] = span.end;
      return true;
    }
    this.slots.set(key, this.taskIds.length);
    this.taskIds.push(taskId);
    this.sampleIndices.push(sampleIndex);
    this.starts.push(span.start);
    this.ends.push(span.end);
    return false;
  }

  /** Where the record's latest line starts; undefined for a record with no line. */
  latestStart(key: string): number | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.starts[slot];
  }

  /** The latest lines, in (task_id, sample_index) order: the order of the final dataset. */
  inKeyOrder(): LineSpan[] {
    const order = this.taskIds.map((_, slot) => slot);
    order.sort((a, b) => this.taskIds[a]! - this.taskIds[b]! || this.sampleIndices[a]! - this.sampleIndices[b]!);
    return order.map((slot) => ({ start: this.starts[slot]!, end: this.ends[slot]! }));
  }
}

/**
 * Indexes the result lines of [from, to) of a journal; lines that are not results (foreign, damaged) are left out.
 * `onRepeat` hears of each record seen a second time (or more), by `recordKey`.
 */
export async function indexLatestLines(
  reader: JournalReader,
  from: number,
  to: number,
  onRepeat?: (key: string) => void,
): Promise<LatestLines> {
  const latest = new LatestLines();
  for await (const entries of reader.entries(from, to)) {
    for (const { entry, start, end } of entries) {
      const outcome = asJournalOutcome(entry);
      if (outcome && latest.add(outcome.task_id, outcome.sample_index, { start, end })) onRepeat?.(recordKey(outcome.task_id, outcome.sample_index));
    }
  }
  return latest;
}
