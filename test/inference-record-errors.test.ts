/**
 * A per-record problem fails that record only, in every backend: more of them in a row than it takes to take a
 * session out of rotation (3), on a pool of one session, and the run still goes through the real pipeline to
 * its end with every other record judged.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, after, before, describe, it } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import { DEFAULT_HARDENING_CONFIG } from '../src/config.js';
import type { InferenceBackend } from '../src/inference/backend.js';
import { OnnxBackend } from '../src/inference/onnx/onnx-backend.js';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';
import { createOpenAIBackend } from '../src/inference/openai/index.js';
import { createReferenceBackend } from '../src/inference/reference-backend.js';
import { createReplayBackend } from '../src/inference/replay-backend.js';
import { loadGenerations } from '../src/io/generations-source.js';
import { extractCode } from '../src/prompt/code-extraction.js';
import type { GenerationResult, Prompted } from '../src/records.js';
import type { CodeExecutor, ExecutionRequest } from '../src/sandbox/executor.js';
import { buildPipeline } from '../src/streams/build-pipeline.js';
import { mockServerPool } from './support/openai-mock-server.js';

/** Tasks 1–6; 2–5 (four in a row, one more than a session's strike limit) are the problem records. */
const TASKS = [1, 2, 3, 4, 5, 6];
const PROBLEMS = new Set([2, 3, 4, 5]);

function item(taskId: number, code = `def f():\n    return ${taskId}`, prompt = `Task ${taskId}: write f.`): Prompted {
  return {
    record: { task_id: taskId, text: `task ${taskId}`, code, test_setup_code: '', test_list: ['assert f() is not None'], challenge_test_list: [], split: 'prompt' },
    sampleIndex: 0,
    prompt,
  };
}

/** Passes every test of a program it can judge; `unjudgeable` programs make it throw, as a broken sandbox run would. */
function stubExecutor(unjudgeable: (code: string) => boolean = () => false): CodeExecutor {
  return {
    isolation: 'none',
    parallelism: 2,
    async execute(request: ExecutionRequest) {
      if (unjudgeable(request.code)) throw new Error('sandbox worker: cannot run this program');
      return { testResults: request.tests.map(() => ({ passed: true, error_type: null, message: null })), executionTime: 0 };
    },
    close: async () => {},
  };
}

/** Runs items through the build pipeline with no retry waits; resolves to the rows by task and the sessions quarantined. */
async function runPipeline(backend: InferenceBackend, items: Prompted[], executor = stubExecutor()) {
  const quarantined: string[] = [];
  const rows = await lastValueFrom(
    from(items).pipe(
      buildPipeline({
        backend,
        executor,
        extractCode,
        hardening: { ...DEFAULT_HARDENING_CONFIG, retry_backoff: 0 },
        store: { append: async () => {}, checkpoint: async () => {} },
        total: items.length,
        onHealth: (event) => void (event.kind === 'session-down' && quarantined.push(event.session.id)),
      }),
      toArray(),
    ),
  );
  return { byTask: new Map(rows.map((row): [number, GenerationResult] => [row.task_id, row])), quarantined };
}

/** The problem records failed after one try with `error`; the others were judged. */
function assertOnlyProblemsFailed(byTask: Map<number, GenerationResult>, quarantined: string[], error: RegExp): void {
  assert.deepEqual(quarantined, []);
  assert.deepEqual([...byTask.keys()].sort((a, b) => a - b), TASKS);
  for (const [taskId, row] of byTask) {
    if (PROBLEMS.has(taskId)) {
      assert.equal(row.status, 'failed', `task ${taskId}`);
      assert.equal(row.attempts, 1, `task ${taskId} is not retried`);
      assert.match(String(row.error), error);
    } else {
      assert.equal(row.status, 'ok', `task ${taskId}: ${row.error}`);
      assert.equal(row.is_correct, true);
    }
  }
}

let scratch: string;
before(async () => (scratch = await mkdtemp(join(tmpdir(), 'record-errors-'))));
after(() => rm(scratch, { recursive: true, force: true }));

const pool = mockServerPool();
afterEach(() => pool.closeAll());

describe('a per-record problem fails that record only', () => {
  it('reference: problems without a reference solution', async () => {
    const items = TASKS.map((taskId) => (PROBLEMS.has(taskId) ? item(taskId, '') : item(taskId)));
    const { byTask, quarantined } = await runPipeline(createReferenceBackend(), items);
    assertOnlyProblemsFailed(byTask, quarantined, /RecordError: task \d has no reference solution/);
  });

  it('replay: samples the generations file lacks', async () => {
    const file = join(scratch, 'generations.jsonl');
    const present = TASKS.filter((taskId) => !PROBLEMS.has(taskId));
    await writeFile(file, present.map((taskId) => JSON.stringify({ task_id: taskId, solution: `def f():\n    return ${taskId}` })).join('\n'));
    const { byTask, quarantined } = await runPipeline(createReplayBackend(await loadGenerations(file)), TASKS.map((taskId) => item(taskId)));
    assertOnlyProblemsFailed(byTask, quarantined, /has no generation for task \d sample 0/);
  });

  it('openai: prompts the server refuses with a 400', async () => {
    const server = await pool.server();
    const backend = pool.track(
      createOpenAIBackend({ endpoints: [server.url], model: 'google/gemma-2-2b', concurrency: 1, maxTokens: 16, temperature: 0, topP: 1, stop: [], env: {} }),
    );
    // One request at a time, in task order: tasks 1–4 get the refusals, so this time the problems are 1–4.
    const refusal = { kind: 'status' as const, status: 400, body: { object: 'error', message: "This model's maximum context length is 8192 tokens.", code: 400 } };
    server.enqueue(refusal, refusal, refusal, refusal);
    const { byTask, quarantined } = await runPipeline(backend, [1, 2, 3, 4, 5, 6].map((taskId) => item(taskId)));
    assert.deepEqual(quarantined, []);
    assert.deepEqual([...byTask.values()].map((row) => [row.task_id, row.status, row.attempts]).sort(([a], [b]) => Number(a) - Number(b)), [
      [1, 'failed', 1],
      [2, 'failed', 1],
      [3, 'failed', 1],
      [4, 'failed', 1],
      [5, 'ok', 1],
      [6, 'ok', 1],
    ]);
    assert.match(String(byTask.get(1)?.error), /HTTP 400: This model's maximum context length/);
    assert.equal(server.requests.length, 6, 'a refused prompt is not sent again');
  });

  it('onnx: prompts longer than the model\'s context', async () => {
    const backend = await OnnxBackend.open({ model: tinyModelDir(), sessions: 1, batchSize: 2, generation: { maxNewTokens: 4 } });
    try {
      // The tiny model's context is 2048 positions; this prompt is about 2,700 tokens.
      const long = 'def f(x): return x\n'.repeat(300);
      const items = TASKS.map((taskId) => (PROBLEMS.has(taskId) ? item(taskId, undefined, long) : item(taskId)));
      const { byTask, quarantined } = await runPipeline(backend, items);
      assert.deepEqual(quarantined, []);
      for (const taskId of TASKS) {
        const row = byTask.get(taskId)!;
        if (PROBLEMS.has(taskId)) {
          assert.equal(row.status, 'failed');
          assert.equal(row.attempts, 1);
          assert.match(String(row.error), /RecordError: the prompt is \d+ tokens: with 4 new tokens that is \d+, over the model's context of 2048/);
        } else {
          // The tiny model's random weights write no code, but the record was generated and judged.
          assert.equal(row.status, 'ok', `task ${taskId}: ${row.error}`);
          assert.ok((row.completion_tokens ?? 0) >= 1);
        }
      }
    } finally {
      await backend.close();
    }
  });

  it('the sandbox: programs it cannot judge', async () => {
    const items = TASKS.map((taskId) => item(taskId, PROBLEMS.has(taskId) ? `# unjudgeable\ndef f():\n    return ${taskId}` : undefined));
    const executor = stubExecutor((code) => code.startsWith('# unjudgeable'));
    const { byTask, quarantined } = await runPipeline(createReferenceBackend(), items, executor);
    assert.deepEqual(quarantined, []);
    for (const [taskId, row] of byTask) {
      assert.equal(row.status, PROBLEMS.has(taskId) ? 'failed' : 'ok', `task ${taskId}`);
      if (PROBLEMS.has(taskId)) assert.match(String(row.error), /cannot run this program/);
    }
    assert.equal(byTask.size, TASKS.length);
  });
});
