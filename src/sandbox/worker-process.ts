import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestResult } from '../records.js';
import type { CallSuite } from './executor.js';

/**
 * One program for the worker: one sandboxed child runs the program once and its tests in order (then
 * the challenge tests); a test that kills that child costs only its own verdict, the rest go on in a fresh one.
 */
export interface WorkerJob {
  code: string;
  setup: string;
  tests: string[];
  challengeTests: string[] | null;
  /** Whole CPU seconds each test (then each challenge test) may use; the worker's default when absent. */
  cpuLimits?: number[];
  /** MBPP+ inputs to call the program on instead of running `tests`. */
  calls?: CallSuite;
}

export interface WorkerReply {
  tests: TestResult[];
  challenge: TestResult[] | null;
  /** CPU seconds each test (then each challenge test) took; null where it did not report (it died). */
  cpu: (number | null)[];
  /** A recording call suite's outputs (base64 pickles; null where the call did not return). */
  outputs?: (string | null)[];
}

/** What a worker says when it is ready: how judged code is kept from other processes. */
export interface WorkerReady {
  /** `sandbox-uid` (root: a uid of its own), `pid-namespace` (a user+pid namespace per program), or null. */
  containment: Containment | null;
  /** Why judged code is not contained, when it is not. */
  uncontainedReason: string | null;
}

export type Containment = 'sandbox-uid' | 'pid-namespace';

/** The worker process ended (it crashed, was killed, or judged code brought it down). */
export class WorkerExitedError extends Error {
  override readonly name = 'WorkerExitedError';
}

interface Pending {
  id: number;
  resolve(reply: WorkerReply): void;
  reject(error: Error): void;
}

/** How long a cancelled job may take to stop before the worker is killed instead. */
const CANCEL_GRACE_MS = 5_000;
const STDERR_TAIL_CHARS = 2_000;

/**
 * One warm Python worker process (inside bwrap or not) that judges one program at a time. It talks
 * JSON lines on the worker's own stdin/stdout, which judged code never sees.
 */
export class WorkerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private pending: Pending | undefined;
  private nextId = 1;
  private stderrTail = '';
  private exitError: Error | undefined;
  readonly ready: Promise<WorkerReady>;

  /**
   * `env` is the worker's whole environment (PATH and LANG are added). The worker leads a process group of its
   * own, so a terminal's Ctrl+C (sent to the whole foreground group) reaches the builder only, which then lets
   * the records in flight finish and closes the workers itself.
   */
  constructor(command: string, args: string[], label: string, env: Record<string, string> = {}) {
    this.child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...env },
      detached: true,
    });
    this.child.stdin.on('error', () => {}); // a dead worker surfaces through 'exit'
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    const lines = createInterface({ input: this.child.stdout });
    this.ready = new Promise((resolve, reject) => {
      const onReady = (line: string) => {
        lines.off('line', onReady);
        lines.on('line', (reply) => this.onReply(reply));
        if (line.startsWith('{"ready": true')) {
          const ready = JSON.parse(line) as Partial<WorkerReady>;
          resolve({ containment: ready.containment ?? null, uncontainedReason: ready.uncontainedReason ?? null });
        } else reject(new Error(`sandbox worker ${label}: unexpected first line '${line.slice(0, 200)}'`));
      };
      lines.on('line', onReady);
      this.child.on('error', (error) => reject(new Error(`sandbox worker ${label}: cannot start ${command}: ${error.message}`)));
      this.child.on('exit', (code, signal) => {
        this.exitError = new WorkerExitedError(
          `sandbox worker ${label} exited (${signal ?? `status ${String(code)}`})${this.stderrTail ? `: ${this.stderrTail.trim()}` : ''}`,
        );
        reject(this.exitError);
        this.pending?.reject(this.exitError);
        this.pending = undefined;
      });
    });
    this.ready.catch(() => {}); // observed by whoever awaits it
  }

  /** True when the process has exited; the pool replaces such a worker. */
  get dead(): boolean {
    return this.exitError !== undefined;
  }

  run(job: WorkerJob, signal?: AbortSignal): Promise<WorkerReply> {
    if (this.exitError) return Promise.reject(this.exitError);
    if (this.pending) return Promise.reject(new Error('sandbox worker is busy'));
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      let killTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        this.child.stdin.write(`${JSON.stringify({ cancel: id })}\n`);
        killTimer = setTimeout(() => this.child.kill('SIGKILL'), CANCEL_GRACE_MS);
      };
      const settle = () => {
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(killTimer);
      };
      this.pending = {
        id,
        resolve: (reply) => {
          settle();
          resolve(reply);
        },
        reject: (error) => {
          settle();
          reject(signal?.aborted ? signal.reason : error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.child.stdin.write(`${JSON.stringify({ id, ...job })}\n`);
      if (signal?.aborted) onAbort();
    });
  }

  private onReply(line: string): void {
    const pending = this.pending;
    let reply: Partial<WorkerReply> & { id?: number; cancelled?: boolean; error?: string };
    try {
      reply = JSON.parse(line);
    } catch {
      return; // not a reply (the worker writes only replies, but never trust a line blindly)
    }
    if (!pending || reply.id !== pending.id) return;
    this.pending = undefined;
    if (reply.error !== undefined) pending.reject(new Error(`sandbox worker: ${reply.error}`));
    else if (reply.cancelled || !reply.tests) pending.reject(new Error('sandbox job cancelled'));
    else {
      pending.resolve({
        tests: reply.tests,
        challenge: reply.challenge ?? null,
        cpu: reply.cpu ?? [],
        ...(reply.outputs ? { outputs: reply.outputs } : {}),
      });
    }
  }

  /** Ends the worker: closing stdin makes it stop its current test and exit; SIGKILL if it lingers. */
  async close(): Promise<void> {
    if (this.exitError) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), CANCEL_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}
