import { chooseIsolation } from '../sandbox/isolation.js';
import { probeJudgeEnvironment } from '../sandbox/judge-environment.js';
import { resolvePython } from '../sandbox/python.js';
import type { BuildArgs } from './build-options.js';

/**
 * Starts the sandbox's probes (the interpreter, the isolation level, the judge's environment: ~0.3 s of child
 * processes with a pyenv shim) as soon as a command that judges is known, so they run while its modules load and
 * its inputs are read. Each is asked once per process: the preflight and the executor get these answers, and any
 * failure, which they report as before; nothing is reported from here.
 */
export function startSandboxProbes(args: Pick<BuildArgs, 'python' | 'sandbox'>): void {
  (async () => {
    const python = await resolvePython(args.python);
    await probeJudgeEnvironment(python, await chooseIsolation(args.sandbox, python));
  })().catch(() => undefined);
}
