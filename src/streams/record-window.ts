import { Observable } from 'rxjs';

/**
 * The records to do, let into the pipeline at most `limit` ahead of the journal: `limit` at first, then one more
 * each time a record is done (`release`). Without it the whole to-do list enters at once, and whatever stage is
 * slowest (the sandbox, or the journal's fsync when programs are cheap) holds the rest in its queue: memory that
 * grows with the run, and queues that get slower to take from the longer they are. `limit` should be about twice
 * what the sessions and the sandbox work on at once, so neither ever waits for the window.
 */
export class RecordWindow<T> {
  private next = 0;
  private open = 0;
  private emit: (() => void) | undefined;
  private emitting = false;

  constructor(
    private readonly items: readonly T[],
    private readonly limit: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`RecordWindow: limit must be a positive integer, got ${limit}`);
  }

  /** The records, as the window lets them in; completes once the last has been let in. One subscriber. */
  readonly records$ = new Observable<T>((subscriber) => {
    this.emit = () => {
      // A record done synchronously while the loop runs frees a place the loop itself takes.
      if (this.emitting) return;
      this.emitting = true;
      try {
        while (this.next < this.items.length && this.open < this.limit && !subscriber.closed) {
          this.open += 1;
          subscriber.next(this.items[this.next++]!);
        }
      } finally {
        this.emitting = false;
      }
      if (this.next >= this.items.length) subscriber.complete();
    };
    this.emit();
    return () => {
      this.emit = undefined;
    };
  });

  /** A record let in is done (journaled): the next may come in. */
  release(): void {
    this.open = Math.max(0, this.open - 1);
    this.emit?.();
  }
}
