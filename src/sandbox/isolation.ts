import { execFile } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { InputError } from '../errors.js';
import type { IsolationLevel } from './executor.js';
import type { PythonInstall } from './python.js';

const run = promisify(execFile);

/** What `--sandbox` accepts: a level, or `auto` for the strongest one this machine supports. */
export type IsolationChoice = 'auto' | IsolationLevel;

export const ISOLATION_CHOICES: readonly IsolationChoice[] = ['auto', 'bwrap', 'rlimit', 'none'];

/** Where the worker keeps per-test working dirs inside bwrap (a private tmpfs). */
export const BWRAP_WORK_ROOT = '/tmp/mbpp-work';

export interface BwrapSettings {
  python: PythonInstall;
  /** Running as root: keep real uids so the worker can drop judged code to a sandbox uid. */
  asRoot: boolean;
  /** Host dir of the uid lock files, bound into the sandbox (root only). */
  uidLockDir: string;
  /** Size of the private /tmp, bytes. */
  tmpBytes: number;
  /** Variables set inside (the environment is cleared first). */
  env?: Record<string, string>;
}

/** System dirs exposed read-only; on merged-/usr systems /bin, /lib... are symlinks and stay symlinks. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64'];

/** Capabilities the (trusted) worker keeps as root inside bwrap; judged code loses all when it drops uid. */
const WORKER_CAPABILITIES = ['CAP_SETUID', 'CAP_SETGID', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL'];

function systemMounts(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    let stats;
    try {
      stats = lstatSync(dir);
    } catch {
      continue;
    }
    if (stats.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (stats.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  return args;
}

/** '/a/b/c' -> ['/a', '/a/b']. */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, index) => `/${parts.slice(0, index + 1).join('/')}`);
}

/**
 * bwrap arguments for one worker: new pid, net, ipc, uts (and user, unless root) namespaces; the
 * system and the interpreter read-only; a private size-capped /tmp; nothing of /home, /root, the
 * repository or the output dir; the sandbox dies with its parent.
 */
export function bwrapArgs(settings: BwrapSettings): string[] {
  const args = [
    '--die-with-parent',
    '--new-session',
    '--unshare-pid',
    '--unshare-net',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(settings.asRoot ? [] : ['--unshare-user']),
    ...systemMounts(),
    '--ro-bind-try',
    '/etc/ld.so.cache',
    '/etc/ld.so.cache',
    '--ro-bind-try',
    '/etc/localtime',
    '/etc/localtime',
  ];
  for (const root of settings.python.roots) {
    if (SYSTEM_DIRS.some((dir) => root === dir || root.startsWith(`${dir}/`))) continue;
    // Parents made traversable (e.g. a pyenv under a 0700 /root), so the sandbox uid reaches the stdlib.
    for (const parent of ancestors(root)) args.push('--perms', '0755', '--dir', parent);
    args.push('--ro-bind', root, root);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--size', String(settings.tmpBytes), '--tmpfs', '/tmp');
  if (settings.asRoot) {
    args.push('--bind', settings.uidLockDir, settings.uidLockDir, '--cap-drop', 'ALL');
    for (const capability of WORKER_CAPABILITIES) args.push('--cap-add', capability);
  }
  args.push('--clearenv', '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'LANG', 'C.UTF-8');
  for (const [name, value] of Object.entries(settings.env ?? {})) args.push('--setenv', name, value);
  args.push('--chdir', '/tmp');
  return args;
}

let bwrapProbe: Promise<string | null> | undefined;

/** Null when bwrap works here; otherwise why not (not installed, namespaces refused). Probed once. */
export function bwrapUnavailableReason(python: PythonInstall): Promise<string | null> {
  bwrapProbe ??= (async () => {
    const args = bwrapArgs({ python, asRoot: isRoot(), uidLockDir: '/', tmpBytes: 1 << 20 });
    try {
      const { stdout } = await run('bwrap', [...args, python.executable, '-I', '-S', '-c', 'print("ok")'], {
        timeout: 30_000,
      });
      return stdout.trim() === 'ok' ? null : `bwrap probe printed '${stdout.trim()}'`;
    } catch (error) {
      const failure = error as NodeJS.ErrnoException & { stderr?: string };
      if (failure.code === 'ENOENT') return 'bubblewrap (bwrap) is not installed';
      return `bwrap cannot create its namespaces here: ${(failure.stderr ?? failure.message).trim().split('\n')[0]}`;
    }
  })();
  return bwrapProbe;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The strongest level this machine supports: bwrap when it works, else rlimit. Never `none`. */
export async function detectIsolation(python: PythonInstall): Promise<Exclude<IsolationLevel, 'none'>> {
  return (await bwrapUnavailableReason(python)) === null ? 'bwrap' : 'rlimit';
}

/** Turns a `--sandbox` choice into the level in force; asking for bwrap where it cannot run is an input error. */
export async function chooseIsolation(choice: IsolationChoice, python: PythonInstall): Promise<IsolationLevel> {
  if (!ISOLATION_CHOICES.includes(choice)) {
    throw new InputError(`--sandbox: unknown level '${String(choice)}' (expected ${ISOLATION_CHOICES.join(', ')})`);
  }
  if (choice === 'auto') return detectIsolation(python);
  if (choice === 'bwrap') {
    const reason = await bwrapUnavailableReason(python);
    if (reason !== null) throw new InputError(`--sandbox bwrap: ${reason}; use --sandbox rlimit or install bubblewrap`);
  }
  return choice;
}
