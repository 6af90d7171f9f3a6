import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-file.js';
import type { MbppRecord } from '../records.js';
import type { CodeExecutor } from './executor.js';
import type { PythonInstall } from './python.js';

/** Per task: the reference solution's CPU seconds on each test, then each challenge test (null: it did not end). */
export type ReferenceTimings = ReadonlyMap<number, readonly (number | null)[]>;

/** The reference solutions get this much per test while they are timed (task 123 needs seconds). */
const TIMING_CPU_SECONDS = 60;

interface TimingsFile {
  dataset_sha256: string;
  python: string;
  python_version: string;
  tasks: Record<string, (number | null)[]>;
}

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
  const interpreter = createHash('sha256').update(`${python.executable}\0${python.version}`).digest('hex').slice(0, 12);
  return join(cacheDir, 'reference-timings', `${datasetSha256.slice(0, 16)}-${interpreter}.json`);
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
  const cached = await readTimings(file, options);
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
  // Only a cache: a run whose cache dir cannot be written measures again next time, and says so.
  const cacheError = await mkdir(join(options.cacheDir, 'reference-timings'), { recursive: true })
    .then(() => writeFileAtomic(file, `${JSON.stringify(cached)}\n`))
    .then(() => undefined)
    .catch((error: Error) => error.message);
  return { timings, file, measured: missing.length, ...(cacheError ? { cacheError } : {}) };
}

/** The cache as it stands; a missing, unreadable or foreign file is measured anew (it is only a cache). */
async function readTimings(file: string, options: ReferenceTimingsOptions): Promise<TimingsFile> {
  const empty: TimingsFile = {
    dataset_sha256: options.datasetSha256,
    python: options.python.executable,
    python_version: options.python.version,
    tasks: {},
  };
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as TimingsFile;
    const matches = parsed.dataset_sha256 === empty.dataset_sha256 && parsed.python === empty.python && parsed.python_version === empty.python_version;
    return matches && typeof parsed.tasks === 'object' && parsed.tasks !== null ? parsed : empty;
  } catch {
    return empty;
  }
}
