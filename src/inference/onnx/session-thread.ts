import { Worker } from 'node:worker_threads';
import { TransientError } from '../backend.js';
import type { SequenceResult } from './batch-generation.js';
import {
  rebuildError,
  type FromWorker,
  type ToWorker,
  type WorkerOutcome,
  type WorkerSequence,
  type WorkerStart,
} from './worker-protocol.js';

export type ThreadOutcome = { ok: true; result: SequenceResult } | { ok: false; error: unknown };

/**
 * Starts session-worker beside this module: the compiled .js in dist/, or the .ts in src/ when running under tsx.
 * A worker does not inherit tsx's loader hooks on Node 20 (not even with `execArgv: ['--import', 'tsx']`: the
 * entry module is resolved before they register), so the .ts entry is reached through a small bootstrap that
 * registers tsx in the worker first.
 */
function spawn(start: WorkerStart): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const entry = new URL('./session-worker.ts', here).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(bootstrap, { eval: true, workerData: start, execArgv: [] });
  }
  return new Worker(new URL('./session-worker.js', here), { workerData: start, execArgv: [] });
}

interface Job {
  onSettled: (index: number, outcome: ThreadOutcome) => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The main thread's handle on one session worker: sends it whole batches and maintenance jobs, one at a time
 * (the session's MicroBatcher sees to that), and forwards aborts. The worker is unref'd while no job runs, so an
 * idle session never keeps the process alive; `close` terminates it.
 */
export class SessionThread {
  private readonly jobs = new Map<number, Job>();
  private nextJob = 0;
  private failure: Error | null = null;
  private exited = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (message: FromWorker) => this.receive(message));
    // A worker that dies takes its batch with it; the session starts a new one for the next batch, so a retry may work.
    worker.on('error', (error) => this.fail(new TransientError(`onnx session worker failed: ${error.message}`, undefined, { cause: error })));
    worker.on('exit', (code) => {
      this.exited = true;
      this.fail(new TransientError(`onnx session worker exited (code ${code})`));
    });
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
  }

  /** The worker's thread id (0 once it has exited). */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** False once the worker has failed or exited: it takes no more jobs. */
  get alive(): boolean {
    return this.failure === null;
  }

  /** Starts the worker and waits until its graph and tokenizer are open; their errors are rethrown here as-is. */
  static open(start: WorkerStart): Promise<SessionThread> {
    const worker = spawn(start);
    return new Promise<SessionThread>((resolve, reject) => {
      const onMessage = (message: FromWorker): void => {
        if (message.kind !== 'ready' && message.kind !== 'failed') return;
        cleanup();
        if (message.kind === 'ready') {
          resolve(new SessionThread(worker));
        } else {
          reject(rebuildError(message.error));
          void worker.terminate();
        }
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(error);
        void worker.terminate();
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new Error(`onnx session worker exited (code ${code}) before it was ready`));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
  }

  /**
   * Runs one batch in the worker. `onSettled` hears each row as it finishes; an abort of a row's signal settles it
   * at once with the signal's reason and tells the worker to drop that row before its next step.
   */
  generate(
    sequences: readonly { prompt: string; seed: number; signal?: AbortSignal }[],
    onSettled: (index: number, outcome: ThreadOutcome) => void,
  ): Promise<void> {
    const settled = new Set<number>();
    const settle = (index: number, outcome: ThreadOutcome): void => {
      if (settled.has(index)) return;
      settled.add(index);
      onSettled(index, outcome);
    };
    const listeners: (() => void)[] = [];
    const wire: WorkerSequence[] = sequences.map((s, index) => {
      const signal = s.signal;
      if (signal?.aborted) settle(index, { ok: false, error: signal.reason });
      return { prompt: s.prompt, seed: s.seed, aborted: signal?.aborted ?? false };
    });
    return this.call((job) => {
      sequences.forEach((s, index) => {
        const signal = s.signal;
        if (signal === undefined || signal.aborted) return;
        const onAbort = (): void => {
          settle(index, { ok: false, error: signal.reason });
          if (this.jobs.has(job)) this.worker.postMessage({ kind: 'abort', job, index } satisfies ToWorker);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        listeners.push(() => signal.removeEventListener('abort', onAbort));
      });
      return { kind: 'generate', job, sequences: wire };
    }, settle).finally(() => {
      for (const remove of listeners) remove();
    });
  }

  /** Releases the graph and opens it again (the memory cleanup between batches). */
  recycle(): Promise<void> {
    return this.call((job) => ({ kind: 'recycle', job }));
  }

  /** Releases the graph, then ends the worker; safe to call after the worker died. */
  async close(): Promise<void> {
    if (this.failure === null) {
      try {
        await this.call((job) => ({ kind: 'close', job }));
      } catch {
        // terminating below is all that is left to do
      }
    }
    if (!this.exited) await this.worker.terminate();
  }

  private call(message: (job: number) => ToWorker, onSettled: Job['onSettled'] = () => {}): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const job = this.nextJob++;
    return new Promise<void>((resolve, reject) => {
      this.jobs.set(job, { onSettled, resolve, reject });
      this.worker.ref();
      this.worker.postMessage(message(job));
    });
  }

  private receive(message: FromWorker): void {
    if (message.kind !== 'settled' && message.kind !== 'done') return;
    const job = this.jobs.get(message.job);
    if (job === undefined) return;
    if (message.kind === 'settled') {
      job.onSettled(message.index, toOutcome(message.outcome));
      return;
    }
    this.jobs.delete(message.job);
    if (this.jobs.size === 0) this.worker.unref();
    if (message.error === undefined) job.resolve();
    else job.reject(rebuildError(message.error));
  }

  private fail(error: Error): void {
    if (this.failure === null) this.failure = error;
    for (const job of this.jobs.values()) job.reject(this.failure);
    this.jobs.clear();
  }
}

function toOutcome(outcome: WorkerOutcome): ThreadOutcome {
  return outcome.ok ? outcome : { ok: false, error: rebuildError(outcome.error) };
}
