import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { bwrapUnavailableReason } from '../src/sandbox/isolation.js';
import { resolveLimits } from '../src/sandbox/limits.js';
import { resolvePython } from '../src/sandbox/python.js';
import { createExecutor, type SandboxExecutor } from '../src/sandbox/sandbox-executor.js';

const PROGRAM = 'def add_one(x):\n    return x + 1\n';
const TEST_LIMITS = { cpuSeconds: 1, wallSeconds: 4 };

const python = await resolvePython();
const bwrapMissing = await bwrapUnavailableReason(python);

for (const isolation of ['bwrap', 'rlimit', 'none'] as const) {
  describe(`sandbox executor, ${isolation}`, { skip: isolation === 'bwrap' && (bwrapMissing ?? false) }, () => {
    let executor: SandboxExecutor;
    before(async () => {
      executor = await createExecutor({ isolation, workers: 2, limits: TEST_LIMITS });
    });
    after(() => executor.close());

    it('reports the level in force and its parallelism', () => {
      assert.equal(executor.isolation, isolation);
      assert.equal(executor.parallelism, 2);
      assert.equal(executor.warnings.some((line) => line.includes('SANDBOX DISABLED')), isolation === 'none');
    });

    it('gives each test its own verdict, in order', async () => {
      const outcome = await executor.execute({
        code: PROGRAM,
        setupCode: 'OFFSET = 10',
        tests: [
          'assert add_one(1) == 2',
          'assert add_one(1) == 3, "off by one"',
          'assert add_one(OFFSET) == 11',
          'assert missing(1)',
          'raise KeyError("k")',
          'assert add_one(2) == 3',
          'while True: pass',
        ],
      });
      assert.deepEqual(
        outcome.testResults.map((result) => [result.passed, result.error_type]),
        [
          [true, null],
          [false, 'AssertionError'],
          [true, null],
          [false, 'NameError'],
          [false, 'KeyError'],
          [true, null],
          [false, 'Timeout'],
        ],
      );
      assert.equal(outcome.testResults[1]!.message, 'off by one');
      assert.equal(outcome.testResults[3]!.message, "name 'missing' is not defined");
      assert.ok(outcome.executionTime > 0);
    });

    it("keeps the last test's failure message (the reply does not go out before it)", async () => {
      const outcome = await executor.execute({ code: PROGRAM, setupCode: '', tests: ['assert add_one(1) == 2', 'assert add_one(1) == 5, "last one"'] });
      assert.deepEqual(outcome.testResults[1], { passed: false, error_type: 'AssertionError', message: 'last one' });
    });

    it('gives judged code a bare environment with its own workdir, no_new_privs and no descriptor beyond the result channel', async () => {
      const seen: { keys: string[]; home: boolean; tmp: boolean; cwd: string; fds: number[]; nnp: boolean }[] = [];
      for (let program = 0; program < 2; program++) {
        const outcome = await executor.execute({
          code: 'import json, os\nfds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))\n' +
            'nnp = "NoNewPrivs:\\t1" in open("/proc/self/status").read()\n',
          setupCode: '',
          tests: [
            'cwd = os.getcwd()\nassert False, json.dumps({"keys": list(os.environ), "home": os.environ.get("HOME") == cwd, ' +
              '"tmp": os.environ.get("TMPDIR") == cwd, "cwd": cwd, "fds": fds, "nnp": nnp})',
          ],
        });
        seen.push(JSON.parse(outcome.testResults[0]!.message!) as (typeof seen)[number]);
      }
      for (const { keys, home, tmp, fds, nnp } of seen) {
        if (isolation === 'none') {
          assert.ok(keys.includes('PYTHONHASHSEED'), 'unconfined code keeps the worker environment');
          continue;
        }
        assert.deepEqual(keys, ['PATH', 'HOME', 'TMPDIR', 'LANG']);
        assert.ok(home && tmp, 'HOME and TMPDIR are the workdir');
        assert.equal(nnp, true);
        // 0-2, the result channel (3), and the descriptor listing /proc/self/fd while it ran.
        assert.deepEqual(fds, [0, 1, 2, 3, 4]);
      }
      if (isolation !== 'none') assert.notEqual(seen[0]!.cwd, seen[1]!.cwd, 'each program gets a fresh workdir');
    });

    it('runs a program once for all its tests: a global a test changes is seen by the next ones', async () => {
      const outcome = await executor.execute({
        code: 'import os\nloads = [os.getpid()]\ncounter = 0\n',
        setupCode: '',
        tests: ['counter += 1\nassert counter == 1', 'counter += 1\nassert counter == 2', 'assert len(loads) == 1'],
      });
      assert.deepEqual(outcome.testResults.map((result) => result.passed), [true, true, true]);
    });

    it('a test that hangs gets Timeout and ends the judging: the tests after it are Skipped, not run', async () => {
      const outcome = await executor.execute({
        code: PROGRAM,
        setupCode: '',
        tests: ['assert add_one(1) == 2', 'while True: pass', 'assert add_one(2) == 3'],
      });
      assert.deepEqual(
        outcome.testResults.map((result) => [result.passed, result.error_type]),
        [
          [true, null],
          [false, 'Timeout'],
          [false, 'Skipped'],
        ],
      );
      assert.equal(outcome.testResults[2]!.message, 'not run: test 1 timed out');
      assert.equal(outcome.testCpuSeconds![2], null, 'a skipped test did not run');
    });

    it('a test that sleeps past the wall-clock cap gets Timeout, and the tests after it are Skipped', async () => {
      const outcome = await executor.execute({
        code: 'import time',
        setupCode: '',
        tests: ['assert True', 'time.sleep(30)', 'assert True'],
      });
      assert.deepEqual(
        outcome.testResults.map((result) => [result.passed, result.error_type]),
        [
          [true, null],
          [false, 'Timeout'],
          [false, 'Skipped'],
        ],
      );
      assert.match(outcome.testResults[1]!.message ?? '', /wall-clock/);
    });

    it('a test that exits the interpreter gets Killed, and the tests after it run in a fresh process', async () => {
      const outcome = await executor.execute({
        code: 'import os\nstate = []',
        setupCode: '',
        tests: ['state.append(1)', 'os._exit(3)', 'assert state == []', 'state.append(2); assert state == [2]'],
      });
      assert.deepEqual(
        outcome.testResults.map((result) => [result.passed, result.error_type]),
        [
          [true, null],
          [false, 'Killed'],
          [true, null],
          [true, null],
        ],
      );
      assert.match(outcome.testResults[1]!.message ?? '', /exited with status 3/);
    });

    it('gives each test a fresh CPU budget in a shared process', async () => {
      // Each test burns most of a 1 s budget: together far over it, each within it.
      const burn = 'import time\nend = time.process_time() + 0.7\nwhile time.process_time() < end: pass';
      const outcome = await executor.execute({ code: 'import time', setupCode: '', tests: [burn, burn, burn] });
      assert.deepEqual(outcome.testResults.map((result) => result.error_type), [null, null, null]);
    });

    it('gives each test its own CPU limit, and reports the CPU time each test took', async () => {
      // Its own pool: a generous wall-clock cap, so that only CPU time decides on a loaded machine.
      const spinner = await createExecutor({ isolation, workers: 1, limits: { cpuSeconds: 1, wallSeconds: 120 } });
      try {
        const outcome = await spinner.execute({
          code: 'def spin(seconds):\n    import time\n    end = time.process_time() + seconds\n    while time.process_time() < end: pass',
          setupCode: '',
          tests: ['spin(0.3)', 'spin(2.2)', 'spin(2.2)'],
          cpuLimits: [1, 4, 1],
        });
        // 2.2 s passes under its own 4 s limit, and times out under the 1 s one (the budget is whole seconds, at most 2).
        assert.deepEqual(outcome.testResults.map((result) => result.error_type), [null, null, 'Timeout']);
        assert.equal(outcome.testResults[2]!.message, 'exceeded the CPU limit of 1 s');
        const [first, second, third] = outcome.testCpuSeconds!;
        assert.ok(first! >= 0.3 && first! < 1, `spin(0.3) took ${first} CPU s`);
        assert.ok(second! >= 2.2 && second! < 4, `spin(2.2) took ${second} CPU s`);
        assert.equal(third, null, 'a test that timed out reports no time of its own');
      } finally {
        await spinner.close();
      }
    });

    it('fails every test with ProgramError when the program does not load', async () => {
      for (const code of ['def broken(:\n    pass', 'import no_such_module_here', 'raise SystemExit(0)']) {
        const outcome = await executor.execute({ code, setupCode: '', tests: ['assert True', 'assert 1 == 1'] });
        assert.equal(outcome.testResults.length, 2);
        for (const result of outcome.testResults) {
          assert.equal(result.passed, false);
          assert.equal(result.error_type, 'ProgramError', code);
        }
      }
    });

    it('judges challenge tests separately, only when given', async () => {
      const plain = await executor.execute({ code: PROGRAM, setupCode: '', tests: ['assert add_one(0) == 1'] });
      assert.equal(plain.challengeResults, undefined);
      const withChallenge = await executor.execute({
        code: PROGRAM,
        setupCode: '',
        tests: ['assert add_one(0) == 1'],
        challengeTests: ['assert add_one(-1) == 0', 'assert add_one(0) == 0'],
      });
      assert.deepEqual(withChallenge.testResults.map((result) => result.passed), [true]);
      assert.deepEqual(withChallenge.challengeResults?.map((result) => result.passed), [true, false]);
    });

    it('stops a program when its signal aborts, and keeps serving', async () => {
      const controller = new AbortController();
      const running = executor.execute({
        code: 'import time',
        setupCode: '',
        tests: ['time.sleep(3)'],
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(new Error('stop')), 100);
      await assert.rejects(running, /stop/);
      const next = await executor.execute({ code: PROGRAM, setupCode: '', tests: ['assert add_one(1) == 2'] });
      assert.equal(next.testResults[0]!.passed, true);
    });
  });
}

describe('a program that kills its sandbox worker (possible only uncontained: --sandbox none)', () => {
  let executor: SandboxExecutor;
  before(async () => {
    executor = await createExecutor({ isolation: 'none', workers: 1, limits: TEST_LIMITS });
  });
  after(() => executor.close());

  it('is labelled Killed once it does it again on a fresh worker, and the pool keeps serving', async () => {
    const outcome = await executor.execute({
      code: 'import os, signal\nos.kill(os.getppid(), signal.SIGKILL)',
      setupCode: '',
      tests: ['assert True', 'assert True'],
    });
    for (const result of outcome.testResults) {
      assert.equal(result.error_type, 'Killed');
      assert.match(result.message!, /killed its sandbox worker, on a fresh worker again/);
    }
    const next = await executor.execute({ code: PROGRAM, setupCode: '', tests: ['assert add_one(1) == 2'] });
    assert.equal(next.testResults[0]!.passed, true);
  });

  it('gets its own verdict when the worker died only once (the retry on a fresh worker judges it)', async () => {
    // Kills its worker the first time only: a worker that failed once is not the program's fault.
    const marker = join(tmpdir(), `mbpp-kill-once-${process.pid}`);
    const outcome = await executor.execute({
      code: `import os, signal\nif not os.path.exists('${marker}'):\n    open('${marker}', 'w').close()\n    os.kill(os.getppid(), signal.SIGKILL)\ndef ok():\n    return 1`,
      setupCode: '',
      tests: ['assert ok() == 1', 'assert ok() == 2'],
    });
    rmSync(marker, { force: true });
    assert.deepEqual(outcome.testResults.map((result) => result.error_type), [null, 'AssertionError']);
  });
});

describe('sandbox executor options', () => {
  it('rejects bad limits naming the field', () => {
    assert.throws(() => resolveLimits({ cpuSeconds: 0 }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /'cpuSeconds' must be a positive integer/);
      return true;
    });
    assert.throws(() => resolveLimits({ cpuSeconds: 20, wallSeconds: 5 }), /'wallSeconds' \(5\) must be at least/);
  });

  it('rejects an unknown isolation level and a bad worker count naming the flag', async () => {
    await assert.rejects(createExecutor({ isolation: 'chroot' as never }), /--sandbox: unknown level 'chroot'/);
    await assert.rejects(createExecutor({ workers: 0 }), /--workers: must be a positive integer/);
  });

  it('names the source of an interpreter that does not run', async () => {
    await assert.rejects(resolvePython('/nonexistent/python3'), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /'\/nonexistent\/python3' \(from --python\)/);
      return true;
    });
  });
});
