import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { AutosaveWriter } from '../src/io/autosave-writer.js';
import { OutputLayout } from '../src/io/output-layout.js';
import { readParquetFile } from '../src/io/parquet-file.js';
import { tableToResults } from '../src/io/result-table.js';
import type { GenerationResult } from '../src/records.js';
import { manyRows, tempDir } from './sink-rows.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

/** A clock that ticks one second per call, from 2024-03-05 07:08:09 local time. */
function ticking(): () => Date {
  let seconds = 9;
  return () => new Date(2024, 2, 5, 7, 8, seconds++);
}

describe('AutosaveWriter', () => {
  it('writes the rows so far as autosave_<run>_<timestamp>_<count>.parquet and keeps the last 3', async () => {
    const layout = await OutputLayout.create(dir);
    const all = manyRows(6);
    let done: GenerationResult[] = [];
    const writer = new AutosaveWriter({ layout, runId: 'run-a', rows: () => done, now: ticking() });
    for (let count = 1; count <= 5; count++) {
      done = all.slice(0, count);
      await writer.autosave(count);
    }
    const names = (await readdir(layout.autosavesDir)).sort();
    assert.deepEqual(names, [
      'autosave_run-a_20240305_070811_3.parquet',
      'autosave_run-a_20240305_070812_4.parquet',
      'autosave_run-a_20240305_070813_5.parquet',
    ]);
    const newest = join(layout.autosavesDir, names[2] ?? '');
    assert.deepEqual(tableToResults(await readParquetFile(newest), newest), all.slice(0, 5));
  });

  it("prunes only its own run's autosaves and honours keepLast", async () => {
    const layout = await OutputLayout.create(dir);
    await mkdir(layout.autosavesDir, { recursive: true });
    const others = ['autosave_run-b_20200101_000000_1.parquet', 'autosave_run_20200101_000000_1.parquet', 'notes.txt'];
    for (const name of others) await writeFile(join(layout.autosavesDir, name), '');
    const writer = new AutosaveWriter({ layout, runId: 'run', rows: async () => manyRows(2), keepLast: 1, now: ticking() });
    await writer.autosave(2);
    await writer.autosave(4);
    assert.deepEqual((await readdir(layout.autosavesDir)).sort(), [
      'autosave_run-b_20200101_000000_1.parquet',
      'autosave_run_20240305_070810_4.parquet',
      'notes.txt',
    ]);
  });

  it('runs overlapping autosaves one after the other', async () => {
    const layout = await OutputLayout.create(dir);
    const writer = new AutosaveWriter({ layout, runId: 'r', rows: () => manyRows(3), now: ticking() });
    await Promise.all([1, 2, 3, 4].map((count) => writer.autosave(count)));
    assert.deepEqual((await readdir(layout.autosavesDir)).sort(), [
      'autosave_r_20240305_070810_2.parquet',
      'autosave_r_20240305_070811_3.parquet',
      'autosave_r_20240305_070812_4.parquet',
    ]);
  });

  it('creates no directory until the first autosave, and rejects bad settings', async () => {
    const layout = await OutputLayout.create(join(dir, 'out'));
    new AutosaveWriter({ layout, runId: 'r', rows: () => [] });
    assert.deepEqual(await readdir(dir), []);
    assert.throws(() => new AutosaveWriter({ layout, runId: '../evil', rows: () => [] }), InputError);
    assert.throws(() => new AutosaveWriter({ layout, runId: 'r', rows: () => [], keepLast: 0 }), /autosave_keep_last/);
  });
});
