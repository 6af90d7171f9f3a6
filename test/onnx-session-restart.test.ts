import assert from 'node:assert/strict';
import { cp, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SessionUnavailableError, TransientError } from '../src/inference/backend.js';
import { OnnxBackend } from '../src/inference/onnx/onnx-backend.js';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';
import type { Prompted } from '../src/records.js';

function prompted(taskId: number, prompt: string): Prompted {
  return {
    record: { task_id: taskId, text: prompt, code: '', test_setup_code: '', test_list: [], challenge_test_list: [], split: 'test' },
    sampleIndex: 0,
    prompt,
  };
}

const request = (taskId: number, prompt: string) => ({ item: prompted(taskId, prompt), signal: new AbortController().signal });

/**
 * The session workers this process starts, found by their thread id. The tests end one as a crash would look to
 * the session: the thread exits, with its batch in flight.
 */
const workers = new Set<Worker>();
/** Told of each batch as it is handed to a worker. */
let onBatchSent: (() => void) | undefined;
const postMessage = Worker.prototype.postMessage;
before(() => {
  Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
    workers.add(this);
    const result = postMessage.apply(this, args);
    if ((args[0] as { kind?: string } | undefined)?.kind === 'generate') onBatchSent?.();
    return result;
  };
});
after(() => {
  Worker.prototype.postMessage = postMessage;
});

function workerOf(threadId: number): Worker {
  const worker = [...workers].find((w) => w.threadId === threadId);
  assert.ok(worker, `no worker with thread id ${threadId}`);
  return worker;
}

/**
 * Ends an idle session worker, as a crash between batches would. An idle session's worker is unref'd, and awaiting
 * its terminate() alone left the event loop empty before its 'exit' came in 1 run of ~50 (ref() did not help), so
 * an interval holds the loop open until then.
 */
async function crash(threadId: number): Promise<void> {
  const keepAlive = setInterval(() => {}, 1000);
  try {
    await workerOf(threadId).terminate();
  } finally {
    clearInterval(keepAlive);
  }
}

/**
 * Ends a session worker mid-batch as a crash in its own code would: a message it cannot read throws in its handler,
 * an uncaught error that ends the thread between decoding steps. (`terminate()` could land inside onnxruntime's
 * native run, which then calls back into a torn-down thread and aborts the whole process.)
 */
async function crashMidBatch(threadId: number): Promise<void> {
  const worker = workerOf(threadId);
  const exited = new Promise((resolve) => worker.once('exit', resolve)); // once() would reject on its 'error' event
  worker.postMessage(null);
  await exited;
}

describe('an onnx session whose worker dies', () => {
  let scratch: string;
  before(async () => (scratch = await mkdtemp(join(tmpdir(), 'onnx-restart-'))));
  after(() => rm(scratch, { recursive: true, force: true }));

  it('fails the batch in flight with a TransientError, then serves the next request on a new worker, as before', async () => {
    const backend = await OnnxBackend.open({ model: tinyModelDir(), batchSize: 2, generation: { maxNewTokens: 2000 } });
    try {
      const session = backend.sessions[0]!;
      const before = await session.generate(request(1, 'def f():'));
      const first = session.threadId;
      // 'x' runs on to 2000 tokens: it is in flight when the worker goes.
      const sent = new Promise<void>((resolve) => (onBatchSent = resolve));
      const inFlight = session.generate(request(2, 'x'));
      await sent;
      const failed = assert.rejects(inFlight, (error: unknown) => error instanceof TransientError && /onnx session worker failed/.test(error.message));
      await crashMidBatch(first);
      await failed;
      const again = await session.generate(request(1, 'def f():'));
      assert.notEqual(session.threadId, first, 'a new worker');
      assert.equal(again.text, before.text);
      assert.equal(again.finishReason, before.finishReason);
    } finally {
      await backend.close();
    }
  });

  it('is unavailable while no worker can be started, and serves again once one can', async () => {
    const model = join(scratch, 'tiny-model');
    await cp(tinyModelDir(), model, { recursive: true });
    const backend = await OnnxBackend.open({ model, batchSize: 1, generation: { maxNewTokens: 20 } });
    try {
      const session = backend.sessions[0]!;
      const before = await session.generate(request(1, 'def f():'));
      const graph = join(model, 'onnx', 'model.onnx');
      await rename(graph, `${graph}.away`);
      await crash(session.threadId);
      await assert.rejects(session.generate(request(1, 'def f():')), (error: unknown) => error instanceof SessionUnavailableError && /cannot be started again/.test(error.message));
      await rename(`${graph}.away`, graph);
      const again = await session.generate(request(1, 'def f():'));
      assert.equal(again.text, before.text);
    } finally {
      await backend.close();
    }
  });
});
