/** Runs test/support/read_activations.py, the independent NumPy reader of an activation store. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./read_activations.py', import.meta.url));

/** Why the NumPy checks are skipped here, or false when NumPy is importable. */
export function numpyMissing(): string | false {
  const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  return probe.status === 0 ? false : 'python3 with numpy is not available';
}

export interface NumpyReading {
  rows: number[][];
  arrays: Record<string, { dtype: string; shape: number[]; values: number[][] }>;
}

/** What NumPy reads from the store (and its checks against the dataset's JSON twin, when given). */
export function readWithNumpy(storeDir: string, datasetJson?: string): NumpyReading {
  const result = spawnSync('python3', [SCRIPT, storeDir, ...(datasetJson ? [datasetJson] : [])], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`read_activations.py failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as NumpyReading;
}
