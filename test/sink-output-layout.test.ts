import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { formatTimestamp, OutputLayout } from '../src/io/output-layout.js';
import { tempDir } from './sink-rows.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

/** 2024-03-05 07:08:09 local time. */
const start = new Date(2024, 2, 5, 7, 8, 9);

describe('output layout', () => {
  it('formats the timestamp as YYYYMMDD_HHMMSS in local time', () => {
    assert.equal(formatTimestamp(start), '20240305_070809');
    assert.equal(formatTimestamp(new Date(1999, 11, 31, 23, 59, 58)), '19991231_235958');
  });

  it("names the files as the original pipeline's layout", async () => {
    const out = join(dir, 'out');
    const layout = await OutputLayout.create(out, { now: start });
    assert.equal(layout.timestamp, '20240305_070809');
    assert.deepEqual(layout.dataset, {
      parquet: join(out, 'mbpp_datasets', 'mbpp_dataset_20240305_070809.parquet'),
      json: join(out, 'mbpp_datasets', 'mbpp_dataset_20240305_070809.json'),
      metadata: join(out, 'mbpp_datasets', 'mbpp_dataset_20240305_070809_extended_metadata.json'),
    });
    assert.equal(layout.logFile, join(out, 'mbpp_logs', 'mbpp_production_20240305_070809.log'));
    assert.equal(layout.checkpointsDir, join(out, 'mbpp_datasets', 'checkpoints'));
    assert.equal(layout.autosavesDir, join(out, 'mbpp_datasets', 'autosaves'));
    const test = await OutputLayout.create(join(dir, 'other'), { now: start, testRun: true });
    assert.equal(test.logFile, join(dir, 'other', 'mbpp_logs', 'mbpp_test_20240305_070809.log'));
  });

  it('creates nothing until a directory is asked for', async () => {
    const out = join(dir, 'out');
    const layout = await OutputLayout.create(out, { now: start });
    assert.deepEqual(await readdir(dir), []);
    assert.equal(await layout.ensureDirectory(layout.autosavesDir), layout.autosavesDir);
    assert.deepEqual(await readdir(join(out, 'mbpp_datasets')), ['autosaves']);
    assert.deepEqual(await readdir(out), ['mbpp_datasets']);
  });

  it('suffixes the timestamp when a run of the same second exists on disk', async () => {
    await mkdir(join(dir, 'mbpp_datasets'));
    await writeFile(join(dir, 'mbpp_datasets', 'mbpp_dataset_20240305_070809.parquet'), '');
    await mkdir(join(dir, 'mbpp_logs'));
    await writeFile(join(dir, 'mbpp_logs', 'mbpp_production_20240305_070809_1.log'), '');
    const layout = await OutputLayout.create(dir, { now: start });
    assert.equal(layout.timestamp, '20240305_070809_2');
    assert.equal(layout.dataset.parquet, join(dir, 'mbpp_datasets', 'mbpp_dataset_20240305_070809_2.parquet'));
  });

  it('gives two runs of this process in the same second different timestamps', async () => {
    const [a, b] = await Promise.all([OutputLayout.create(dir, { now: start }), OutputLayout.create(dir, { now: start })]);
    assert.notEqual(a?.timestamp, b?.timestamp);
    assert.deepEqual([a?.timestamp, b?.timestamp].sort(), ['20240305_070809', '20240305_070809_1']);
  });

  it('rejects an output dir that is a file, naming --output-dir', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, 'x');
    await assert.rejects(OutputLayout.create(file, { now: start }), (e) => e instanceof InputError && /^--output-dir: cannot read .*plain-file.*ENOTDIR/.test(e.message));
  });
});
