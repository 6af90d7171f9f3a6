import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { CodeExecutor, ExecutionOutcome, ExecutionRequest, IsolationLevel } from './executor.js';
import { BWRAP_WORK_ROOT, bwrapArgs, chooseIsolation, isRoot, type IsolationChoice } from './isolation.js';
import { resolveLimits, type SandboxLimits } from './limits.js';
import { privateAncestor, resolvePython, type PythonInstall } from './python.js';
import { workerSource } from './worker-source.js';
import { WorkerProcess, type WorkerJob } from './worker-process.js';

export interface ExecutorOptions {
  /** `--sandbox`: `auto` (default) picks bwrap when it works here, else rlimit; `none` only when asked. */
  isolation?: IsolationChoice;
  /** Programs judged in parallel, one warm worker each; default: the number of cores. */
  workers?: number;
  limits?: Partial<SandboxLimits>;
  /** Interpreter to use; default `MBPP_STREAM_PYTHON`, else `python3` on PATH (resolved once). */
  python?: string;
}

/** A `CodeExecutor` that also tells the CLI what it is, for preflight, logs and metadata. */
export interface SandboxExecutor extends CodeExecutor {
  readonly python: PythonInstall;
  readonly limits: Readonly<SandboxLimits>;
  /** Lines the CLI must print before the run (e.g. that `none` runs code unconfined). */
  readonly warnings: readonly string[];
  describe(): Record<string, unknown>;
}

/** First uid of the range judged code runs as when we are root (one uid per live worker, via flock). */
const SANDBOX_UID_BASE = 1_900_000_000;
const BWRAP_TMP_BYTES = 512 << 20;

/**
 * Starts a pool of warm Python workers at the chosen isolation level. Each worker forks a fresh,
 * limited child per program (as an unprivileged uid when we are root) that runs its tests in order,
 * with per-test CPU and wall-clock limits, and a fresh child again after one dies mid-program; so
 * one program's tests run in order while different programs run in parallel.
 */
export async function createExecutor(options: ExecutorOptions = {}): Promise<SandboxExecutor> {
  const workers = options.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) {
    throw new InputError(`--workers: must be a positive integer, got ${String(options.workers)}`);
  }
  const limits = resolveLimits(options.limits);
  const python = await resolvePython(options.python);
  const isolation = await chooseIsolation(options.isolation ?? 'auto', python);
  const warnings: string[] = [];
  if (isolation === 'none') {
    warnings.push(
      `SANDBOX DISABLED (--sandbox none): generated code runs unconfined as uid ${String(process.getuid?.())}, ` +
        'with your files, network and processes within its reach. Use it only for code you trust.',
    );
  }
  const hidden = python.roots.map(privateAncestor).find((dir) => dir !== null);
  if (isolation === 'rlimit' && isRoot() && hidden) {
    warnings.push(
      `sandbox rlimit: ${hidden} is private, so judged code (run as a sandbox uid) can import only the modules ` +
        `the worker preloads from ${python.executable}; use --sandbox bwrap or an interpreter outside ${hidden}`,
    );
  }
  const hostWorkRoot = mkdtempSync(join(tmpdir(), 'mbpp-sandbox-'));
  chmodSync(hostWorkRoot, 0o711); // the sandbox uid must reach its own dir inside, and list nothing else
  const uidLockDir = join(tmpdir(), 'mbpp-stream-uids');
  if (isRoot()) mkdirSync(uidLockDir, { recursive: true, mode: 0o700 });
  const source = workerSource();
  const workerConfig = JSON.stringify({
    limits,
    level: isolation,
    workRoot: isolation === 'bwrap' ? BWRAP_WORK_ROOT : hostWorkRoot,
    uidLockDir,
    uidBase: SANDBOX_UID_BASE,
  });
  const pythonArgs = ['-I', '-S', '-c', source, workerConfig];
  const launch = (index: number): WorkerProcess =>
    isolation === 'bwrap'
      ? new WorkerProcess(
          'bwrap',
          [...bwrapArgs({ python, asRoot: isRoot(), uidLockDir, tmpBytes: BWRAP_TMP_BYTES }), python.executable, ...pythonArgs],
          `#${index}`,
        )
      : new WorkerProcess(python.executable, pythonArgs, `#${index}`);
  const pool = new WorkerPool(launch, workers);
  try {
    await pool.start();
  } catch (error) {
    await pool.close();
    rmSync(hostWorkRoot, { recursive: true, force: true });
    throw error;
  }
  return {
    isolation,
    parallelism: workers,
    python,
    limits,
    warnings,
    describe: () => ({ isolation, workers, python: python.executable, pythonVersion: python.version, limits }),
    execute: (request) => pool.execute(request),
    close: async () => {
      await pool.close();
      rmSync(hostWorkRoot, { recursive: true, force: true });
    },
  };
}

/** Hands programs to idle workers in arrival order, replacing a worker that died. */
class WorkerPool {
  private readonly workers: WorkerProcess[] = [];
  private readonly idle: number[] = [];
  private readonly waiting: ((index: number) => void)[] = [];
  private closed = false;

  constructor(
    private readonly launch: (index: number) => WorkerProcess,
    private readonly size: number,
  ) {}

  async start(): Promise<void> {
    for (let index = 0; index < this.size; index++) this.workers.push(this.launch(index));
    await Promise.all(this.workers.map((worker) => worker.ready));
    for (let index = 0; index < this.size; index++) this.idle.push(index);
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    if (this.closed) throw new Error('sandbox executor is closed');
    request.signal?.throwIfAborted();
    const index = await this.acquire(request.signal);
    const job: WorkerJob = {
      code: request.code,
      setup: request.setupCode,
      tests: request.tests,
      challengeTests: request.challengeTests ?? null,
    };
    const started = performance.now();
    try {
      let worker = this.workers[index]!;
      if (worker.dead) {
        worker = this.workers[index] = this.launch(index);
        await worker.ready;
      }
      const reply = await worker.run(job, request.signal);
      const outcome: ExecutionOutcome = {
        testResults: reply.tests,
        executionTime: (performance.now() - started) / 1000,
      };
      if (reply.challenge) outcome.challengeResults = reply.challenge;
      return outcome;
    } finally {
      this.release(index);
    }
  }

  private acquire(signal?: AbortSignal): Promise<number> {
    const index = this.idle.shift();
    if (index !== undefined) return Promise.resolve(index);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(grant), 1);
        reject(signal!.reason);
      };
      const grant = (granted: number) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(granted);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(index: number): void {
    const next = this.waiting.shift();
    if (next) next(index);
    else this.idle.push(index);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((worker) => worker.close()));
  }
}
