import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { IsolationLevel } from './executor.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { PythonInstall } from './python.js';
import { workerLaunch } from './worker-launch.js';
import type { Containment } from './worker-process.js';

const run = promisify(execFile);

/** The interpreter judged code runs in, as judged code sees it (inside bwrap at that level). */
export interface JudgeEnvironment {
  python: string;
  version: string;
  level: IsolationLevel;
  /** How judged code is kept from the user's other processes; null when it is not. */
  containment: Containment | null;
  uncontainedReason: string | null;
  /** Commonly imported third-party modules: version ('' when unknown) when importable, null when not. */
  modules: Record<string, string | null>;
}

const probes = new Map<string, Promise<JudgeEnvironment>>();

/** Asks the worker itself, started as for a run, what it can import and how it contains judged code. Once per interpreter and level. */
export function probeJudgeEnvironment(python: PythonInstall, level: IsolationLevel): Promise<JudgeEnvironment> {
  const key = `${python.executable}\0${level}`;
  let probe = probes.get(key);
  if (!probe) {
    probe = (async () => {
      const launch = workerLaunch(
        { level, python, tmpBytes: 16 << 20, hashSeed: 0 },
        { probe: true, limits: DEFAULT_LIMITS, workRoot: '/tmp', uidBase: 0 },
      );
      const { stdout } = await run(launch.command, launch.args, {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...launch.env },
        timeout: 30_000,
      });
      const reported = JSON.parse(stdout) as Omit<JudgeEnvironment, 'level'>;
      return { ...reported, level };
    })();
    probes.set(key, probe);
  }
  return probe;
}

/** `numpy 1.26.4, regex 2024.5.15; not importable: pandas, scipy` */
export function describeModules(modules: JudgeEnvironment['modules']): string {
  const entries = Object.entries(modules);
  const present = entries.filter(([, version]) => version !== null).map(([name, version]) => (version ? `${name} ${version}` : name));
  const missing = entries.filter(([, version]) => version === null).map(([name]) => name);
  return [present.length > 0 ? present.join(', ') : 'no third-party modules', missing.length > 0 ? `not importable: ${missing.join(', ')}` : '']
    .filter(Boolean)
    .join('; ');
}

/** Flag that accepts running judged code where it could reach the user's other processes. */
export const ALLOW_UNCONTAINED_FLAG = '--allow-uncontained';

/**
 * Why a run must not start at this level: judged code could kill or signal the builder and every other process
 * of the user (not root, no user namespaces), and the user has not accepted that. Null when it may start.
 * `--sandbox none` is its own explicit opt-out and is refused nothing here.
 */
export function containmentRefusal(judge: JudgeEnvironment, allowUncontained: boolean): string | null {
  if (judge.containment !== null || judge.level === 'none' || allowUncontained) return null;
  return (
    `sandbox ${judge.level}: generated code could kill or signal this builder and every other process of your user ` +
    `(${judge.uncontainedReason ?? 'no containment'}); run as root, enable unprivileged user namespaces, ` +
    `or pass ${ALLOW_UNCONTAINED_FLAG} to accept that risk`
  );
}
