/** One queued request and how to answer it. */
interface Pending<Req, Res> {
  request: Req;
  resolve: (result: Res) => void;
  reject: (error: unknown) => void;
}

export type BatchOutcome<Res> = { ok: true; result: Res } | { ok: false; error: unknown };

/** Runs one batch; calls `settle(i, outcome)` for each request as soon as it is done. */
export type BatchRunner<Req, Res> = (requests: Req[], settle: (index: number, outcome: BatchOutcome<Res>) => void) => Promise<void>;

/**
 * Groups requests that arrive while a session is busy (or in the same turn of the event loop) into one batch
 * of at most `maxBatch`, runs batches one at a time, and between batches runs maintenance tasks (releasing and
 * re-creating the session) so they never race a batch.
 */
export class MicroBatcher<Req, Res> {
  private readonly queue: Pending<Req, Res>[] = [];
  private readonly maintenance: { task: () => Promise<void>; done: Pending<null, void> }[] = [];
  private running = false;
  private scheduled = false;

  constructor(
    private readonly maxBatch: number,
    private readonly runBatch: BatchRunner<Req, Res>,
  ) {}

  submit(request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  /** Runs `task` when no batch is running, before the next one starts. */
  between(task: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.maintenance.push({ task, done: { request: null, resolve, reject } });
      this.schedule();
    });
  }

  /** Rejects every queued (not yet started) request. */
  rejectQueued(error: unknown): void {
    for (const pending of this.queue.splice(0)) pending.reject(error);
  }

  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: requests that arrive in the same turn join the same batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.maintenance.shift(); job !== undefined; job = this.maintenance.shift()) {
        await job.task().then(job.done.resolve, job.done.reject);
      }
      const batch = this.queue.splice(0, this.maxBatch);
      if (batch.length > 0) {
        const settled = new Set<number>();
        const settle = (index: number, outcome: BatchOutcome<Res>): void => {
          const pending = batch[index];
          if (pending === undefined || settled.has(index)) return;
          settled.add(index);
          if (outcome.ok) pending.resolve(outcome.result);
          else pending.reject(outcome.error);
        };
        try {
          await this.runBatch(batch.map((p) => p.request), settle);
        } catch (error) {
          batch.forEach((_, i) => settle(i, { ok: false, error }));
        }
        const unsettled = new Error('batch ended without an answer for this request');
        batch.forEach((_, i) => settle(i, { ok: false, error: unsettled }));
      }
    } finally {
      this.running = false;
    }
    if (this.queue.length > 0 || this.maintenance.length > 0) this.schedule();
  }
}
