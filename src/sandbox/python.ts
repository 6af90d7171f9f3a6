import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { InputError } from '../errors.js';

const run = promisify(execFile);

/** The interpreter the sandbox runs, resolved once: the `python3` on PATH is often a slow shim. */
export interface PythonInstall {
  /** Absolute path of the real interpreter (`sys.executable`). */
  executable: string;
  /** Directories the interpreter needs at run time (prefix, base prefix), to expose inside bwrap. */
  roots: string[];
  version: string;
}

/** Environment variable that names the interpreter, bypassing `python3` on PATH. */
export const PYTHON_ENV = 'MBPP_STREAM_PYTHON';

const PROBE = 'import sys; print(sys.executable); print(sys.prefix); print(sys.base_prefix); print(sys.version.split()[0])';

/**
 * Resolutions so far, by the command run (with PATH, for a bare name), shared while in flight: a build asks from
 * several preflight checks at once and again from the sandbox, and `python3` on PATH is often a pyenv shim that
 * costs ~100 ms of shell scripts each time. Failures are not kept, so a fixed interpreter is found on the next call.
 */
const resolutions = new Map<string, Promise<PythonInstall>>();

/**
 * Asks an interpreter where it really lives, once per command. `override` (an option) wins over `MBPP_STREAM_PYTHON`,
 * which wins over `python3` on PATH; a given interpreter that does not run is an input error naming its source.
 */
export function resolvePython(override?: string): Promise<PythonInstall> {
  const fromEnv = process.env[PYTHON_ENV];
  const [command, source] = override
    ? [override, '--python']
    : fromEnv
      ? [fromEnv, `env ${PYTHON_ENV}`]
      : ['python3', 'python3 on PATH'];
  const key = command.includes('/') ? resolve(command) : `${command}\0${process.env.PATH ?? ''}`;
  let resolution = resolutions.get(key);
  if (resolution === undefined) {
    resolution = askPython(command, source);
    resolutions.set(key, resolution);
    // The real interpreter answers for itself as it did through the shim: the sandbox, given its path, asks no more.
    resolution.then(
      (install) => {
        if (!resolutions.has(install.executable)) resolutions.set(install.executable, Promise.resolve(install));
      },
      () => resolutions.delete(key),
    );
  }
  return resolution;
}

async function askPython(command: string, source: string): Promise<PythonInstall> {
  let stdout: string;
  try {
    ({ stdout } = await run(command, ['-c', PROBE], { timeout: 30_000 }));
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new InputError(`sandbox: cannot run Python '${command}' (from ${source}): ${reason}`);
  }
  const [executable, prefix, basePrefix, version] = stdout.trim().split('\n');
  if (!executable || !prefix || !basePrefix || !version) {
    throw new InputError(`sandbox: Python '${command}' (from ${source}) did not report sys.executable`);
  }
  const [major, minor] = version.split('.').map(Number);
  if (major !== 3 || (minor ?? 0) < 9) {
    throw new InputError(`sandbox: Python '${command}' (from ${source}) is ${version}; 3.9 or newer is needed`);
  }
  return { executable, roots: [...new Set([prefix, basePrefix])], version };
}

/**
 * The first dir on the way to `path` that other users cannot traverse (e.g. a 0700 /root holding a
 * pyenv), or null. Judged code that runs as a sandbox uid outside bwrap cannot import from below it.
 */
export function privateAncestor(path: string): string | null {
  let found: string | null = null;
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) found = dir;
    } catch {
      return dir;
    }
    if (dir === dirname(dir)) return found;
  }
}
