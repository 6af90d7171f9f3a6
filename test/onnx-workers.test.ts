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

const PROMPTS = ['def add(a, b):', 'Write a function to sort a list.', 'x', 'assert f(2) == 4'];

describe('onnx sessions run in worker threads', () => {
  it('runs each session on its own thread, both at once, leaving the main event loop idle and ticking', async () => {
    const backend = await OnnxBackend.open({ model: tinyModelDir(), sessions: 2, batchSize: 2, generation: { maxNewTokens: 300 } });
    try {
      const [a, b] = backend.sessions;
      assert.ok(a && b);
      assert.notEqual(a.threadId, threadId);
      assert.notEqual(b.threadId, threadId);
      assert.notEqual(a.threadId, b.threadId);
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 1);
      const signal = new AbortController().signal;
      const inFlight = new Set<string>();
      let bothInFlight = false;
      const start = performance.eventLoopUtilization();
      const results = await Promise.all(
        PROMPTS.map(async (p, i) => {
          const session = i % 2 === 0 ? a : b;
          inFlight.add(session.id);
          if (inFlight.size === 2) bothInFlight = true;
          return session.generate({ item: prompted(i, p), signal });
        }),
      );
      const busy = performance.eventLoopUtilization(start);
      clearInterval(ticker);
      assert.ok(bothInFlight);
      assert.deepEqual(new Set(results.map((r) => r.sessionId)), new Set(['onnx-cpu-0', 'onnx-cpu-1']));
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
