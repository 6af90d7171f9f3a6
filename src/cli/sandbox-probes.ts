import { chooseIsolation } from '../sandbox/isolation.js';
import { probeJudgeEnvironment } from '../sandbox/judge-environment.js';
import { resolvePython } from '../sandbox/python.js';
import type { ExecutorOptions, SandboxExecutor } from '../sandbox/sandbox-executor.js';
import type { BuildArgs } from './build-options.js';

type SandboxArgs = Pick<BuildArgs, 'python' | 'sandbox' | 'workers' | 'hashSeed' | 'allowUncontained'>;

/** The executor a command's flags ask for, with the interpreter they resolve to. */
export function executorOptionsOf(args: SandboxArgs, python: string | undefined): ExecutorOptions {
  return { isolation: args.sandbox, workers: args.workers, python, hashSeed: args.hashSeed, allowUncontained: args.allowUncontained };
}

const keyOf = (options: ExecutorOptions): string =>
  JSON.stringify([options.isolation, options.workers, options.python, options.hashSeed, options.allowUncontained, options.limits]);

/** The executor started ahead of the run that will judge with it; taken over once, or closed unused. */
let early: { key: Promise<string>; executor: Promise<SandboxExecutor> } | undefined;

/**
 * Starts the sandbox's probes (the interpreter, the isolation level, the judge's environment: ~0.3 s of child
 * processes with a pyenv shim) as soon as a command that judges is known, so they run while its modules load and
 * its inputs are read. Each is asked once per process: the preflight and the executor get these answers, and any
 * failure, which they report as before; nothing is reported from here.
 *
 * With `executor`, the command's sandbox workers start too, once the isolation level is known (their Python
 * start-up also overlaps the ~0.3 s of module loading); `openExecutor` hands them to the run. They run only the
 * worker's own code until a program is sent, and `closeUnusedExecutor` closes them when the command ends without
 * taking them (bad input, a failed preflight).
 */
export function startSandboxProbes(args: SandboxArgs, { executor = false }: { executor?: boolean } = {}): void {
  const python = resolvePython(args.python);
  (async () => {
    await probeJudgeEnvironment(await python, await chooseIsolation(args.sandbox, await python));
  })().catch(() => undefined);
  if (!executor) return;
  const options = python.then((resolved) => executorOptionsOf(args, resolved.executable));
  const started = (async () => {
    const { createExecutor } = await import('../sandbox/sandbox-executor.js');
    return createExecutor(await options); // its isolation and judge probes are the ones above, asked once
  })();
  started.catch(() => undefined); // reported by whoever takes it over
  early = { key: options.then(keyOf, () => 'unresolved'), executor: started };
}

/**
 * The executor for `options`: the one `startSandboxProbes` started, when it was started for the same options (its
 * failure, such as a refused containment, is this call's), else a new one.
 */
export async function openExecutor(options: ExecutorOptions): Promise<SandboxExecutor> {
  const started = early;
  early = undefined;
  if (started && (await started.key) === keyOf(options)) return started.executor;
  if (started) await started.executor.then((executor) => executor.close()).catch(() => undefined);
  const { createExecutor } = await import('../sandbox/sandbox-executor.js');
  return createExecutor(options);
}

/** Closes the executor started ahead of a run that never took it over. */
export async function closeUnusedExecutor(): Promise<void> {
  const started = early;
  early = undefined;
  await started?.executor.then((executor) => executor.close()).catch(() => undefined);
}
