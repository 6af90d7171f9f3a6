/**
 * A set of record keys (task_id, sample_index) stored as sorted runs of consecutive task ids per sample index.
 * MBPP task ids are dense integers, so a run's completed set stays a handful of ranges however large it grows:
 * a checkpoint's size, and the time to write one, stay flat over a run.
 */

/** Inclusive ranges [first, last] of task ids, as a checkpoint stores them. */
export type TaskRanges = Array<[number, number]>;

/** Serialized form: sample index (as a string key) -> ranges of task ids. */
export type RecordKeyRanges = Record<string, TaskRanges>;

/** Sorted, disjoint, non-adjacent inclusive integer ranges. */
class IntegerRanges {
  private readonly firsts: number[] = [];
  private readonly lasts: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Index of the first range whose first element is greater than `value`. */
  private upperBound(value: number): number {
    let low = 0;
    let high = this.firsts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.firsts[middle] as number) <= value) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  has(value: number): boolean {
    const index = this.upperBound(value) - 1;
    return index >= 0 && (this.lasts[index] as number) >= value;
  }

  add(value: number): boolean {
    const next = this.upperBound(value);
    const previous = next - 1;
    const joinsPrevious = previous >= 0 && (this.lasts[previous] as number) >= value - 1;
    if (previous >= 0 && (this.lasts[previous] as number) >= value) return false;
    const joinsNext = next < this.firsts.length && (this.firsts[next] as number) === value + 1;
    if (joinsPrevious && joinsNext) {
      this.lasts[previous] = this.lasts[next] as number;
      this.firsts.splice(next, 1);
      this.lasts.splice(next, 1);
    } else if (joinsPrevious) {
      this.lasts[previous] = value;
    } else if (joinsNext) {
      this.firsts[next] = value;
    } else {
      this.firsts.splice(next, 0, value);
      this.lasts.splice(next, 0, value);
    }
    this.count += 1;
    return true;
  }

  /** Appends a range above every range held (as when loading sorted ranges); false if it is not above them. */
  appendRange(first: number, last: number): boolean {
    const end = this.lasts.length - 1;
    if (first > last || (end >= 0 && first <= (this.lasts[end] as number))) return false;
    if (end >= 0 && first === (this.lasts[end] as number) + 1) this.lasts[end] = last;
    else {
      this.firsts.push(first);
      this.lasts.push(last);
    }
    this.count += last - first + 1;
    return true;
  }

  toRanges(): TaskRanges {
    return this.firsts.map((first, index) => [first, this.lasts[index] as number]);
  }

  *values(): IterableIterator<number> {
    for (let index = 0; index < this.firsts.length; index += 1) {
      for (let value = this.firsts[index] as number; value <= (this.lasts[index] as number); value += 1) yield value;
    }
  }
}

/** A set of (task_id, sample_index) keys. */
export class RecordKeySet {
  private readonly bySample = new Map<number, IntegerRanges>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(taskId: number, sampleIndex: number): boolean {
    return this.bySample.get(sampleIndex)?.has(taskId) ?? false;
  }

  add(taskId: number, sampleIndex: number): void {
    let ranges = this.bySample.get(sampleIndex);
    if (!ranges) {
      ranges = new IntegerRanges();
      this.bySample.set(sampleIndex, ranges);
    }
    if (ranges.add(taskId)) this.count += 1;
  }

  /** Every key, by sample index then task id. */
  *entries(): IterableIterator<{ taskId: number; sampleIndex: number }> {
    for (const sampleIndex of [...this.bySample.keys()].sort((a, b) => a - b)) {
      for (const taskId of (this.bySample.get(sampleIndex) as IntegerRanges).values()) yield { taskId, sampleIndex };
    }
  }

  toRanges(): RecordKeyRanges {
    const out: RecordKeyRanges = {};
    for (const [sampleIndex, ranges] of this.bySample) if (ranges.size > 0) out[String(sampleIndex)] = ranges.toRanges();
    return out;
  }

  /**
   * Rebuilds a set from its serialized ranges; returns null if they are malformed (a damaged checkpoint),
   * so the caller falls back to an older checkpoint or the journal.
   */
  static fromRanges(value: unknown): RecordKeySet | null {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    const set = new RecordKeySet();
    for (const [sampleKey, ranges] of Object.entries(value as Record<string, unknown>)) {
      const sampleIndex = Number(sampleKey);
      if (!Number.isSafeInteger(sampleIndex) || sampleIndex < 0 || !Array.isArray(ranges)) return null;
      if (set.bySample.has(sampleIndex)) return null;
      const sampleRanges = new IntegerRanges();
      for (const range of ranges) {
        if (!Array.isArray(range) || range.length !== 2) return null;
        const [first, last] = range as unknown[];
        if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last)) return null;
        if (!sampleRanges.appendRange(first as number, last as number)) return null;
      }
      if (sampleRanges.size > 0) {
        set.bySample.set(sampleIndex, sampleRanges);
        set.count += sampleRanges.size;
      }
    }
    return set;
  }
}
