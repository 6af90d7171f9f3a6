import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import type { Prompted } from '../src/records.js';
import { OnnxBackend } from '../src/inference/onnx/onnx-backend.js';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';

function prompted(taskId: number, prompt: string): Prompted {
  return {
    record: { task_id: taskId, text: prompt, code: '', test_setup_code: '', test_list: [], challenge_test_list: [], split: 'test' },
    sampleIndex: 0,
    prompt,
  };
}

// Greedy decoding on the tiny model is deterministic: SHORT ends at its EOS after 62 tokens, LONG runs on to the
// length limit, 2000 tokens, unless it is aborted.
const SHORT = 'def f():';
const LONG = 'x';

describe('onnx sessions run in worker threads', () => {
  it('runs each session on its own thread, both at once, leaving the main event loop idle and ticking', async () => {
    const backend = await OnnxBackend.open({ model: tinyModelDir(), sessions: 2, batchSize: 2, generation: { maxNewTokens: 2000 } });
    try {
      const [a, b] = backend.sessions;
      assert.ok(a && b);
      assert.notEqual(a.threadId, threadId);
      assert.notEqual(b.threadId, threadId);
      assert.notEqual(a.threadId, b.threadId);
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 1);
      const stop = new AbortController();
      const stopped = new DOMException('both short rows are back', 'AbortError');
      const start = performance.eventLoopUtilization();
      // Each session gets one batch of a short and a long row. A session's short row coming back shows its worker is
      // in the middle of that batch; the long rows are stopped only once both short rows are back. Run one after the
      // other, the first session's long row would end on its own before the second session's short row came back.
      const longRows = [a, b].map((session, i) => session.generate({ item: prompted(10 + i, LONG), signal: stop.signal }));
      const shortRows = await Promise.all([a, b].map((session, i) => session.generate({ item: prompted(i, SHORT), signal: new AbortController().signal })));
      stop.abort(stopped);
      for (const longRow of longRows) {
        await assert.rejects(longRow, (error: unknown) => error === stopped, 'a long row was still being generated when both short rows were back');
      }
      const busy = performance.eventLoopUtilization(start);
      clearInterval(ticker);
      assert.deepEqual(
        shortRows.map((r) => [r.sessionId, r.finishReason]),
        [
          ['onnx-cpu-0', 'eos'],
          ['onnx-cpu-1', 'eos'],
        ],
      );
      // With the graphs on the main thread it would be busy nearly all the time (utilization ~1); here it mostly waits.
      assert.ok(busy.utilization < 0.5, `main event loop utilization ${busy.utilization.toFixed(2)} during generation`);
      assert.ok(ticks > 0, 'a timer on the main thread fired during generation');
    } finally {
      await backend.close();
    }
  });

  it('rejects an aborted row with its signal reason while the batch it shared goes on to the end', async () => {
    const backend = await OnnxBackend.open({ model: tinyModelDir(), batchSize: 2, generation: { maxNewTokens: 200 } });
    try {
      const session = backend.sessions[0]!;
      const alone = await session.generate({ item: prompted(2, 'x'), signal: new AbortController().signal });
      const controller = new AbortController();
      const reason = new DOMException('stop this one', 'AbortError');
      const aborted = session.generate({ item: prompted(1, 'def f():'), signal: controller.signal });
      const other = session.generate({ item: prompted(2, 'x'), signal: new AbortController().signal });
      setImmediate(() => setImmediate(() => controller.abort(reason)));
      await assert.rejects(aborted, (error: unknown) => error === reason);
      const kept = await other;
      assert.equal(kept.text, alone.text);
      assert.equal(kept.completionTokens, alone.completionTokens);
      // The session still serves requests after the abort.
      const again = await session.generate({ item: prompted(2, 'x'), signal: new AbortController().signal });
      assert.equal(again.text, alone.text);
    } finally {
      await backend.close();
    }
  });

  it('lets the process exit after close, and with an idle session never closed', async () => {
    const backendUrl = new URL('../src/inference/onnx/onnx-backend.ts', import.meta.url).href;
    const tinyUrl = new URL('../src/inference/onnx/tiny-model.ts', import.meta.url).href;
    for (const close of [true, false]) {
      const script = [
        `const { OnnxBackend } = await import(${JSON.stringify(backendUrl)});`,
        `const { tinyModelDir } = await import(${JSON.stringify(tinyUrl)});`,
        `const backend = await OnnxBackend.open({ model: tinyModelDir(), sessions: 2, generation: { maxNewTokens: 4 } });`,
        `const item = { record: { task_id: 1, text: 'x', code: '', test_setup_code: '', test_list: [], challenge_test_list: [], split: 'test' }, sampleIndex: 0, prompt: 'x' };`,
        `const c = await backend.sessions[1].generate({ item, signal: new AbortController().signal });`,
        `console.log('generated', c.completionTokens);`,
        close ? `await backend.close(); console.log('closed');` : '',
      ].join('\n');
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0, out);
      assert.match(out, /generated \d+/);
      if (close) assert.match(out, /closed/);
    }
  });
});
