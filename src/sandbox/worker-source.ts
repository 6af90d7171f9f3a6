import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The Python worker's file, which the package ships: src/sandbox/worker.py, found from src/sandbox/ (tsx) and from
 * dist/sandbox/ (after `tsc`, which copies no .py files). Workers run it as a script, so neither `ps` nor
 * /proc/<pid>/cmdline carries its whole source.
 */
export function workerScriptPath(): string {
  const candidates = [new URL('./worker.py', import.meta.url), new URL('../../src/sandbox/worker.py', import.meta.url)].map((url) =>
    fileURLToPath(url),
  );
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`sandbox worker source not found at ${candidates.join(' or ')}`);
  return found;
}
