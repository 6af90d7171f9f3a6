import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordOutcome } from '../src/monitor/progress-counts.js';
import { computeRunStatistics, quantile, summarizeDurations } from '../src/monitor/run-statistics.js';

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

  it('counts verdicts, retries, tokens/s and carries the run context', () => {
    const stats = computeRunStatistics(
      [
        outcome({ task_id: 1, generation_time: 2, execution_time: 0.5, completion_tokens: 100 }),
        outcome({ task_id: 2, is_correct: false, attempts: 2, generation_time: 3, execution_time: 1, completion_tokens: 50 }),
        outcome({ task_id: 3, status: 'failed', is_correct: false, attempts: 4, generation_time: 0, execution_time: 0, completion_tokens: null }),
        outcome({ task_id: 4, generation_time: 5, completion_tokens: null }),
      ],
      {
        peaks: { peakRssBytes: 2048, minAvailableBytes: 1024, gpus: [{ index: 0, name: 'A100', peakMemoryUsedBytes: 7, memoryTotalBytes: 80, peakUtilizationPercent: 93 }] },
        sandboxLevel: 'bwrap',
        resumes: 2,
        wallSeconds: 12.5,
      },
    );
    assert.deepEqual(
      [stats.records, stats.passed, stats.wrong, stats.failed, stats.pass_rate],
      [4, 2, 1, 1, 0.5],
    );
    assert.deepEqual(stats.retries, { total: 4, per_record: 1, max: 3, records_retried: 2 });
    assert.equal(stats.tokens_per_second, 150 / 5, 'only records whose backend counted tokens');
    assert.equal(stats.timing.generation?.max, 5);
    assert.equal(stats.timing.total?.median, (2.5 + 4) / 2);
    assert.deepEqual(stats.resources, {
      peak_rss_bytes: 2048,
      min_available_bytes: 1024,
      gpus: [{ index: 0, name: 'A100', peak_memory_used_bytes: 7, memory_total_bytes: 80, peak_utilization_percent: 93 }],
    });
    assert.deepEqual([stats.sandbox_level, stats.resumes, stats.wall_seconds, stats.versions], ['bwrap', 2, 12.5, null]);
  });

  it('handles an empty run', () => {
    const stats = computeRunStatistics([]);
    assert.deepEqual([stats.records, stats.pass_rate, stats.timing.total, stats.tokens_per_second], [0, 0, null, null]);
  });
});
