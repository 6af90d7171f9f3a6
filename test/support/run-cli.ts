import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root, where `src/` and `fixtures/` are. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `mbpp-stream ARGS` from the TypeScript sources in a child process, as a user would (own env, own cwd). */
export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliRun> {
  const child = startCli(args, options);
  return collect(child);
}

/**
 * Starts the CLI and hands back the child, for tests that signal or kill it mid-run. `detached` makes it lead a
 * process group of its own, so `process.kill(-child.pid, signal)` signals the group as a terminal's Ctrl+C does.
 */
export function startCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; detached?: boolean } = {}) {
  const main = new URL('../../src/cli/main.ts', import.meta.url).href;
  const script = `const { main } = await import(${JSON.stringify(main)}); process.exitCode = await main(process.argv.slice(1));`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, MBPP_STREAM_DATASET: '', XDG_CACHE_HOME: '/nonexistent-cache', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
}

export function collect(child: ReturnType<typeof startCli>): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
