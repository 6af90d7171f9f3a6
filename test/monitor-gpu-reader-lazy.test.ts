import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readNvidiaGpus } from '../src/monitor/gpu-reader.js';

// A file of its own: node-nvidia-smi must not have been loaded by an earlier test in this process.
const loadedSmi = (): boolean => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('/node-nvidia-smi/'));
const fakeSmiDir = fileURLToPath(new URL('../fixtures/nvidia-smi/', import.meta.url));

describe('GPU reader on a machine without nvidia-smi', () => {
  it('answers from a look at PATH, without loading node-nvidia-smi; loads it once nvidia-smi is there', async () => {
    const path = process.env['PATH'];
    try {
      process.env['PATH'] = join(tmpdir(), 'no-nvidia-smi-here');
      assert.deepEqual(await readNvidiaGpus(), { available: false, gpus: [], reason: 'nvidia-smi not found on PATH' });
      assert.equal(loadedSmi(), false, 'node-nvidia-smi (and xml2js) stay unloaded');
      process.env['PATH'] = `${fakeSmiDir}:${path ?? ''}`;
      assert.equal((await readNvidiaGpus()).available, true);
      assert.equal(loadedSmi(), true);
    } finally {
      process.env['PATH'] = path;
    }
  });
});
