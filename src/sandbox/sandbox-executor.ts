import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { CodeExecutor, ExecutionOutcome, ExecutionRequest, IsolationLevel } from './executor.js';
import type { TestResult } from '../records.js';
import { BWRAP_WORK_ROOT, chooseIsolation, isRoot, type IsolationChoice } from './isolation.js';
import { ALLOW_UNCONTAINED_FLAG, containmentRefusal, probeJudgeEnvironment, type JudgeEnvironment } from './judge-environment.js';
import { resolveLimits, type SandboxLimits } from './limits.js';
import { privateAncestor, resolvePython, type PythonInstall } from './python.js';
import { workerLaunch } from './worker-launch.js';
import { WorkerExitedError, WorkerProcess, type WorkerJob, type WorkerReply } from './worker-process.js';

export interface ExecutorOptions {
  /** `--sandbox`: `auto` (default) picks bwrap when it works here, else rlimit; `none` only when asked. */
  isolation?: IsolationChoice;
  /** Programs judged in parallel, one warm worker each; default: the number of cores. */
  workers?: number;
  limits?: Partial<SandboxLimits>;
  /** Interpreter to use; default `MBPP_STREAM_PYTHON`, else `python3` on PATH (resolved once). */
  python?: string;
  /** String-hash seed judged code runs with (`--hash-seed`, default 0); a request may ask for another. */
  hashSeed?: number;
  /** Run even where judged code could reach the user's other processes (not root, no user namespaces). */
  allowUncontained?: boolean;
}

/** A `CodeExecutor` that also tells the CLI what it is, for preflight, logs and metadata. */
export interface SandboxExecutor extends CodeExecutor {
  readonly python: PythonInstall;
  readonly limits: Readonly<SandboxLimits>;
  readonly hashSeed: number;
  readonly judge: JudgeEnvironment;
  /** Lines the CLI must print before the run (e.g. that `none` runs code unconfined). */
  readonly warnings: readonly string[];
  describe(): Record<string, unknown>;
}

/** Labels are reproducible by default: every worker hashes strings the same way, in every run. */
export const DEFAULT_HASH_SEED = 0;
/** PYTHONHASHSEED's range. */
const MAX_HASH_SEED = 4_294_967_295;

/** First uid of the range judged code runs as when we are root (one uid per live worker, via flock). */
const SANDBOX_UID_BASE = 1_900_000_000;
const BWRAP_TMP_BYTES = 512 << 20;

export function checkHashSeed(seed: number, flag = '--hash-seed'): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_HASH_SEED) {
    throw new InputError(`${flag}: must be an integer from 0 to ${MAX_HASH_SEED}, got ${String(seed)}`);
  }
  return seed;
}

/**
 * Starts a pool of warm Python workers at the chosen isolation level. Each worker forks a fresh,
 * limited child per program (as an unprivileged uid when we are root, inside its own user and pid
 * namespace when not) that runs its tests in order, with per-test CPU and wall-clock limits, and a
 * fresh child again after one dies mid-program; so one program's tests run in order while different
 * programs run in parallel. Refuses to start where judged code could reach the user's other processes,
 * unless `allowUncontained`.
 */
export async function createExecutor(options: ExecutorOptions = {}): Promise<SandboxExecutor> {
  const workers = options.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) {
    throw new InputError(`--workers: must be a positive integer, got ${String(options.workers)}`);
  }
  const hashSeed = checkHashSeed(options.hashSeed ?? DEFAULT_HASH_SEED);
  const limits = resolveLimits(options.limits);
  const python = await resolvePython(options.python);
  const isolation = await chooseIsolation(options.isolation ?? 'auto', python);
  const hostWorkRoot = mkdtempSync(join(tmpdir(), 'mbpp-sandbox-'));
  chmodSync(hostWorkRoot, 0o711); // the sandbox uid must reach its own dir inside, and list nothing else
  const workerConfig = {
    limits,
    workRoot: isolation === 'bwrap' ? BWRAP_WORK_ROOT : hostWorkRoot,
    uidBase: SANDBOX_UID_BASE,
  };
  const launch = (index: number, seed: number): WorkerProcess => {
    const { command, args, env } = workerLaunch({ level: isolation, python, tmpBytes: BWRAP_TMP_BYTES, hashSeed: seed }, workerConfig);
    return new WorkerProcess(command, args, seed === hashSeed ? `#${index}` : `#${index} (hash seed ${seed})`, env);
  };
  const pool = new WorkerPool(launch, workers, hashSeed);
  // The workers start while the judge is probed (each ~0.1-0.2 s of Python start-up): they run only the worker's
  // own code until a program is sent, so one that is refused below has judged nothing when it is closed.
  const settled = await Promise.allSettled([probeJudgeEnvironment(python, isolation), pool.start()]);
  const [probed] = settled;
  const judge = probed.status === 'fulfilled' ? probed.value : undefined;
  const refusal = judge ? containmentRefusal(judge, options.allowUncontained ?? false) : null;
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (!judge || refusal || failed) {
    await pool.close();
    rmSync(hostWorkRoot, { recursive: true, force: true });
    throw refusal ? new InputError(refusal) : failed?.reason;
  }
  const warnings: string[] = [];
  if (isolation === 'none') {
    warnings.push(
      `SANDBOX DISABLED (--sandbox none): generated code runs unconfined as uid ${String(process.getuid?.())}, ` +
        'with your files, network and processes within its reach. Use it only for code you trust.',
    );
  } else if (judge.containment === null) {
    warnings.push(
      `sandbox ${isolation}: generated code can kill or signal this builder and your other processes ` +
        `(${judge.uncontainedReason ?? 'no containment'}); running anyway because ${ALLOW_UNCONTAINED_FLAG} was given`,
    );
  }
  const hidden = python.roots.map(privateAncestor).find((dir) => dir !== null);
  if (isolation === 'rlimit' && isRoot() && hidden) {
    warnings.push(
      `sandbox rlimit: ${hidden} is private, so judged code (run as a sandbox uid) can import only the modules ` +
        `the worker preloads from ${python.executable}; use --sandbox bwrap or an interpreter outside ${hidden}`,
    );
  }
  return {
    isolation,
    parallelism: workers,
    python,
    limits,
    hashSeed,
    judge,
    warnings,
    describe: () => ({
      isolation,
      workers,
      python: python.executable,
      pythonVersion: python.version,
      limits,
      hashSeed,
      containment: judge.containment,
      modules: judge.modules,
    }),
    execute: (request) => pool.execute(request),
    close: async () => {
      await pool.close();
      rmSync(hostWorkRoot, { recursive: true, force: true });
    },
  };
}

/** Every test of the job, labelled `Killed`: the program brought its worker down twice. */
function killedReply(job: WorkerJob, error: Error): WorkerReply {
  const verdict = (): TestResult => ({
    passed: false,
    error_type: 'Killed',
    message: `the program killed its sandbox worker, on a fresh worker again (${error.message.slice(0, 200)})`,
  });
  const tests = job.calls ? Array.from({ length: job.calls.count }, verdict) : job.tests.map(verdict);
  return { tests, challenge: job.challengeTests?.map(verdict) ?? null, cpu: [] };
}

/**
 * Hands programs to idle slots in arrival order. A slot holds one warm worker per hash seed it has been asked
 * for (the run's own, plus a flaky check's), started on first use and replaced when it died.
 */
class WorkerPool {
  private readonly slots: Map<number, WorkerProcess>[] = [];
  private readonly idle: number[] = [];
  private readonly waiting: ((index: number) => void)[] = [];
  private closed = false;

  constructor(
    private readonly launch: (index: number, seed: number) => WorkerProcess,
    private readonly size: number,
    private readonly hashSeed: number,
  ) {}

  async start(): Promise<void> {
    for (let index = 0; index < this.size; index++) this.slots.push(new Map([[this.hashSeed, this.launch(index, this.hashSeed)]]));
    await Promise.all(this.slots.map((slot) => slot.get(this.hashSeed)!.ready));
    for (let index = 0; index < this.size; index++) this.idle.push(index);
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    if (this.closed) throw new Error('sandbox executor is closed');
    request.signal?.throwIfAborted();
    const index = await this.acquire(request.signal);
    const job: WorkerJob = {
      code: request.code,
      setup: request.setupCode,
      tests: request.calls ? [] : request.tests,
      challengeTests: request.calls ? null : (request.challengeTests ?? null),
      ...(request.cpuLimits ? { cpuLimits: request.cpuLimits } : {}),
      ...(request.calls ? { calls: request.calls } : {}),
    };
    const seed = request.hashSeed ?? this.hashSeed;
    const started = performance.now();
    try {
      const reply = await this.judge(index, seed, job, request.signal);
      const outcome: ExecutionOutcome = {
        testResults: reply.tests,
        testCpuSeconds: reply.cpu,
        executionTime: (performance.now() - started) / 1000,
        ...(reply.outputs ? { outputs: reply.outputs } : {}),
      };
      if (reply.challenge) outcome.challengeResults = reply.challenge;
      return outcome;
    } finally {
      this.release(index);
    }
  }

  /**
   * A worker that dies mid-program may have failed on its own: the program runs once more on a fresh one. Dying
   * again shows the program brings its worker down (only possible where judged code is not contained), and that
   * is its label, not a failure of the run.
   */
  private async judge(index: number, seed: number, job: WorkerJob, signal?: AbortSignal): Promise<WorkerReply> {
    try {
      return await this.worker(index, seed).then((worker) => worker.run(job, signal));
    } catch (error) {
      if (!(error instanceof WorkerExitedError) || signal?.aborted) throw error;
    }
    try {
      return await this.worker(index, seed).then((worker) => worker.run(job, signal));
    } catch (error) {
      if (!(error instanceof WorkerExitedError) || signal?.aborted) throw error;
      return killedReply(job, error);
    }
  }

  private async worker(index: number, seed: number): Promise<WorkerProcess> {
    const slot = this.slots[index]!;
    let worker = slot.get(seed);
    if (!worker || worker.dead) {
      worker = this.launch(index, seed);
      slot.set(seed, worker);
    }
    await worker.ready;
    return worker;
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
    await Promise.all(this.slots.flatMap((slot) => [...slot.values()].map((worker) => worker.close())));
  }
}
