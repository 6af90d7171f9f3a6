import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../src/cli/main.js';
import { closeUnusedExecutor, executorOptionsOf, openExecutor, startSandboxProbes } from '../src/cli/sandbox-probes.js';
import { resolvePython } from '../src/sandbox/python.js';

/** This process's sandbox workers (its children running the worker, not as a probe; --sandbox rlimit). */
function children(): number[] {
  const pids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  return pids.filter((pid) => {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return command.includes('worker.py') && !command.includes('"probe":true');
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** Waits until `count` children not in `before` have started; their pids. */
async function startedChildren(before: ReadonlySet<number>, count: number): Promise<number[]> {
  for (;;) {
    const started = children().filter((pid) => !before.has(pid));
    if (started.length >= count) return started;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const args = { python: undefined, sandbox: 'rlimit', workers: 2, hashSeed: 0, allowUncontained: false } as const;

describe('sandbox workers started ahead of a run', () => {
  it('are the ones the run takes over when its options match, and no others start', async () => {
    const before = new Set(children());
    startSandboxProbes(args, { executor: true });
    const early = await startedChildren(before, 2);
    const python = await resolvePython(args.python);
    const executor = await openExecutor(executorOptionsOf(args, python.executable));
    try {
      assert.deepEqual(children().filter((pid) => !before.has(pid)).sort(), early.sort(), 'the early workers, and only they');
      const outcome = await executor.execute({ code: 'x = 1', setupCode: '', tests: ['assert x == 1'] });
      assert.equal(outcome.testResults[0]!.passed, true);
    } finally {
      await executor.close();
    }
    await closeUnusedExecutor(); // nothing left to close: taken over
    assert.equal(children().length, before.size);
  });

  it('are closed, and fresh ones started, when the run asks for other options', async () => {
    const before = children().length;
    startSandboxProbes(args, { executor: true });
    const python = await resolvePython(args.python);
    const executor = await openExecutor(executorOptionsOf({ ...args, workers: 1 }, python.executable));
    try {
      assert.equal(executor.parallelism, 1);
      assert.equal(children().length - before, 1, 'the two early workers are gone');
    } finally {
      await executor.close();
    }
    assert.equal(children().length, before);
  });

  it('are closed when the command ends before its run opens (bad input)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mbpp-prestart-'));
    try {
      const dataset = join(dir, 'broken.jsonl');
      writeFileSync(dataset, '{"task_id": 1, "text": "x"\n');
      const before = children().length;
      const code = await main(['build', '--backend', 'reference', '--dataset', dataset, '--output-dir', dir, '--sandbox', 'rlimit', '--quiet']);
      assert.equal(code, 2);
      assert.equal(children().length, before, 'no worker outlives the command');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
