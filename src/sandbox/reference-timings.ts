import type { MbppRecord } from '../records.js';
import type { CodeExecutor } from './executor.js';
import { interpreterCachePath, readInterpreterCache, writeInterpreterCache } from './interpreter-cache.js';
import type { PythonInstall } from './python.js';

/** Per task: the reference solution's CPU seconds on each test, then each challenge test (null: it did not end). */
export type ReferenceTimings = ReadonlyMap<number, readonly (number | null)[]>;

/** The reference solutions get this much per test while they are timed (task 123 needs seconds). */
const TIMING_CPU_SECONDS = 60;

export interface ReferenceTimingsOptions {
  /** The tool's cache dir; timings live in `reference-timings/` under it. */
  cacheDir: string;
  datasetSha256: string;
  python: PythonInstall;
  /** Tasks whose timings the run needs: the ones not cached yet are measured now. */
  records: readonly MbppRecord[];
  executor: CodeExecutor;
  /** Told before measuring, with how many tasks. */
  onMeasure?: (tasks: number) => void;
}

/** The cache file for a dataset and an interpreter: timings depend on both. */
export function referenceTimingsPath(cacheDir: string, datasetSha256: string, python: PythonInstall): string {
  return interpreterCachePath(cacheDir, 'reference-timings', datasetSha256, python);
}

/**
 * Loads the cached reference timings of these tasks, measuring the missing ones by judging each reference solution
 * (tests and challenge tests) in the sandbox, and caches what it measured. Measured once per dataset and
 * interpreter; a run over a few tasks measures only those.
 */
export async function loadReferenceTimings(
  options: ReferenceTimingsOptions,
): Promise<{ timings: ReferenceTimings; file: string; measured: number; cacheError?: string }> {
  const file = referenceTimingsPath(options.cacheDir, options.datasetSha256, options.python);
  const cached = await readInterpreterCache<(number | null)[]>(file, options.datasetSha256, options.python);
  const missing = options.records.filter((record) => !(String(record.task_id) in cached.tasks));
  if (missing.length > 0) {
    options.onMeasure?.(missing.length);
    const measured = await Promise.all(
      missing.map(async (record) => {
        const tests = [...record.test_list, ...record.challenge_test_list];
        const outcome = await options.executor.execute({
          code: record.code,
          setupCode: record.test_setup_code,
          tests,
          cpuLimits: tests.map(() => TIMING_CPU_SECONDS),
        });
        return [record.task_id, tests.map((_, index) => outcome.testCpuSeconds?.[index] ?? null)] as const;
      }),
    );
    for (const [taskId, seconds] of measured) cached.tasks[String(taskId)] = seconds;
  }
  const timings = new Map(options.records.map((record) => [record.task_id, cached.tasks[String(record.task_id)]!]));
  if (missing.length === 0) return { timings, file, measured: 0 };
  const cacheError = await writeInterpreterCache(file, cached);
  return { timings, file, measured: missing.length, ...(cacheError ? { cacheError } : {}) };
}
