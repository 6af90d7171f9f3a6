import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { warmInterpreter } from '../src/cli/interpreter-warmup.js';
import { resolvePython } from '../src/sandbox/python.js';

const dir = mkdtempSync(join(tmpdir(), 'mbpp-warmup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An interpreter (a wrapper of the real one) that counts how often it is started. */
async function countingPython(name: string): Promise<{ path: string; starts: () => number }> {
  const real = (await resolvePython()).executable;
  const path = join(dir, name);
  const log = `${path}.starts`;
  writeFileSync(log, '');
  writeFileSync(path, `#!/bin/sh\necho start >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(path, 0o755);
  return { path, starts: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length };
}

describe('warming the interpreter before the CLI loads', () => {
  it('resolves the --python of a judging command once: the command later gets that answer', async () => {
    for (const [index, argv] of [
      (path: string) => ['build', '--python', path, '--backend', 'reference'],
      (path: string) => ['evaluate', `--python=${path}`],
    ].entries()) {
      const python = await countingPython(`python-${index}`);
      warmInterpreter(argv(python.path));
      for (let waited = 0; python.starts() === 0 && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(python.starts(), 1, 'started before the command asked');
      const resolved = await resolvePython(python.path);
      assert.ok(resolved.executable.length > 0);
      assert.equal(python.starts(), 1, `one start for ${argv('PY').join(' ')}`);
    }
  });

  it('starts nothing for a command that judges no code, or a --python after --', async () => {
    const python = await countingPython('python-unused');
    warmInterpreter(['report', 'a.parquet', '--python', python.path]);
    warmInterpreter(['build', '--', '--python', python.path]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(python.starts(), 0);
  });

  it('leaves a failure to the command: nothing is thrown or left unhandled here', async () => {
    warmInterpreter(['build', '--python', join(dir, 'no-such-python')]);
    await assert.rejects(resolvePython(join(dir, 'no-such-python')), /--python/);
  });
});
