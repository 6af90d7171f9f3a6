import { defer, Observable, type Subscription } from 'rxjs';

/**
 * Keeps the suspects of a crash apart. Until each of them has been judged (or has failed before reaching the
 * sandbox), programs go into the sandbox one at a time, so if the build is killed again, the program in there is
 * the one that did it and its neighbours are not blamed. Then everything runs at full parallelism again.
 */
export class JudgeAloneGate {
  private readonly pending: Set<string>;
  private busy = false;
  private readonly waiting: Array<() => void> = [];

  /** `suspects`: `recordKey`s of the records to keep apart. */
  constructor(suspects: Iterable<string>) {
    this.pending = new Set(suspects);
  }

  /**
   * `judging` (one record's trip through the sandbox, retries included) once it is that record's turn: at once
   * when no suspect is left, else when no other program is being judged. Waiting is not judging: a per-record
   * timeout inside `judging` starts only when it runs.
   */
  inTurn<T>(key: string, judging: Observable<T>): Observable<T> {
    return defer(() => {
      if (this.pending.size === 0) return judging;
      return new Observable<T>((subscriber) => {
        let holding = false;
        let inner: Subscription | undefined;
        const start = () => {
          holding = true;
          this.busy = true;
          inner = judging.subscribe(subscriber);
        };
        if (this.busy) this.waiting.push(start);
        else start();
        return () => {
          if (!holding) {
            this.waiting.splice(this.waiting.indexOf(start), 1);
            return;
          }
          // A program cancelled while judged (timeout, stop) is aborted before the next one goes in.
          inner?.unsubscribe();
          this.busy = false;
          this.settle(key);
        };
      });
    });
  }

  /** Stops waiting for a record: it was judged, or never will be in this run (its generation failed). */
  settle(key: string): void {
    this.pending.delete(key);
    if (this.pending.size === 0) for (const start of this.waiting.splice(0)) start();
    else if (!this.busy) this.waiting.shift()?.();
  }
}
