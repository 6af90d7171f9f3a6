import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestResult } from '../src/records.js';
import { bwrapUnavailableReason, isRoot } from '../src/sandbox/isolation.js';
import { resolvePython } from '../src/sandbox/python.js';
import { createExecutor, type SandboxExecutor } from '../src/sandbox/sandbox-executor.js';
import { REPO_ROOT } from './support/run-cli.js';

/**
 * Hostile programs, each with the verdict it must get. All run at once on a small pool with short
 * limits; afterwards the canary files are intact, no marked process survives, and the pool still works.
 */
interface Attack {
  name: string;
  code: string;
  tests: string[];
  /** Accepted error_type per test (null: passed). */
  expect: (string | null)[][];
  /** Only meaningful where files outside the sandbox are protected (bwrap, or rlimit as root). */
  needsFileProtection?: boolean;
  /** Only meaningful with a network namespace. */
  needsBwrap?: boolean;
}

/** Set in the copies of this suite that the root run starts as an unprivileged user (see the end). */
const UNPRIVILEGED_RUN = process.env.MBPP_STREAM_UNPRIVILEGED_RUN;
const python = await resolvePython();
const bwrapMissing = await bwrapUnavailableReason(python);
const CANARY_TEXT = 'canary: must survive';
/** A unique number /bin/sleep accepts as an extra argument, so leftovers are findable in /proc. */
const MARKER = `0.000${randomBytes(4).readUInt32BE(0)}`;

function attacks(home: string, output: string): Attack[] {
  const homeCanary = join(home, 'canary.txt');
  const outputCanary = join(output, 'canary.txt');
  const detach = `
import os
def detach():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv('/bin/sleep', ['sleep', '30', '${MARKER}'])
        os._exit(0)
`;
  return [
    { name: 'loops forever', code: 'x = 1', tests: ['while True: pass'], expect: [['Timeout']] },
    {
      name: 'loops forever at import',
      code: 'while True: pass',
      tests: ['assert True', 'assert True'],
      expect: [['Timeout'], ['Timeout']],
    },
    {
      name: 'fork-bombs',
      code: 'import os',
      tests: ['while True: os.fork()', 'assert True'],
      expect: [['BlockingIOError', 'Timeout', 'OutOfMemory'], [null, 'Skipped']],
    },
    {
      name: 'allocates without end',
      code: 'hoard = []',
      // Tests share the program's process (as one exec of the solution and its tests would), so the
      // next test sees the hoard, and can free it.
      tests: [
        'while True: hoard.append(bytearray(1 << 24))',
        'assert len(hoard) > 0',
        'hoard.clear(); assert len(bytearray(1 << 26)) == 1 << 26',
      ],
      expect: [['OutOfMemory'], [null], [null]],
    },
    { name: 'recurses without end', code: 'def f(n):\n    return f(n + 1)', tests: ['f(0)'], expect: [['RecursionError']] },
    {
      name: 'overflows the C stack',
      code: 'import sys\nsys.setrecursionlimit(10**7)\nclass Endless:\n    def __getattr__(self, name):\n        return getattr(self, name)',
      tests: ['Endless().x', 'assert True'],
      expect: [['Killed'], [null]],
    },
    { name: 'aborts', code: 'import os', tests: ['os.abort()', 'assert 1'], expect: [['Killed'], [null]] },
    {
      name: 'deletes files in the home and output dirs',
      code: 'import os, shutil',
      tests: [`os.remove(${JSON.stringify(homeCanary)})`, `shutil.rmtree(${JSON.stringify(output)})`],
      expect: [
        ['PermissionError', 'FileNotFoundError'],
        ['PermissionError', 'FileNotFoundError'],
      ],
      needsFileProtection: true,
    },
    {
      name: 'writes outside its temp dir',
      code: 'x = 1',
      tests: [
        `open(${JSON.stringify(outputCanary)}, 'w').write('owned')`,
        `open(${JSON.stringify(join(output, 'new.txt'))}, 'w').write('owned')`,
        "open('/usr/escaped.txt', 'w').write('owned')",
        "open('scratch.txt', 'w').write('fine'); assert open('scratch.txt').read() == 'fine'",
      ],
      expect: [
        ['PermissionError', 'FileNotFoundError'],
        ['PermissionError', 'FileNotFoundError'],
        ['PermissionError', 'OSError', 'FileNotFoundError'],
        [null],
      ],
      needsFileProtection: true,
    },
    {
      name: 'opens a network connection',
      code: 'import socket',
      tests: ["socket.create_connection(('1.1.1.1', 80), timeout=2)"],
      expect: [['OSError']],
      needsBwrap: true,
    },
    {
      name: 'ignores SIGTERM and sleeps',
      code: 'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)',
      tests: ['time.sleep(60)'],
      expect: [['Timeout']],
    },
    {
      name: 'starts detached children meant to outlive the test',
      code: detach,
      tests: ['detach(); assert True', 'detach(); assert False'],
      expect: [[null], ['AssertionError']],
    },
    {
      name: 'prints a lot',
      code: 'import sys\nchunk = "x" * (1 << 20)',
      tests: ['for _ in range(256): sys.stdout.write(chunk)\nassert True', 'print("{\\"passed\\": true}"); assert False'],
      expect: [[null], ['AssertionError']],
    },
    { name: 'calls sys.exit() at import', code: 'import sys\nsys.exit(0)', tests: ['assert True'], expect: [['ProgramError']] },
    { name: 'calls os._exit() at import', code: 'import os\nos._exit(0)', tests: ['assert True'], expect: [['ProgramError']] },
    {
      name: 'exits inside a test',
      code: 'import os, sys',
      tests: ['sys.exit(0)', 'os._exit(0)', 'assert True'],
      expect: [['SystemExit'], ['Killed'], [null]],
    },
    {
      name: 'closes stdout and the worker descriptors',
      code: 'import os\nos.close(1)\nos.close(2)',
      tests: ['assert True', 'os.closerange(3, 1024); assert True', 'os.write(3, b"V -\\n"); assert False'],
      expect: [[null], ['Killed'], ['AssertionError']],
    },
    {
      name: 'monkeypatches builtins and AssertionError to fake passing',
      code: [
        'import builtins, os',
        "builtins.AssertionError = type('AssertionError', (Exception,), {})",
        'builtins.isinstance = lambda *a: True',
        'os._exit = lambda *a: None',
        'os.write = lambda *a: 0',
        'AssertionError = None',
      ].join('\n'),
      tests: ['assert False', 'assert 1 == 2'],
      expect: [['AssertionError'], ['AssertionError']],
    },
    {
      name: 'forks a copy that would run the remaining tests with another outcome',
      code: 'import os',
      tests: ['pid = os.fork()\nassert pid != 0', 'assert os.getpid() == os.getpid()'],
      expect: [[null], [null]],
    },
    {
      name: 'lowers the CPU limits the next tests need',
      code: 'import resource',
      tests: ['resource.setrlimit(resource.RLIMIT_CPU, (2, 2))', 'assert True', 'assert True'],
      expect: [[null], [null], [null]],
    },
    {
      name: 'raises its soft CPU limit to the hard one and loops',
      code: 'import resource',
      tests: [
        'hard = resource.getrlimit(resource.RLIMIT_CPU)[1]\nresource.setrlimit(resource.RLIMIT_CPU, (hard, hard))\nwhile True: pass',
        'assert True',
      ],
      // Once a test times out the label is known: the tests after it are skipped.
      expect: [['Timeout'], ['Skipped']],
    },
    {
      name: 'ignores SIGXCPU and loops',
      code: 'import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)',
      tests: ['while True: pass', 'assert True'],
      expect: [['Timeout'], ['Skipped']],
    },
    {
      name: 'fails with an exception whose message never ends',
      code: 'class Endless(Exception):\n    def __str__(self):\n        while True: pass',
      tests: ['raise Endless()', 'assert True'],
      expect: [['Endless'], [null]],
    },
    {
      name: 'leaves a thread that kills the process during the next test',
      code: 'import os, threading, time',
      tests: ['threading.Thread(target=lambda: (time.sleep(0.3), os._exit(1))).start()', 'time.sleep(3)', 'assert True'],
      expect: [[null], ['Killed'], [null]],
    },
    // Reaching outside its own process tree: each attempt must fail, or reach only the program's own processes.
    {
      name: 'kills its parent',
      code: 'import os, signal',
      tests: ['try:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n    pass', 'assert True'],
      expect: [[null], [null]],
    },
    {
      name: 'kills every process it may (kill -1)',
      code: 'import os, signal',
      tests: ['try:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass', 'assert True'],
      expect: [[null], [null]],
    },
    {
      name: 'kills every process group it can find',
      code: `import os, signal
def groups():
    found = set()
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                found.add(os.getpgid(int(name)))
            except OSError:
                pass
    return found - {os.getpgrp(), 0}`,
      tests: ['for group in groups():\n    try:\n        os.killpg(group, signal.SIGKILL)\n    except OSError:\n        pass', 'assert True'],
      expect: [[null], [null]],
    },
    {
      name: 'kills every process of its uid it finds in /proc',
      code: `import os, signal
def kill_all_mine():
    for name in os.listdir('/proc'):
        if name.isdigit() and int(name) != os.getpid():
            try:
                if os.stat('/proc/' + name).st_uid == os.getuid():
                    os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass`,
      tests: ['kill_all_mine()', 'assert True'],
      expect: [[null], [null]],
    },
    {
      name: 'digs for the result channel through frames and the heap',
      code: 'import gc, sys',
      tests: [
        'sys._getframe(1).f_locals',
        'gc.get_objects()',
        'try:\n    1 / 0\nexcept ZeroDivisionError as error:\n    error.__traceback__.tb_frame.f_back',
      ],
      expect: [['ValueError'], ['RuntimeError'], ['RuntimeError']],
    },
  ];
}

function markedProcesses(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(MARKER)) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function waitForNoMarked(): Promise<number[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const left = markedProcesses();
    if (left.length === 0) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return markedProcesses();
}

const noUserNamespaces = UNPRIVILEGED_RUN === 'no-user-namespaces' && 'this run checks the refusal instead';
const levels = [
  { isolation: 'bwrap' as const, skip: noUserNamespaces || (bwrapMissing ?? false) },
  { isolation: 'rlimit' as const, skip: noUserNamespaces },
];

for (const { isolation, skip } of levels) {
  describe(`adversarial programs, ${isolation}`, { skip }, () => {
    let executor: SandboxExecutor;
    let scratch: string;
    let home: string;
    let output: string;
    /** A process of our own uid that no judged program may reach. */
    let bystander: ChildProcess;
    before(async () => {
      bystander = spawn('/bin/sleep', ['600'], { stdio: 'ignore', detached: true });
      scratch = mkdtempSync(join(tmpdir(), 'mbpp-adversarial-'));
      home = join(scratch, 'home');
      output = join(scratch, 'output');
      for (const dir of [home, output]) {
        mkdirSync(dir);
        writeFileSync(join(dir, 'canary.txt'), CANARY_TEXT);
      }
      executor = await createExecutor({
        isolation,
        workers: 4,
        limits: { cpuSeconds: 1, wallSeconds: 6, memoryMb: 512, maxProcesses: 32 },
      });
    });
    after(async () => {
      bystander.kill('SIGKILL');
      await executor.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('gives each hostile program the right verdicts, leaves no process and no damage', async () => {
      const protectedFiles = isolation === 'bwrap' || isRoot();
      const chosen = attacks(home, output).filter(
        (attack) => (!attack.needsFileProtection || protectedFiles) && (!attack.needsBwrap || isolation === 'bwrap'),
      );
      const outcomes = await Promise.all(
        chosen.map((attack) => executor.execute({ code: attack.code, setupCode: '', tests: attack.tests })),
      );
      const wrong: string[] = [];
      chosen.forEach((attack, index) => {
        const results: TestResult[] = outcomes[index]!.testResults;
        assert.equal(results.length, attack.tests.length, attack.name);
        results.forEach((result, test) => {
          const accepted = attack.expect[test]!;
          if (!accepted.includes(result.error_type) || result.passed !== (result.error_type === null)) {
            wrong.push(`${attack.name}, test ${test}: got ${result.error_type} (${result.message}), expected ${accepted.join(' or ')}`);
          }
        });
      });
      assert.deepEqual(wrong, []);
      if (protectedFiles) {
        for (const dir of [home, output]) assert.equal(readFileSync(join(dir, 'canary.txt'), 'utf8'), CANARY_TEXT);
        assert.deepEqual(readdirSync(output), ['canary.txt']);
      }
      assert.deepEqual(await waitForNoMarked(), [], 'detached children survived their test');
      assert.equal(bystander.exitCode ?? bystander.signalCode, null, 'a bystander process of our uid was killed');
      const after = await executor.execute({ code: 'def ok():\n    return 1', setupCode: '', tests: ['assert ok() == 1'] });
      assert.equal(after.testResults[0]!.passed, true, 'the pool still judges programs after the attacks');
    });
  });
}

/**
 * Most users are not root, and root hides what a same-uid program can reach: as root, this suite runs itself
 * again as `nobody` (with a Python that user can read), once as is and once where user namespaces cannot be
 * made, whose run must refuse the uncontained level. Skipped where there is no root, no runuser, or nobody
 * cannot read the checkout.
 */
function unprivilegedSetup(): { python: string } | string {
  if (!isRoot()) return 'not root';
  if (UNPRIVILEGED_RUN) return 'this is the unprivileged run';
  const asNobody = (...command: string[]) => spawnSync('runuser', ['-u', 'nobody', '--', ...command], { stdio: 'ignore' }).status === 0;
  if (!asNobody('test', '-r', join(REPO_ROOT, 'node_modules/tsx/package.json'))) return 'nobody cannot read the checkout (or no runuser)';
  const interpreter = [python.executable, '/usr/bin/python3'].find((candidate) => asNobody(candidate, '-c', 'pass'));
  return interpreter ? { python: interpreter } : 'nobody can run no Python';
}

const unprivileged = unprivilegedSetup();

describe('adversarial programs as an unprivileged user', { skip: typeof unprivileged === 'string' ? unprivileged : false }, () => {
  const { python: interpreter } = unprivileged as { python: string };
  const runAsNobody = (mode: string, wrapper: string[] = []) =>
    spawnSync(
      'runuser',
      ['-u', 'nobody', '--', ...wrapper, process.execPath, '--import', 'tsx', '--test', 'test/sandbox-adversarial.test.ts'],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: tmpdir(), MBPP_STREAM_PYTHON: interpreter, MBPP_STREAM_UNPRIVILEGED_RUN: mode },
      },
    );

  it('contains every hostile program at the bwrap and rlimit levels: the builder and a bystander of the same uid survive', () => {
    const run = runAsNobody('contained');
    assert.equal(run.status, 0, `the suite as nobody failed:\n${run.stdout.slice(-6000)}\n${run.stderr.slice(-2000)}`);
    assert.match(run.stdout, /# fail 0/);
    assert.doesNotMatch(run.stdout, /# pass 0\n/, 'the suite as nobody ran no test');
  });

  it('refuses to run uncontained where user namespaces cannot be made, unless the user opts in', { skip: bwrapMissing ?? false }, () => {
    // bwrap --disable-userns: inside, no process may create a user namespace, as on a system without them.
    const run = runAsNobody('no-user-namespaces', ['bwrap', '--unshare-user', '--disable-userns', '--dev-bind', '/', '/', '--']);
    assert.equal(run.status, 0, `the refusal suite as nobody failed:\n${run.stdout.slice(-6000)}\n${run.stderr.slice(-2000)}`);
    assert.match(run.stdout, /# pass [1-9]/);
  });
});

describe('a platform that cannot contain judged code', { skip: UNPRIVILEGED_RUN !== 'no-user-namespaces' }, () => {
  it('is refused (naming --allow-uncontained), and runs only when the user opts in', async () => {
    await assert.rejects(createExecutor({ isolation: 'rlimit', workers: 1 }), (error: Error) => {
      assert.equal(error.name, 'InputError');
      assert.match(error.message, /could kill or signal this builder.*--allow-uncontained/);
      return true;
    });
    const executor = await createExecutor({ isolation: 'rlimit', workers: 1, allowUncontained: true });
    try {
      assert.equal(executor.judge.containment, null);
      assert.ok(executor.warnings.some((warning) => warning.includes('--allow-uncontained')));
      const outcome = await executor.execute({ code: 'x = 1', setupCode: '', tests: ['assert x == 1'] });
      assert.equal(outcome.testResults[0]!.passed, true);
    } finally {
      await executor.close();
    }
  });
});
