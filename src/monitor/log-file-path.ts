import path from 'node:path';

/**
 * `mbpp_logs/mbpp_production_<ts>.log` (or `mbpp_test_<ts>.log` for `--test-run`), as the original pipeline
 * named them. The timestamp is UTC to the second, so every run gets its own file and old logs are kept.
 */
export function logFilePath(options: { dir?: string; testRun?: boolean; now?: Date } = {}): string {
  const stamp = (options.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  return path.join(options.dir ?? 'mbpp_logs', `mbpp_${options.testRun ? 'test' : 'production'}_${stamp}.log`);
}
