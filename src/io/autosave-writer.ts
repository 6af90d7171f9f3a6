/**
 * The `AutosaveSink` of a run: asks its autosave thread (autosave/autosave-worker.ts) for an autosave of everything
 * journaled so far and returns at once, so the records being dispatched never wait for Parquet to be encoded or
 * written. Requests that come while a save is being written are folded into one, which then covers them all.
 * What an autosave is and costs: autosave/autosave-series.ts.
 */
import type { Worker } from 'node:worker_threads';
import { InputError } from '../errors.js';
import type { AutosaveSink } from '../operators/stores.js';
import { startWorkerModule } from '../worker-module.js';
import type { AutosaveReply, AutosaveRequest } from './autosave/autosave-protocol.js';
import type { AutosaveSeriesOptions, SavedAutosave } from './autosave/autosave-series.js';

export type { SavedAutosave } from './autosave/autosave-series.js';

export interface AutosaveWriterOptions {
  autosavesDir: string;
  /** The run's id, part of every name; letters, digits, `.`, `-` and `_` only. */
  runId: string;
  /** The run's journal: its file, id and size now (every line below it complete and synced). */
  journal: () => { path: string; id: string; size: number };
  /** How many of this run's autosaves to keep (`autosave_keep_last`). Default 3. */
  keepLast?: number;
  /** `recordKey`s of the failures this attempt redoes (retry-failed): left out until redone. */
  redo?: readonly string[];
  /** Told of each autosave written. */
  onSaved?: (saved: SavedAutosave) => void;
  /** Told at once of the first autosave that fails (a full disk…); every later call rejects with it too. */
  onError?: (error: Error) => void;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class AutosaveWriter implements AutosaveSink {
  private readonly series: AutosaveSeriesOptions;
  private thread: Worker | undefined;
  private requested = 0;
  private answered = 0;
  /** The newest request not sent yet: the journal's size when it was made. */
  private pending: { seq: number; end: number } | null = null;
  /** The request the thread is writing. */
  private sending: number | null = null;
  private failure: Error | null = null;
  private waiters: Waiter[] = [];
  private latest: SavedAutosave | null = null;

  constructor(private readonly options: AutosaveWriterOptions) {
    if (!/^[A-Za-z0-9._-]+$/.test(options.runId)) {
      throw new InputError(`run id "${options.runId}": only letters, digits, ".", "-" and "_" may name autosave files`);
    }
    const keepLast = options.keepLast ?? 3;
    if (!Number.isInteger(keepLast) || keepLast < 1) {
      throw new InputError(`autosave_keep_last: expected an integer >= 1, got ${keepLast}`);
    }
    const journal = options.journal();
    this.series = {
      autosavesDir: options.autosavesDir,
      runId: options.runId,
      journal: { path: journal.path, id: journal.id },
      keepLast,
      redo: options.redo ?? [],
      attemptStart: journal.size,
    };
  }

  /** Asks for an autosave of everything journaled so far; resolves at once, or rejects if an earlier one failed. */
  autosave(_count: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.request();
    return Promise.resolve();
  }

  /** Autosaves everything journaled now and waits for it; resolves to the newest autosave (null when none has rows). */
  async flush(): Promise<SavedAutosave | null> {
    if (this.failure) throw this.failure;
    const seq = this.request();
    await new Promise<void>((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
    return this.latest;
  }

  /**
   * Stops the thread at once, dropping the save being written (its hidden temp folder is cleared by the next run):
   * once the final dataset is written an autosave is moot, and one that rewrites the whole journal (retry-failed's
   * first) would hold up the run's end for nothing. Later calls do nothing.
   */
  async close(): Promise<void> {
    this.pending = null;
    const thread = this.thread;
    this.thread = undefined;
    this.sending = null;
    await thread?.terminate();
    const abandoned = this.waiters.splice(0);
    for (const waiter of abandoned) waiter.reject(new Error('the autosave writer was closed'));
  }

  private request(): number {
    this.requested += 1;
    this.pending = { seq: this.requested, end: this.options.journal().size };
    this.send();
    return this.requested;
  }

  private send(): void {
    if (this.sending !== null || this.pending === null || this.failure) return;
    const { seq, end } = this.pending;
    this.pending = null;
    this.sending = seq;
    const thread = this.startedThread();
    thread.ref();
    thread.postMessage({ seq, end } satisfies AutosaveRequest);
  }

  private startedThread(): Worker {
    if (this.thread) return this.thread;
    const thread = startWorkerModule(import.meta.url, './autosave/autosave-worker', { workerData: this.series });
    thread.on('message', (reply: AutosaveReply) => {
      if (this.thread === thread) this.receive(reply);
    });
    thread.on('error', (error) => {
      if (this.thread === thread) this.fail(new Error(`the autosave thread stopped: ${error.message}`, { cause: error }));
    });
    thread.on('exit', (code) => {
      if (this.thread === thread && this.sending !== null) this.fail(new Error(`the autosave thread exited (code ${code}) while writing an autosave`));
    });
    this.thread = thread;
    return thread;
  }

  private receive(reply: AutosaveReply): void {
    this.sending = null;
    this.thread?.unref();
    this.answered = reply.seq;
    if (reply.kind === 'failed') {
      this.fail(Object.assign(new Error(reply.error.message), { code: reply.error.code, stack: reply.error.stack }));
      return;
    }
    if (reply.saved !== null) {
      this.latest = reply.saved;
      this.options.onSaved?.(reply.saved);
    }
    this.settle();
    this.send();
  }

  private fail(error: Error): void {
    this.sending = null;
    if (this.failure) return;
    this.failure = error;
    this.options.onError?.(error);
    this.settle();
  }

  private settle(): void {
    const due = this.waiters.filter((waiter) => this.failure !== null || waiter.seq <= this.answered);
    this.waiters = this.waiters.filter((waiter) => !due.includes(waiter));
    for (const waiter of due) {
      if (this.failure) waiter.reject(this.failure);
      else waiter.resolve();
    }
  }
}
