/**
 * `evaluate` as users run it, timed launch to exit through the real CLI (bwrap where it works, 2 workers):
 *
 * - `--real-generations FILE`: the 3,500 real programs of ../shared/data/real-generations/, judged by `evaluate` and,
 *   in the same run, the way the Hugging Face `code_eval` metric does (bench/code-eval-harness.py: one forked process
 *   per program, 3 s wall-clock timeout, 2 at a time); prints both times, their ratio, and how many verdicts differ.
 * - `--loop-prone N`: N samples per MBPP task (N x 974 programs) shaped like real model output: mostly the
 *   reference solution, 1 in 5 wrong (its function returns None), 1 in 200 an endless loop (its function
 *   spins), about the 0.5% the 11,688 real Qwen2.5-1.5B programs had; prints the time and records/s.
 *
 *   npm run build && node --import tsx bench/evaluate-bench.ts --dataset mbpp.jsonl [--real-generations FILE] [--loop-prone 12]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { MbppRecord } from '../src/records.js';
import { resolvePython } from '../src/sandbox/python.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: { dataset: { type: 'string' }, 'real-generations': { type: 'string' }, 'loop-prone': { type: 'string' }, workers: { type: 'string', default: '2' } },
});
const dataset = values.dataset ?? process.env.MBPP_STREAM_DATASET;
if (!dataset) {
  console.error('evaluate-bench: give --dataset PATH or set MBPP_STREAM_DATASET');
  process.exit(2);
}
const cli = fileURLToPath(new URL('../bin/mbpp-stream.js', import.meta.url));
const harness = fileURLToPath(new URL('./code-eval-harness.py', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mbpp-evaluate-bench-'));
const problems = new Map(
  readFileSync(dataset, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as MbppRecord)
    .map((record) => [record.task_id, record]),
);

interface Row {
  task_id: number;
  sample_index: number;
  is_correct: boolean;
}

/** `mbpp-stream evaluate` over a generations file: launch-to-exit seconds and its rows. */
async function evaluate(generations: string): Promise<{ seconds: number; rows: Row[] }> {
  const out = mkdtempSync(join(dir, 'out-'));
  const started = performance.now();
  await run(process.execPath, [cli, 'evaluate', '--generations', generations, '--dataset', dataset!, '--output-dir', out, '--workers', values.workers, '--quiet'], {
    maxBuffer: 1 << 26,
  });
  const seconds = (performance.now() - started) / 1000;
  const datasets = join(out, 'mbpp_datasets');
  const json = readdirSync(datasets).find((name) => /^mbpp_dataset_.*\d\.json$/.test(name))!;
  return { seconds, rows: JSON.parse(readFileSync(join(datasets, json), 'utf8')) as Row[] };
}

if (values['real-generations']) {
  const lines = readFileSync(values['real-generations'], 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { task_id: number; sample_index: number; solution: string });
  const programs = join(dir, 'code-eval-input.jsonl');
  writeFileSync(
    programs,
    lines.map((line) => JSON.stringify({ key: `${line.task_id}:${line.sample_index}`, program: `${line.solution}\n${problems.get(line.task_id)!.test_list.join('\n')}` })).join('\n'),
  );
  const python = await resolvePython();
  const started = performance.now();
  const { stdout } = await run(python.executable, [harness, programs, values.workers], { maxBuffer: 1 << 26 });
  const codeEvalSeconds = (performance.now() - started) / 1000;
  const codeEval = new Map(stdout.trim().split('\n').map((line) => JSON.parse(line) as { key: string; passed: boolean }).map((v) => [v.key, v.passed]));
  const ours = await evaluate(values['real-generations']);
  const differing = ours.rows.filter((row) => codeEval.get(`${row.task_id}:${row.sample_index}`) !== row.is_correct);
  console.log(`real generations: ${lines.length} programs`);
  console.log(`  code_eval-style (fork per program, 3 s wall, ${values.workers} at a time, no sandbox): ${codeEvalSeconds.toFixed(1)} s`);
  console.log(`  mbpp-stream evaluate (launch to exit): ${ours.seconds.toFixed(1)} s = ${(ours.seconds / codeEvalSeconds).toFixed(2)}x the code_eval time`);
  console.log(`  verdicts that differ: ${differing.length}${differing.length ? ` (${differing.map((row) => `${row.task_id}:${row.sample_index}`).join(', ')})` : ''}`);
}

if (values['loop-prone']) {
  const samples = Number(values['loop-prone']);
  const file = join(dir, 'loop-prone.jsonl');
  const lines: string[] = [];
  let loops = 0;
  for (const problem of problems.values()) {
    const name = /assert\s+(?:not\s+)?\(?\s*(\w+)\s*\(/.exec(problem.test_list[0] ?? '')?.[1];
    for (let sample = 0; sample < samples; sample++) {
      const draw = (problem.task_id * 7919 + sample * 104729) % 200;
      let solution = problem.code;
      if (name && draw === 0) {
        solution += `\n\ndef ${name}(*args, **kwargs):\n    while True:\n        pass\n`;
        loops += 1;
      } else if (name && draw % 5 === 1) {
        solution += `\n\ndef ${name}(*args, **kwargs):\n    return None\n`;
      }
      lines.push(JSON.stringify({ task_id: problem.task_id, sample_index: sample, solution }));
    }
  }
  writeFileSync(file, lines.join('\n'));
  const ours = await evaluate(file);
  const correct = ours.rows.filter((row) => row.is_correct).length;
  console.log(`loop-prone set: ${lines.length} programs (${samples} x ${problems.size} tasks, ${loops} endless loops)`);
  console.log(`  mbpp-stream evaluate (launch to exit): ${ours.seconds.toFixed(1)} s, ${(lines.length / ours.seconds).toFixed(0)} records/s, ${correct} correct`);
}
rmSync(dir, { recursive: true, force: true });
