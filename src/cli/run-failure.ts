/**
 * The first error that ends a run from outside its stream of records: a log line, an autosave or a judging-log note
 * that could not be written (a full disk). The stream's own errors (the journal, a checkpoint) end it by themselves;
 * these reach it through here, so every write path ends the run the same way.
 */
export class RunFailure {
  private first: unknown;
  private listener: ((error: unknown) => void) | undefined;

  /** The error that ended the run, if one did. */
  get error(): unknown {
    return this.first;
  }

  /** Records `error` if it is the first, and tells the listener. */
  report(error: unknown): void {
    if (this.first !== undefined) return;
    this.first = error;
    this.listener?.(error);
  }

  /** Hears of the failure: at once if it already happened. */
  onReport(listener: (error: unknown) => void): void {
    this.listener = listener;
    if (this.first !== undefined) listener(this.first);
  }
}
