import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { runIdOf } from '../src/io/run-store/run-identity.ts';
import { openRun, type OpenRunOptions } from '../src/io/run-store/run-store.ts';
import { makeGenerated, makeIdentity, makeOutputDir, makeResult, recordingLogger } from './runstore-records.ts';

const identity = makeIdentity();

describe('crash suspects and culprits', () => {
  let layout: OpenRunOptions['layout'];
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ layout, cleanup } = await makeOutputDir()));
  afterEach(() => cleanup());

  // A store left open stands for a builder killed outright: its judging log gets no end line (until this process exits).

  /** One attempt that has these tasks' programs in the sandbox when it is killed outright. */
  async function crashWith(...taskIds: number[]): Promise<void> {
    const store = await openRun({ layout, identity });
    for (const taskId of taskIds) store.enterSandbox(makeGenerated(taskId));
  }

  it('a graceful end never counts, whatever was in the sandbox when it came', async () => {
    const store = await openRun({ layout, identity });
    store.enterSandbox(makeGenerated(1));
    store.enterSandbox(makeGenerated(2));
    await store.close();

    const logger = recordingLogger();
    const next = await openRun({ layout, identity, logger });
    assert.deepEqual(next.crashSuspects(), new Set());
    assert.deepEqual(next.crashCulprits(), []);
    assert.deepEqual(logger.warnings, []);
    await next.close();
  });

  it('a crash makes exactly the programs still in the sandbox suspects, and says so', async () => {
    const store = await openRun({ layout, identity });
    store.enterSandbox(makeGenerated(1))();
    store.enterSandbox(makeGenerated(2));
    await store.append(makeResult(1));
    store.enterSandbox(makeGenerated(3));

    const logger = recordingLogger();
    const next = await openRun({ layout, identity, logger });
    assert.deepEqual(next.crashSuspects(), new Set(['2:0', '3:0']));
    assert.deepEqual(next.crashCulprits(), []);
    assert.deepEqual(logger.warnings, [
      'the previous attempt was killed outright with 2 programs (task 2 sample 0, task 3 sample 0) in the sandbox',
      'judging the records in the sandbox at a crash first, one at a time: task 2 sample 0, task 3 sample 0',
    ]);
    await next.close();
  });

  it('one crash never labels a record, even alone in the sandbox', async () => {
    await crashWith(7);
    const next = await openRun({ layout, identity });
    assert.deepEqual(next.crashSuspects(), new Set(['7:0']));
    assert.deepEqual(next.crashCulprits(), []);
    await next.close();
  });

  it('the suspect alone in the sandbox at the next crash is the culprit, not its innocent neighbour', async () => {
    await crashWith(4, 5);
    // The next attempt judges the suspects one at a time: 4 comes out, then 5 takes the build down alone.
    const second = await openRun({ layout, identity });
    second.enterSandbox(makeGenerated(4))();
    second.enterSandbox(makeGenerated(5, 0, 'import os  # the program that ran this time'));

    const logger = recordingLogger();
    const third = await openRun({ layout, identity, logger });
    assert.deepEqual(third.crashCulprits().map((program) => [program.task_id, program.sample_index, program.generatedCode]), [
      [5, 0, 'import os  # the program that ran this time'],
    ]);
    assert.deepEqual(third.crashSuspects(), new Set(), 'the neighbour came out: cleared');
    assert.ok(logger.warnings.some((line) => /task 5 sample 0 was alone in the sandbox when the build was killed again/.test(line)));
    await third.close();

    const fourth = await openRun({ layout, identity });
    assert.deepEqual(fourth.crashCulprits().map((program) => program.task_id), [5], 'a culprit stays known to later attempts');
    await fourth.close();
  });

  it('a crash with nothing in the sandbox, or a stop, keeps the suspects that were not judged yet', async () => {
    await crashWith(1, 2);
    await crashWith();
    const afterEmptyCrash = await openRun({ layout, identity });
    assert.deepEqual(afterEmptyCrash.crashSuspects(), new Set(['1:0', '2:0']));
    afterEmptyCrash.enterSandbox(makeGenerated(1))();
    await afterEmptyCrash.close();

    const afterStop = await openRun({ layout, identity });
    assert.deepEqual(afterStop.crashSuspects(), new Set(['2:0']));
    await afterStop.close();
  });

  it('a crash with several programs in the sandbox labels none, even if a suspect is among them', async () => {
    await crashWith(1, 2);
    await crashWith(2, 3);
    const next = await openRun({ layout, identity });
    assert.deepEqual(next.crashCulprits(), []);
    assert.deepEqual(next.crashSuspects(), new Set(['1:0', '2:0', '3:0']));
    await next.close();
  });

  it('a suspect that came out and went in again (a retry), alone at the next crash, is still the culprit', async () => {
    await crashWith(1, 2);
    const second = await openRun({ layout, identity });
    second.enterSandbox(makeGenerated(2))();
    second.enterSandbox(makeGenerated(2));
    const third = await openRun({ layout, identity });
    assert.deepEqual(third.crashCulprits().map((program) => program.task_id), [2]);
    assert.deepEqual(third.crashSuspects(), new Set(['1:0']), 'not judged yet: still a suspect');
    await third.close();
  });

  it('keeps the judging log small however long the run: it starts over with what still matters, and reads the same', async () => {
    await crashWith(1, 2);
    const second = await openRun({ layout, identity });
    second.enterSandbox(makeGenerated(1))(); // a suspect judged early: cleared
    // Thousands of programs later (a few MiB of notes), one is in the sandbox when the builder is killed.
    const bulky = (taskId: number) => makeGenerated(taskId, 0, `def f():\n    return ${'1 + '.repeat(400)}1`);
    for (let taskId = 100; taskId < 4100; taskId++) second.enterSandbox(bulky(taskId))();
    second.enterSandbox(bulky(5000));
    const logPath = join(layout.datasetsDir, 'runs', runIdOf(identity), 'judging.log');
    const { size } = await stat(logPath);
    assert.ok(size < 4 << 20, `the log started over: ${size} bytes for 4,000 programs of ${JSON.stringify(bulky(1)).length} bytes each`);
    const third = await openRun({ layout, identity });
    assert.deepEqual(third.crashSuspects(), new Set(['2:0', '5000:0']), 'task 1 stays cleared, task 2 is still a suspect, 5000 was in the sandbox');
    await third.close();
  });

  it('folds an attempt once, even when the next attempt died before starting its own log', async () => {
    await crashWith(9);
    const logPath = join(layout.datasetsDir, 'runs', runIdOf(identity), 'judging.log');
    const crashedLog = await readFile(logPath);
    await openRun({ layout, identity });
    // As if that open was killed after writing the history and before replacing the log of the attempt it folded.
    await writeFile(logPath, crashedLog);
    const next = await openRun({ layout, identity });
    assert.deepEqual(next.crashCulprits(), [], 'the same crash counted twice would make 9 a culprit');
    assert.deepEqual(next.crashSuspects(), new Set(['9:0']));
    await next.close();
  });
});

describe('a builder killed outright, as a process', () => {
  let layout: OpenRunOptions['layout'];
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ layout, cleanup } = await makeOutputDir()));
  afterEach(() => cleanup());

  /** Opens the run in a child process, puts task 1 in the sandbox, then ends the process as `how` says. */
  async function attemptThatEnds(how: 'sigkill' | 'exit' | 'close'): Promise<void> {
    const store = new URL('../src/io/run-store/run-store.ts', import.meta.url).href;
    const records = new URL('./runstore-records.ts', import.meta.url).href;
    const script = `
      const { openRun } = await import(${JSON.stringify(store)});
      const { makeGenerated, makeIdentity } = await import(${JSON.stringify(records)});
      const store = await openRun({ layout: ${JSON.stringify(layout)}, identity: makeIdentity() });
      store.enterSandbox(makeGenerated(1));
      const how = ${JSON.stringify(how)};
      if (how === 'sigkill') process.kill(process.pid, 'SIGKILL');
      else if (how === 'exit') process.exit(130);
      else await store.close();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
    );
    assert.deepEqual([code, signal], how === 'sigkill' ? [null, 'SIGKILL'] : [how === 'exit' ? 130 : 0, null]);
  }

  it('SIGKILL leaves the program in the sandbox a suspect (no fsync needed: the page cache outlives the process)', async () => {
    await attemptThatEnds('sigkill');
    const store = await openRun({ layout, identity });
    assert.deepEqual(store.crashSuspects(), new Set(['1:0']));
    await store.close();
  });

  for (const how of ['exit', 'close'] as const) {
    it(`an attempt that ends by ${how === 'exit' ? 'process.exit (a second Ctrl+C)' : 'closing its store'} is not a crash`, async () => {
      await attemptThatEnds(how);
      const store = await openRun({ layout, identity });
      assert.deepEqual(store.crashSuspects(), new Set());
      await store.close();
    });
  }
});
