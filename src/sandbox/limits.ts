import { InputError } from '../errors.js';

/** Per-test limits. CPU time decides timeouts; the wall-clock cap only catches sleepers and stalls. */
export interface SandboxLimits {
  /** CPU seconds per test (RLIMIT_CPU, whole seconds); past it the verdict is `Timeout`. */
  cpuSeconds: number;
  /** Wall-clock cap per test, generous so that load never flips a label. */
  wallSeconds: number;
  /** Address space per process (RLIMIT_AS), MiB; past it the verdict is `OutOfMemory`. */
  memoryMb: number;
  /** Processes the judged code may have at once (RLIMIT_NPROC). */
  maxProcesses: number;
  /** Largest file it may write (RLIMIT_FSIZE), MiB. */
  maxFileSizeMb: number;
  /** Open file descriptors (RLIMIT_NOFILE). */
  maxOpenFiles: number;
  /** Bytes of a test's stdout/stderr kept (the tail), for crash messages; the rest is discarded. */
  outputBytes: number;
}

/**
 * Defaults sized so that no MBPP reference solution times out with every worker busy: the slowest
 * take a few CPU-seconds, and CPU time does not grow with load the way wall time does.
 */
export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  cpuSeconds: 10,
  wallSeconds: 60,
  memoryMb: 2048,
  maxProcesses: 64,
  maxFileSizeMb: 16,
  maxOpenFiles: 128,
  outputBytes: 4096,
});

/** Merges overrides onto the defaults; a non-positive or non-integer value is an input error naming its field. */
export function resolveLimits(overrides: Partial<SandboxLimits> = {}): SandboxLimits {
  const limits: SandboxLimits = { ...DEFAULT_LIMITS };
  for (const [field, value] of Object.entries(overrides) as [keyof SandboxLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!(field in DEFAULT_LIMITS)) throw new InputError(`sandbox limits: unknown field '${field}'`);
    if (!Number.isInteger(value) || value <= 0) {
      throw new InputError(`sandbox limits: '${field}' must be a positive integer, got ${String(value)}`);
    }
    limits[field] = value;
  }
  if (limits.wallSeconds < limits.cpuSeconds) {
    throw new InputError(
      `sandbox limits: 'wallSeconds' (${limits.wallSeconds}) must be at least 'cpuSeconds' (${limits.cpuSeconds})`,
    );
  }
  return limits;
}
