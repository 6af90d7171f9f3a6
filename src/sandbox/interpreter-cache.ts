import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-file.js';
import type { PythonInstall } from './python.js';

/**
 * What the sandbox measures once per dataset and interpreter (reference timings, MBPP+ expected outputs) and keeps
 * under the tool's cache dir: one JSON file per dataset sha256 + interpreter, holding a value per task.
 */
export interface InterpreterCacheFile<T> {
  dataset_sha256: string;
  python: string;
  python_version: string;
  tasks: Record<string, T>;
}

/** `<cacheDir>/<kind>/<dataset sha256 prefix>-<interpreter hash>.json`: results depend on both. */
export function interpreterCachePath(cacheDir: string, kind: string, datasetSha256: string, python: PythonInstall): string {
  const interpreter = createHash('sha256').update(`${python.executable}\0${python.version}`).digest('hex').slice(0, 12);
  return join(cacheDir, kind, `${datasetSha256.slice(0, 16)}-${interpreter}.json`);
}

/** The cache as it stands; a missing, unreadable or foreign file reads as empty (it is only a cache). */
export async function readInterpreterCache<T>(file: string, datasetSha256: string, python: PythonInstall): Promise<InterpreterCacheFile<T>> {
  const empty: InterpreterCacheFile<T> = { dataset_sha256: datasetSha256, python: python.executable, python_version: python.version, tasks: {} };
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as InterpreterCacheFile<T>;
    const matches = parsed.dataset_sha256 === datasetSha256 && parsed.python === python.executable && parsed.python_version === python.version;
    return matches && typeof parsed.tasks === 'object' && parsed.tasks !== null ? parsed : empty;
  } catch {
    return empty;
  }
}

/** Writes the cache; returns why not where it cannot (a run whose cache dir is read-only measures again next time). */
export async function writeInterpreterCache<T>(file: string, content: InterpreterCacheFile<T>): Promise<string | undefined> {
  return mkdir(dirname(file), { recursive: true })
    .then(() => writeFileAtomic(file, `${JSON.stringify(content)}\n`))
    .then(() => undefined)
    .catch((error: Error) => error.message);
}
