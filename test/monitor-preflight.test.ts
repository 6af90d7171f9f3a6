import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readNvidiaGpus } from '../src/monitor/gpu-reader.js';
import { assertPreflight, PreflightError, renderPreflightTable, runPreflight } from '../src/monitor/preflight.js';
import {
  compareVersions,
  cudaProviderCheck,
  diskSpaceCheck,
  estimateRunDiskBytes,
  gpuCheck,
  machineCheck,
  nodeVersionCheck,
  pathFoundCheck,
  pythonCheck,
  sandboxCheck,
} from '../src/monitor/preflight-checks.js';
import { resolvePython } from '../src/sandbox/python.js';

const GIB = 1024 ** 3;
const fakeSmiDir = fileURLToPath(new URL('../fixtures/nvidia-smi/', import.meta.url));

let tmp = '';
const originalPath = process.env['PATH'];
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mbpp-preflight-'));
  process.env['PATH'] = `${fakeSmiDir}${path.delimiter}${originalPath}`;
});
after(async () => {
  process.env['PATH'] = originalPath;
  await rm(tmp, { recursive: true, force: true });
});

describe('preflight', () => {
  it('fails on a missing python, naming it, and keeps the other rows', async () => {
    const missing = path.join(tmp, 'no-python-here', 'python3');
    const result = await runPreflight([nodeVersionCheck(), pythonCheck(() => resolvePython(missing))]);
    assert.equal(result.ok, false);
    assert.deepEqual(result.rows.map((row) => [row.name, row.status]), [['node', 'ok'], ['python', 'fail']]);
    assert.match(result.rows[1]!.detail, new RegExp(`cannot run Python '${missing.replace(/[/.]/g, '\\$&')}'`));
    assert.throws(() => assertPreflight(result), (error: unknown) =>
      error instanceof PreflightError && error.message.startsWith(`preflight failed: python: sandbox: cannot run Python '${missing}'`));
  });

  it('fails when the output disk has less room than the run needs (simulated), warns when tight', async () => {
    const outputDir = path.join(tmp, 'not', 'created', 'yet');
    const needed = estimateRunDiskBytes(974);
    const freeBlocks = (bytes: number) => async (dir: string) => {
      assert.equal(dir, tmp, 'asks the nearest existing folder');
      return { bavail: bytes / 4096, bsize: 4096 };
    };
    const full = await runPreflight([diskSpaceCheck(outputDir, needed, freeBlocks(4096 * 10))]);
    assert.equal(full.ok, false);
    assert.match(full.rows[0]!.detail, /^0\.0 GiB free in .*, run needs about 0\.1 GiB$/);
    const tight = await runPreflight([diskSpaceCheck(outputDir, needed, freeBlocks(4096 * Math.ceil(needed * 1.5 / 4096)))]);
    assert.deepEqual([tight.ok, tight.rows[0]!.status], [true, 'warn']);
    const real = await runPreflight([diskSpaceCheck(outputDir, 1)]);
    assert.equal(real.rows[0]!.status, 'ok');
  });

  it('fails when more devices are requested than the box has (fake nvidia-smi, 4 GPUs)', async () => {
    const result = await runPreflight([gpuCheck([0, 1, 2, 3, 4, 5], () => readNvidiaGpus())]);
    assert.equal(result.ok, false);
    assert.match(result.rows[0]!.detail, /^--devices 0,1,2,3,4,5 requested, but 4,5 not present: 4 found \(0: NVIDIA A100-SXM4-80GB, /);
    const fits = await runPreflight([gpuCheck([0, 3], () => readNvidiaGpus())]);
    assert.equal(fits.ok, true);
  });

  it('fails a GPU request on a box without nvidia-smi, and passes a CPU run there', async () => {
    const none = async () => ({ available: false as const, gpus: [] as [], reason: 'nvidia-smi not found on PATH' });
    const gpuRun = await runPreflight([gpuCheck([0], none)]);
    assert.equal(gpuRun.rows[0]!.detail, '--devices 0 requested, but 0 not present: nvidia-smi not found on PATH');
    const cpuRun = await runPreflight([gpuCheck([], none)]);
    assert.equal(cpuRun.ok, true);
  });

  it('asks nvidia-smi once per PATH it is missing from, and again on a PATH that has it', async () => {
    const empty = await mkdtemp(path.join(tmp, 'no-smi-'));
    const withSmi = process.env['PATH'];
    process.env['PATH'] = empty;
    try {
      const notFound = { available: false, gpus: [], reason: 'nvidia-smi not found on PATH' };
      assert.deepEqual(await readNvidiaGpus(), notFound);
      // Run, it would fail otherwise.
      await writeFile(path.join(empty, 'nvidia-smi'), '#!/bin/sh\nexit 9\n', { mode: 0o755 });
      assert.deepEqual(await readNvidiaGpus(), notFound, 'no new shell for the same PATH');
    } finally {
      process.env['PATH'] = withSmi;
    }
    assert.equal((await readNvidiaGpus()).gpus.length, 4);
  });

  it('warns on a weak sandbox and a small machine, and continues', async () => {
    const result = await runPreflight([
      sandboxCheck(async () => 'rlimit'),
      machineCheck({ cores: 1, memoryBytes: 2 * GIB }),
      sandboxCheck(async () => 'bwrap'),
    ]);
    assert.equal(result.ok, true);
    assert.deepEqual(result.rows.map((row) => row.status), ['warn', 'warn', 'ok']);
    assert.doesNotThrow(() => assertPreflight(result));
  });

  it('checks the CUDA provider only when wanted, and model/dataset paths', async () => {
    const dataset = path.join(tmp, 'mbpp.jsonl');
    await writeFile(dataset, '{}\n');
    const result = await runPreflight([
      cudaProviderCheck(true, () => false),
      cudaProviderCheck(false, () => false),
      pathFoundCheck('dataset', '--dataset', dataset),
      pathFoundCheck('model', '--model', path.join(tmp, 'no-model')),
    ]);
    assert.deepEqual(result.rows.map((row) => row.status), ['fail', 'ok', 'ok', 'fail']);
    assert.equal(result.rows[2]!.detail, `${dataset} (3 B)`);
    assert.equal(result.rows[3]!.detail, `--model ${path.join(tmp, 'no-model')}: ENOENT`);
  });

  it('turns a throwing check into a failed row and renders a table', async () => {
    const result = await runPreflight([
      { name: 'node', run: () => ({ status: 'ok', detail: '20.19.0' }) },
      { name: 'exploding', run: () => { throw new Error('probe crashed'); } },
    ]);
    assert.equal(result.ok, false);
    assert.equal(
      renderPreflightTable(result.rows),
      ['status check     detail', 'ok     node      20.19.0', 'fail   exploding probe crashed'].join('\n'),
    );
  });

  it('compares versions numerically', async () => {
    assert.equal(compareVersions('20.9.0', '20.19.0'), -1);
    assert.equal(compareVersions('v22.1.0', '20.19.0'), 1);
    assert.equal((await runPreflight([nodeVersionCheck('18.20.1')])).rows[0]!.detail, '18.20.1 is older than the 20.19.0 this tool needs');
  });
});
