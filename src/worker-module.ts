import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module at `path` (relative to `callerUrl`, without extension): the compiled .js in dist/, or the
 * .ts in src/ when the caller runs under tsx. A worker does not inherit tsx's loader hooks on Node 20 (not even with
 * `execArgv: ['--import', 'tsx']`: the entry module is resolved before they register), so the .ts entry is reached
 * through a small bootstrap that registers tsx in the worker first.
 */
export function startWorkerModule(callerUrl: string, path: string, options: Omit<WorkerOptions, 'eval' | 'execArgv'> = {}): Worker {
  if (callerUrl.endsWith('.ts')) {
    const entry = new URL(`${path}.ts`, callerUrl).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(bootstrap, { ...options, eval: true, execArgv: [] });
  }
  return new Worker(new URL(`${path}.js`, callerUrl), { ...options, execArgv: [] });
}
