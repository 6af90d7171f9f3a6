import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { estimateRate, pushSample, type ProgressSample } from '../src/monitor/moving-rate.js';
import type { RecordOutcome } from '../src/monitor/progress-counts.js';
import { createProgressDisplay, progressModeFor, type ProgressDisplayOptions, type ProgressMode } from '../src/monitor/progress-display.js';
import { formatDuration } from '../src/monitor/progress-line.js';
import type { ResourceSample } from '../src/monitor/resource-thresholds.js';

function outcome(taskId: number, verdict: 'passed' | 'wrong' | 'failed', attempts = 1): RecordOutcome {
  return {
    task_id: taskId,
    sample_index: 0,
    split: 'test',
    status: verdict === 'failed' ? 'failed' : 'ok',
    is_correct: verdict === 'passed',
    attempts,
    passed_tests: verdict === 'passed' ? 3 : 0,
    total_tests: 3,
    generation_time: 1.5,
    execution_time: 0.2,
    completion_tokens: 40,
    error: verdict === 'failed' ? 'TransientError: backend unavailable' : null,
  };
}

/** A display writing into a string, on a fake clock that advances one second per record. */
function captured(
  mode: ProgressMode,
  total: number,
  extra: { every?: number; resources?: () => ResourceSample; sessions?: () => { up: number; total: number }; resumed?: ProgressDisplayOptions['resumed'] } = {},
) {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  let clock = Date.UTC(2024, 2, 12, 14, 0, 0);
  const display = createProgressDisplay({ mode, stream, total, now: () => clock, ...extra });
  return {
    display,
    tick: (seconds: number) => (clock += seconds * 1000),
    output: () => text,
  };
}

describe('moving-window rate', () => {
  it('uses only the window, so a slow start does not skew the ETA', () => {
    let samples: ProgressSample[] = [];
    // 10 records in the first 100 s (model load), then 1 record/s.
    samples = pushSample(samples, { atMs: 0, done: 0 }, 60_000);
    samples = pushSample(samples, { atMs: 100_000, done: 10 }, 60_000);
    for (let s = 1; s <= 120; s++) samples = pushSample(samples, { atMs: 100_000 + s * 1000, done: 10 + s }, 60_000);
    const estimate = estimateRate(samples, 230);
    assert.ok(Math.abs(estimate.recordsPerSecond - 1) < 1e-9, `rate ${estimate.recordsPerSecond}`);
    assert.ok(Math.abs((estimate.etaSeconds ?? NaN) - 100) < 1e-6);
  });

  it('has no ETA before any progress and 0 once finished', () => {
    assert.deepEqual(estimateRate([{ atMs: 0, done: 0 }], 10), { recordsPerSecond: 0, etaSeconds: null });
    assert.equal(estimateRate([{ atMs: 0, done: 0 }, { atMs: 1000, done: 10 }], 10).etaSeconds, 0);
  });

  it('keeps a small window on a fast run', () => {
    let samples: ProgressSample[] = [];
    // 1000 records/s for 100 s: at most one sample per 250 ms of the 60 s window is kept.
    for (let i = 0; i <= 100_000; i++) samples = pushSample(samples, { atMs: i, done: i }, 60_000);
    assert.ok(samples.length <= 60_000 / 250 + 3, `kept ${samples.length} samples`);
    assert.equal(estimateRate(samples, 200_000).recordsPerSecond, 1000);
  });

  it('formats durations', () => {
    assert.equal(formatDuration(45), '45s');
    assert.equal(formatDuration(233), '3m53s');
    assert.equal(formatDuration(7530), '2h05m');
  });
});

describe('progress display', () => {
  it('picks the mode from the flags and the terminal', () => {
    assert.equal(progressModeFor({ isTTY: true, columns: 80 }), 'spinner');
    assert.equal(progressModeFor({ isTTY: true, columns: 0 }), 'lines', 'a terminal of zero width cannot be redrawn in');
    assert.equal(progressModeFor({ isTTY: true }), 'lines');
    assert.equal(progressModeFor({ isTTY: false }), 'lines');
    assert.equal(progressModeFor({ isTTY: true, quiet: true }), 'quiet');
    assert.equal(progressModeFor({ isTTY: true, quiet: true, json: true }), 'json');
  });

  it('prints a plain line every N records when not on a terminal', () => {
    const run = captured('lines', 7, { every: 3 });
    run.display.start();
    const verdicts = ['passed', 'wrong', 'failed', 'passed', 'passed', 'wrong', 'passed'] as const;
    verdicts.forEach((verdict, i) => {
      run.tick(2);
      run.display.record(outcome(i + 1, verdict, verdict === 'failed' ? 3 : 1));
    });
    run.display.finish({ output: 'out/mbpp.parquet' });
    const lines = run.output().trimEnd().split('\n');
    assert.equal(lines[0], '[14:00:00] starting: 7 of 7 records to do, 0 already done');
    assert.equal(
      lines[1],
      '[14:00:06] 3/7 42.9% | passed 1 wrong 1 failed 1 | retries 2 | 0.50 rec/s 20 tok/s ETA 8s',
      'tokens per second over the same window as the records',
    );
    assert.match(lines[2]!, /^\[14:00:12\] 6\/7 85\.7% \| passed 3 wrong 2 failed 1 \| retries 2 \| 0\.50 rec\/s 20 tok\/s ETA 2s$/);
    assert.match(lines[3]!, /^\[14:00:14\] 7\/7 100\.0% .* ETA 0s$/);
    assert.equal(lines[4], 'finished 7/7 records in 14s (0.50 rec/s)');
    assert.equal(lines[5], 'passed 4 (66.7% of judged) | wrong 2 | failed after retries 1 | retries 2');
    assert.equal(lines[6], 'dataset: out/mbpp.parquet');
    assert.equal(lines.length, 7);
    assert.ok(!run.output().includes('\u001b'), 'no terminal escape codes in plain output');
  });

  it('shows RSS and each GPU memory when a monitor runs', () => {
    const resources: ResourceSample = {
      memory: { rssBytes: 1.5 * 1024 ** 3, availableBytes: 0, totalBytes: 0 },
      gpu: {
        available: true,
        gpus: [
          { index: 0, name: 'A', memoryUsedBytes: 2 * 1024 ** 3, memoryTotalBytes: 80 * 1024 ** 3, utilizationPercent: 50 },
          { index: 1, name: 'A', memoryUsedBytes: 1024 ** 3, memoryTotalBytes: 80 * 1024 ** 3, utilizationPercent: 0 },
        ],
      },
    };
    const run = captured('lines', 1, { every: 1, resources: () => resources });
    run.display.start();
    run.display.record(outcome(1, 'passed'));
    assert.match(run.output(), / \| RSS 1\.5 GiB \| GPU0 2\.0\/80\.0 GiB GPU1 1\.0\/80\.0 GiB\n/);
  });

  it('shows how many inference sessions are up when there are several or one is down, and puts them in JSON progress', () => {
    const sessions = { up: 4, total: 4 };
    const run = captured('lines', 3, { every: 1, sessions: () => sessions });
    run.display.start();
    run.display.record(outcome(1, 'passed'));
    sessions.up = 2;
    run.display.record(outcome(2, 'passed'));
    assert.match(run.output(), / ETA \S+ \| 4\/4 sessions up\n.* ETA \S+ \| 2\/4 sessions up\n/);
    const alone = { up: 1, total: 1 };
    const single = captured('lines', 3, { every: 1, sessions: () => alone });
    single.display.start();
    single.display.record(outcome(1, 'passed'));
    alone.up = 0;
    single.display.record(outcome(2, 'passed'));
    const [, first, second] = single.output().trimEnd().split('\n');
    assert.doesNotMatch(first!, /sessions up/, 'one session, up: nothing to say');
    assert.match(second!, / \| 0\/1 sessions up$/);
    const json = captured('json', 1, { every: 1, sessions: () => sessions });
    json.display.start();
    json.display.record(outcome(1, 'passed'));
    const progress = json.output().trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>).find((e) => e['event'] === 'progress');
    assert.equal(progress?.['sessions_up'], 2);
    assert.equal(progress?.['sessions_total'], 4);
  });

  it('prints only the summary when quiet', () => {
    const run = captured('quiet', 2);
    run.display.start();
    run.display.record(outcome(1, 'passed'));
    run.display.warning('GPU 2 memory is above --max-gpu-memory');
    run.display.checkpoint(1);
    run.display.record(outcome(2, 'wrong'));
    run.display.finish();
    assert.match(run.output(), /^finished 2\/2 records in 0s\npassed 1 \(50\.0% of judged\)/);
    assert.equal(run.output().trimEnd().split('\n').length, 2);
  });

  it('writes one JSON event per line: start, record, progress, checkpoint, warning, summary', () => {
    const run = captured('json', 4, { every: 2 });
    run.display.start({ model: 'reference', backend: 'reference' });
    for (let i = 1; i <= 4; i++) {
      run.tick(1);
      const full = { ...outcome(i, i === 3 ? 'wrong' : 'passed'), prompt: 'long prompt', generated_code: 'x = 1' };
      run.display.record(full);
      if (i === 2) run.display.checkpoint(2);
    }
    run.display.warning('process memory 101.0 GiB is above --max-memory 100.0 GiB');
    run.display.finish({ output: 'out.parquet' });
    const events = run.output().trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      events.map((e) => e['event']),
      ['start', 'record', 'record', 'progress', 'checkpoint', 'record', 'record', 'progress', 'warning', 'summary'],
    );
    assert.deepEqual(events[0], { event: 'start', time: '2024-03-12T14:00:00.000Z', model: 'reference', backend: 'reference', total: 4 });
    assert.equal(events[1]!['task_id'], 1);
    assert.equal(events[1]!['prompt'], undefined, 'record events carry the outcome, not the prompt');
    assert.equal(events[3]!['done'], 2);
    assert.equal(events[3]!['records_per_second'], 1);
    assert.equal(events[3]!['eta_seconds'], 2);
    assert.deepEqual(events[4], { event: 'checkpoint', time: '2024-03-12T14:00:02.000Z', count: 2 });
    assert.equal(events[8]!['message'], 'process memory 101.0 GiB is above --max-memory 100.0 GiB');
    assert.equal(events[9]!['passed'], 3);
    assert.equal(events[9]!['wrong'], 1);
    assert.equal(events[9]!['elapsed_seconds'], 4);
    assert.equal(events[9]!['output'], 'out.parquet');
  });

  it('continues the counts of a resumed run without crediting them to the rate', () => {
    let clock = 0;
    const stream = new PassThrough();
    const display = createProgressDisplay({
      mode: 'lines',
      stream,
      total: 10,
      every: 1,
      now: () => clock,
      resumed: { done: 8, passed: 5, wrong: 3 },
    });
    display.start();
    clock += 4000;
    display.record(outcome(9, 'passed'));
    assert.deepEqual(display.counts, { total: 10, done: 9, passed: 6, wrong: 3, failed: 0, retries: 0 });
    const lines = String(stream.read()).trimEnd().split('\n');
    assert.equal(lines[0], '[00:00:00] starting: 2 of 10 records to do, 8 already done');
    assert.match(lines[1]!, /9\/10 90\.0% .* 0\.25 rec\/s 10 tok\/s ETA 4s$/);
  });

  it("ends with the attempt's throughput, the metadata's: its records and tokens over wall time, and each session", () => {
    const run = captured('lines', 10, { resumed: { done: 6, passed: 6 } });
    run.display.start();
    for (let i = 7; i <= 10; i++) run.display.record(outcome(i, 'passed'));
    const session = { records: 4, completion_tokens: 160, records_per_second: 0.5, tokens_per_second: 20, busy_seconds: 7.6, utilization: 0.95 };
    run.display.finish({
      throughput: {
        wall_seconds: 8,
        records: 4,
        records_per_second: 0.5,
        completion_tokens: 160,
        tokens_per_second: 20,
        sessions: [{ id: 'onnx-cuda:0', ...session }, { id: 'onnx-cuda:1', ...session, records: 0 }],
      },
    });
    const lines = run.output().trimEnd().split('\n');
    assert.equal(lines.at(-3), 'finished 10/10 records in 8s (4 this attempt: 0.50 rec/s, 20 tok/s)');
    assert.equal(lines.at(-1), 'sessions: onnx-cuda:0 20 tok/s 95% busy', 'a session that made nothing is left out');
  });

  it('on a terminal, shows the newest checkpoint in the spinner instead of printing a line per checkpoint', async () => {
    const run = captured('spinner', 2);
    run.display.start();
    run.display.record(outcome(1, 'passed'));
    run.display.checkpoint(1);
    // ora draws on its own frame timer (80 ms), which was armed before this longer timeout and so fires first.
    await new Promise((resolve) => setTimeout(resolve, 250));
    run.display.record(outcome(2, 'passed'));
    run.display.finish();
    assert.match(run.output(), /1\/2 50\.0% .*\| checkpoint 1/);
    assert.doesNotMatch(run.output(), /records durable/);
  });

  it('spins on a terminal and ends with the summary', () => {
    const run = captured('spinner', 2);
    run.display.start();
    run.display.record(outcome(1, 'passed'));
    run.display.record(outcome(2, 'passed'));
    run.display.finish();
    assert.match(run.output(), /^\S+ 0\/2 0\.0% \| passed 0 wrong 0 failed 0/);
    assert.match(run.output(), /✔\S* finished 2\/2 records in 0s\npassed 2 \(100\.0% of judged\)/);
  });
});
