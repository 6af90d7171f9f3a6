/**
 * The full reference build through the real CLI against the unsafe floor, side by side in one run: `pairs`
 * interleaved pairs (floor, build), each build a fresh `mbpp-stream build --backend reference` over every problem
 * (bwrap where it works), timed from launch to exit (process start, preflight and the sandbox's start included) and
 * by the build's own "finished in" stream time. Prints each pair and the median ratio.
 *
 *   npm run build && node --import tsx bench/reference-build-bench.ts --dataset path/to/mbpp.jsonl [--pairs 3] [--workers N] [--baseline PATH]
 *
 * The dataset comes from --dataset or MBPP_STREAM_DATASET. Reference timings are cached before the first pair.
 * `--baseline` names another launcher (an older checkout's `bin/mbpp-stream.js`, built): each pair then also times a
 * build with it, between the floor and this one, so two versions are compared under the same load.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { resolvePython } from '../src/sandbox/python.js';
import { runUnsafeFloor } from './unsafe-floor.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: { dataset: { type: 'string' }, pairs: { type: 'string', default: '3' }, workers: { type: 'string' }, baseline: { type: 'string' } },
});
const dataset = values.dataset ?? process.env.MBPP_STREAM_DATASET;
if (!dataset) {
  console.error('reference-build-bench: give --dataset PATH or set MBPP_STREAM_DATASET');
  process.exit(2);
}
const cli = fileURLToPath(new URL('../bin/mbpp-stream.js', import.meta.url));
const python = await resolvePython();

async function build(launcher = cli): Promise<{ wall: number; stream: number; summary: string }> {
  const out = mkdtempSync(join(tmpdir(), 'mbpp-ref-bench-'));
  const args = [launcher, 'build', '--backend', 'reference', '--dataset', dataset!, '--output-dir', out, '--quiet'];
  if (values.workers) args.push('--workers', values.workers);
  const started = performance.now();
  const { stdout, stderr } = await run(process.execPath, args, { maxBuffer: 1 << 24 });
  const wall = (performance.now() - started) / 1000;
  rmSync(out, { recursive: true, force: true });
  const text = `${stdout}\n${stderr}`;
  const finished = /finished (\d+)\/(\d+) records in ([\d.]+)s/.exec(text);
  return { wall, stream: finished ? Number(finished[3]) : Number.NaN, summary: /passed \d+[^\n]*/.exec(text)?.[0] ?? '' };
}

/** The middle value (the upper one of an even count). */
const median = (numbers: number[]): number => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;

await build(); // caches the reference timings and warms the page cache
const pairs: { floor: number; build: number; baseline?: number }[] = [];
for (let pair = 0; pair < Number(values.pairs); pair++) {
  // The machine may be shared: the 1-minute load average before each pair says how much.
  const load = loadavg()[0]!;
  const floor = await runUnsafeFloor(python.executable, dataset);
  const baseline = values.baseline === undefined ? undefined : await build(values.baseline);
  const built = await build();
  pairs.push({ floor: floor.seconds, build: built.wall, ...(baseline ? { baseline: baseline.wall } : {}) });
  const before = baseline ? ` | baseline ${baseline.wall.toFixed(2)} s (${(baseline.wall / floor.seconds).toFixed(2)}x)` : '';
  console.log(
    `pair ${pair + 1} (load ${load.toFixed(2)}): floor ${floor.seconds.toFixed(2)} s${before} | build ${built.wall.toFixed(2)} s launch to exit ` +
      `(stream ${built.stream} s) | ${(built.wall / floor.seconds).toFixed(2)}x | ${built.summary}`,
  );
}
/** A timing's median over the pairs, and the median of its ratio to each pair's floor. */
const summary = (key: 'build' | 'baseline'): string =>
  `${key} ${median(pairs.map((p) => p[key]!)).toFixed(2)} s (${median(pairs.map((p) => p[key]! / p.floor)).toFixed(2)}x the floor)`;
console.log(
  `medians, launch to exit: floor ${median(pairs.map((p) => p.floor)).toFixed(2)} s, ${summary('build')}` +
    `${values.baseline === undefined ? '' : `, ${summary('baseline')}`} (${python.executable} ${python.version})`,
);
