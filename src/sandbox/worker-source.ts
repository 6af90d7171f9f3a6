import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The Python worker's source text. It lives in src/sandbox/worker.py; from dist/sandbox/ (after
 * `tsc`, which copies no .py files) it is found in the package's src/ folder, which is published.
 * The worker is started with `python -c SOURCE`, so no path needs to be visible inside the sandbox.
 */
export function workerSource(): string {
  const candidates = [new URL('./worker.py', import.meta.url), new URL('../../src/sandbox/worker.py', import.meta.url)];
  for (const candidate of candidates) {
    try {
      return readFileSync(candidate, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(`sandbox worker source not found at ${candidates.map((url) => fileURLToPath(url)).join(' or ')}`);
}
