import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bwrapArgs, isRoot } from './isolation.js';
import type { IsolationLevel } from './executor.js';
import type { PythonInstall } from './python.js';
import { workerScriptPath } from './worker-source.js';

/** Where the worker's file is bound inside bwrap (the host path may lie under a dir the sandbox does not show). */
const WORKER_PATH_IN_BWRAP = '/opt/mbpp-stream/worker.py';

/** Where workers running as root lock the sandbox uids they hold (one file per uid, flock'd). */
export const UID_LOCK_DIR = join(tmpdir(), 'mbpp-stream-uids');

/** The command line and environment that start the Python worker at a level. */
export interface WorkerLaunch {
  command: string;
  args: string[];
  /** The worker's environment besides PATH and LANG. */
  env: Record<string, string>;
}

export interface WorkerLaunchSettings {
  level: IsolationLevel;
  python: PythonInstall;
  /** Size of bwrap's private /tmp, bytes. */
  tmpBytes: number;
  /** String-hash seed of the worker and every program it judges (PYTHONHASHSEED; 0 turns randomisation off). */
  hashSeed: number;
}

/**
 * `python -s worker.py CONFIG`, inside bwrap at that level. Not `-I`: it would ignore PYTHONHASHSEED. The
 * environment is ours alone (bwrap clears it; spawn gets only PATH, LANG and the seed), and site-packages are
 * on the path so that judged code imports what the chosen interpreter has installed, as other harnesses do;
 * `-s` leaves out the user's own site dir, which bwrap hides anyway.
 */
export function workerLaunch(settings: WorkerLaunchSettings, config: Record<string, unknown>): WorkerLaunch {
  if (isRoot()) mkdirSync(UID_LOCK_DIR, { recursive: true, mode: 0o700 });
  const env = { PYTHONHASHSEED: String(settings.hashSeed) };
  const script = workerScriptPath();
  const configArg = JSON.stringify({ ...config, level: settings.level, hashSeed: settings.hashSeed, uidLockDir: UID_LOCK_DIR });
  if (settings.level !== 'bwrap') return { command: settings.python.executable, args: ['-s', script, configArg], env };
  const sandbox = bwrapArgs({ python: settings.python, asRoot: isRoot(), uidLockDir: UID_LOCK_DIR, tmpBytes: settings.tmpBytes, env });
  return {
    command: 'bwrap',
    args: [...sandbox, '--ro-bind', script, WORKER_PATH_IN_BWRAP, settings.python.executable, '-s', WORKER_PATH_IN_BWRAP, configArg],
    env,
  };
}
