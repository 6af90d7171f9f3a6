import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordOutcome } from '../src/monitor/progress-counts.js';
import { RunStatisticsTally, quantile, summarizeDurations } from '../src/monitor/run-statistics.js';
import { ThroughputMeter } from '../src/monitor/throughput-meter.js';

function outcome(fields: Partial<RecordOutcome>): RecordOutcome {
  return {
    task_id: 1, sample_index: 0, split: 'test', status: 'ok', is_correct: true, attempts: 1,
    passed_tests: 3, total_tests: 3, generation_time: 1, execution_time: 0.1, completion_tokens: 10, error: null,
    ...fields,
  };
}

describe('run statistics', () => {
  it('summarises durations with interpolated median and p95', () => {
    assert.equal(summarizeDurations([]), null);
    const values = Array.from({ length: 21 }, (_, i) => 20 - i); // 0..20, unsorted
    assert.deepEqual(summarizeDurations(values), { count: 21, avg: 10, min: 0, max: 20, median: 10, p95: 19 });
    assert.equal(quantile([1, 2], 0.5), 1.5);
  });

  it('counts verdicts and retries, summarises per-record latency, and carries the run context', () => {
    const tally = new RunStatisticsTally();
    for (const record of [
      outcome({ task_id: 1, generation_time: 2, execution_time: 0.5, completion_tokens: 100 }),
      outcome({ task_id: 2, is_correct: false, attempts: 2, generation_time: 3, execution_time: 1, completion_tokens: 50 }),
      outcome({ task_id: 3, status: 'failed', is_correct: false, attempts: 4, generation_time: 0, execution_time: 0, completion_tokens: null }),
      outcome({ task_id: 4, generation_time: 5, completion_tokens: null }),
    ]) {
      tally.add(record);
    }
    const throughput = new ThroughputMeter(() => 0).throughput();
    const stats = tally.statistics({
      peaks: { peakRssBytes: 2048, minAvailableBytes: 1024, gpus: [{ index: 0, name: 'A100', peakMemoryUsedBytes: 7, memoryTotalBytes: 80, peakUtilizationPercent: 93 }] },
      sandboxLevel: 'bwrap',
      resumes: 2,
      throughput,
    });
    assert.deepEqual(
      [stats.records, stats.passed, stats.wrong, stats.failed, stats.pass_rate],
      [4, 2, 1, 1, 0.5],
    );
    assert.deepEqual(stats.retries, { total: 4, per_record: 1, max: 3, records_retried: 2 });
    assert.equal(stats.latency.generation?.max, 5);
    assert.equal(stats.latency.total?.median, (2.5 + 4) / 2);
    assert.equal(stats.throughput, throughput);
    assert.deepEqual(stats.resources, {
      peak_rss_bytes: 2048,
      min_available_bytes: 1024,
      gpus: [{ index: 0, name: 'A100', peak_memory_used_bytes: 7, memory_total_bytes: 80, peak_utilization_percent: 93 }],
    });
    assert.deepEqual([stats.sandbox_level, stats.resumes, stats.versions], ['bwrap', 2, null]);
  });

  it('handles an empty run', () => {
    const stats = new RunStatisticsTally().statistics();
    assert.deepEqual([stats.records, stats.pass_rate, stats.latency.total, stats.throughput], [0, 0, null, null]);
  });
});

describe('throughput meter', () => {
  /** A clock the test moves by hand, in seconds. */
  function manualClock(): { now: () => number; at: (seconds: number) => void } {
    let ms = 0;
    return { now: () => ms, at: (seconds) => (ms = seconds * 1000) };
  }

  it('measures tokens and records per second of wall time, not per summed generation time', () => {
    const clock = manualClock();
    const meter = new ThroughputMeter(clock.now);
    meter.start();
    // A batch of 8 on one session: eight overlapping 1-second generations, 100 tokens each, done in 1 s of wall time.
    const ends = Array.from({ length: 8 }, () => meter.generating('onnx-cpu-0'));
    clock.at(1);
    for (const end of ends) end();
    for (let i = 0; i < 8; i++) meter.record({ session_id: 'onnx-cpu-0', completion_tokens: 100 });
    clock.at(2);
    const throughput = meter.throughput();
    assert.equal(throughput.wall_seconds, 2);
    assert.equal(throughput.records_per_second, 4);
    assert.equal(throughput.tokens_per_second, 400, 'summing generation times would give 800 tokens / 8 s = 100 tok/s');
    assert.deepEqual(throughput.sessions, [
      { id: 'onnx-cpu-0', records: 8, completion_tokens: 800, records_per_second: 4, tokens_per_second: 400, busy_seconds: 1, utilization: 0.5 },
    ]);
  });

  it('counts a session busy while any request is in flight, up to now, and tells sessions apart', () => {
    const clock = manualClock();
    const meter = new ThroughputMeter(clock.now);
    meter.start();
    const first = meter.generating('a');
    clock.at(1);
    const second = meter.generating('a');
    clock.at(2);
    first();
    first();
    clock.at(3);
    second();
    const other = meter.generating('b');
    clock.at(4);
    meter.record({ session_id: 'b', completion_tokens: null });
    meter.record({ session_id: null, completion_tokens: null });
    const { sessions, tokens_per_second, records } = meter.throughput();
    assert.equal(records, 2);
    assert.equal(tokens_per_second, null, 'no backend counted tokens');
    assert.deepEqual(sessions.map((s) => [s.id, s.busy_seconds, s.utilization, s.records]), [['a', 3, 0.75, 0], ['b', 1, 0.25, 1]]);
    other();
  });
});
