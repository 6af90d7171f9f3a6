import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { InputError } from '../src/errors.js';
import { AutosaveSeries, type AutosaveSeriesOptions } from '../src/io/autosave/autosave-series.js';
import { tierOf, trailingMerge } from '../src/io/autosave/part-tiers.js';
import { AutosaveWriter } from '../src/io/autosave-writer.js';
import { openRun, type RunStore } from '../src/io/run-store/run-store.js';
import { recordKey } from '../src/records.js';
import { makeFailure, makeIdentity, makeResult } from './runstore-records.js';
import { tempDir } from './sink-rows.js';

let dir: string;
let cleanup: () => Promise<void>;
/** One clock for every attempt of a test, ticking a second per autosave, from 2024-03-05 07:08:09 local time. */
let now: () => Date;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  let seconds = 9;
  now = () => new Date(2024, 2, 5, 7, 8, seconds++);
});
afterEach(() => cleanup());

const layoutIn = (root: string) => ({ datasetsDir: join(root, 'mbpp_datasets'), checkpointsDir: join(root, 'mbpp_datasets', 'checkpoints') });
const autosavesIn = (root: string) => join(root, 'mbpp_datasets', 'autosaves');

function seriesOf(store: RunStore, overrides: Partial<AutosaveSeriesOptions> = {}): Promise<AutosaveSeries> {
  const journal = store.journalFile;
  return AutosaveSeries.open({
    autosavesDir: autosavesIn(dir),
    runId: store.runId,
    journal: { path: journal.path, id: journal.id },
    keepLast: 3,
    redo: [],
    attemptStart: journal.size,
    now,
    ...overrides,
  });
}

/** Journals `count` records from `first` on, 4 samples a task. */
async function journal(store: RunStore, first: number, count: number): Promise<void> {
  for (let n = first; n < first + count; n++) await store.append(makeResult(1 + Math.floor(n / 4), n % 4));
}

/** An autosave as an independent reader (hyparquet) sees it: every Parquet file of the directory, in name order. */
async function readAutosave(path: string): Promise<Array<{ task_id: number; sample_index: number; status: string }>> {
  const names = (await readdir(path)).filter((name) => name.endsWith('.parquet')).sort();
  const rows = [];
  for (const name of names) {
    rows.push(...((await parquetReadObjects({ file: await asyncBufferFromFile(join(path, name)), columns: ['task_id', 'sample_index', 'status'] })) as Array<{
      task_id: number;
      sample_index: number;
      status: string;
    }>));
  }
  return rows;
}

const keysOf = (rows: ReadonlyArray<{ task_id: number; sample_index: number }>) => rows.map((row) => recordKey(row.task_id, row.sample_index));

describe('autosave part tiers', () => {
  it('merges ten trailing parts of one order of magnitude, up to parts of 10,000 rows', () => {
    assert.deepEqual([1, 9, 10, 99, 100, 999, 1000, 9999, 10_000, 250_000].map(tierOf), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    const hundred = (from: number) => ({ from, to: from + 1, rows: 100 });
    const nine = Array.from({ length: 9 }, (_, i) => hundred(i));
    assert.equal(trailingMerge(nine), null);
    assert.deepEqual(trailingMerge([{ from: 0, to: 0, rows: 5000 }, ...nine, hundred(9)]), [1, 10]);
    assert.equal(trailingMerge([...nine.slice(0, 5), { from: 5, to: 6, rows: 37 }, ...nine.slice(5)]), null, 'an odd part breaks the run of ten');
    assert.equal(trailingMerge(Array.from({ length: 12 }, (_, i) => ({ from: i, to: i + 1, rows: 10_000 }))), null, 'the top tier is never merged');
  });
});

describe('AutosaveSeries', () => {
  it('writes each autosave as a directory of Parquet parts holding every row journaled so far, and keeps the newest 3', async () => {
    const store = await openRun({ layout: layoutIn(dir), identity: makeIdentity() });
    const series = await seriesOf(store);
    assert.equal(await series.save(store.journalFile.size), null, 'no row yet: no autosave');
    for (let save = 0; save < 5; save++) {
      await journal(store, save * 7, 7);
      const saved = await series.save(store.journalFile.size);
      assert.equal(saved?.rows, (save + 1) * 7);
      assert.equal(saved.covered, store.journalFile.size);
    }
    assert.equal(await series.save(store.journalFile.size), null, 'nothing new: no autosave');
    const names = (await readdir(autosavesIn(dir))).sort();
    assert.deepEqual(names, [
      `autosave_${store.runId}_20240305_070811_21.parquet`,
      `autosave_${store.runId}_20240305_070812_28.parquet`,
      `autosave_${store.runId}_20240305_070813_35.parquet`,
    ]);
    const newest = join(autosavesIn(dir), names[2]!);
    const expected = Array.from({ length: 35 }, (_, n) => recordKey(1 + Math.floor(n / 4), n % 4));
    assert.deepEqual(keysOf(await readAutosave(newest)), expected, 'journal order, each record once');
    const files = (await readdir(newest)).sort();
    assert.equal(files.filter((name) => !name.endsWith('.parquet')).join(), '_autosave.json', 'readers skip the manifest (leading _)');
    assert.equal(files.filter((name) => name.startsWith('part-')).length, 5, 'one part per save');
    await store.close();
  });

  it('writes only the new rows: earlier parts are hard links, and ten small parts become one', async () => {
    const store = await openRun({ layout: layoutIn(dir), identity: makeIdentity() });
    const series = await seriesOf(store, { keepLast: 2 });
    let previous = '';
    for (let save = 0; save < 23; save++) {
      await journal(store, save * 10, 10);
      const { path } = (await series.save(store.journalFile.size))!;
      const parts = (await readdir(path)).filter((name) => name.endsWith('.parquet')).sort();
      if (previous !== '' && save !== 9 && save !== 19) {
        // All but the newest part are the very files of the autosave before: same inode, no byte rewritten.
        for (const part of parts.slice(0, -1)) assert.equal((await stat(join(path, part))).ino, (await stat(join(previous, part))).ino, part);
      }
      previous = path;
    }
    const parts = (await readdir(previous)).filter((name) => name.endsWith('.parquet'));
    assert.equal(parts.length, 2 + 3, 'two merged parts of 100 rows, then three of 10');
    assert.equal((await readAutosave(previous)).length, 230);
    const manifest = JSON.parse(await readFile(join(previous, '_autosave.json'), 'utf8')) as { parts: Array<{ rows: number }> };
    assert.deepEqual(manifest.parts.map((part) => part.rows), [100, 100, 10, 10, 10]);
    await store.close();
  });

  it('goes on from the newest autosave in a later attempt, without rewriting it', async () => {
    const store = await openRun({ layout: layoutIn(dir), identity: makeIdentity() });
    const first = await seriesOf(store);
    await journal(store, 0, 12);
    const before = (await first.save(store.journalFile.size))!;
    await journal(store, 12, 5); // finished by the first attempt after its last autosave
    await store.close();

    const resumed = await openRun({ layout: layoutIn(dir), identity: makeIdentity() });
    await journal(resumed, 17, 3);
    const after = (await (await seriesOf(resumed)).save(resumed.journalFile.size))!;
    const [oldPart] = (await readdir(before.path)).filter((name) => name.endsWith('.parquet'));
    assert.equal((await stat(join(after.path, oldPart!))).ino, (await stat(join(before.path, oldPart!))).ino, 'the old part is linked');
    assert.deepEqual(keysOf(await readAutosave(after.path)), Array.from({ length: 20 }, (_, n) => recordKey(1 + Math.floor(n / 4), n % 4)));
    await resumed.close();
  });

  it('leaves out the failures retry-failed redoes, takes their new rows once, and a later build puts the rest back', async () => {
    const store = await openRun({ layout: layoutIn(dir), identity: makeIdentity() });
    const build = await seriesOf(store);
    await store.append(makeResult(1));
    await store.append(makeFailure(2, 'TransientError: 503', 3));
    await store.append(makeFailure(3, 'TransientError: 503', 3));
    await store.append(makeResult(4));
    await build.save(store.journalFile.size);
    await store.close();

    const retry = await openRun({ layout: layoutIn(dir), identity: makeIdentity() });
    const redo = retry.failedRecords().map((failed) => recordKey(failed.task_id, failed.sample_index));
    const series = await seriesOf(retry, { redo });
    await retry.append(makeResult(2, 0, { attempts: 4 }));
    const first = (await series.save(retry.journalFile.size))!;
    assert.deepEqual(
      (await readAutosave(first.path)).map((row) => [row.task_id, row.status]),
      [[1, 'ok'], [4, 'ok'], [2, 'ok']],
      'task 3 is being redone: left out until it finishes; task 2 once, as redone',
    );
    // Stopped here: task 3 was never redone. The next build's autosave has it again, as failed.
    await retry.close();
    const rebuild = await openRun({ layout: layoutIn(dir), identity: makeIdentity() });
    await rebuild.append(makeResult(5));
    const last = (await (await seriesOf(rebuild)).save(rebuild.journalFile.size))!;
    assert.deepEqual(
      (await readAutosave(last.path)).map((row) => [row.task_id, row.status]).sort(),
      [[1, 'ok'], [2, 'ok'], [3, 'failed'], [4, 'ok'], [5, 'ok']],
    );
    await rebuild.close();
  });

  it('rebuilds instead of extending an autosave of another journal, and clears a save a crash left half made', async () => {
    const store = await openRun({ layout: layoutIn(dir), identity: makeIdentity() });
    await journal(store, 0, 6);
    await (await seriesOf(store)).save(store.journalFile.size);
    await store.close();
    const crashedSave = join(autosavesIn(dir), `.autosave_${store.runId}_0123456789ab.tmp`);
    await mkdir(crashedSave);
    await writeFile(join(crashedSave, 'part-0000000000000-0000000000010.parquet'), 'half');

    const fresh = await openRun({ layout: layoutIn(dir), identity: makeIdentity(), fresh: true });
    await journal(fresh, 100, 2);
    const saved = (await (await seriesOf(fresh)).save(fresh.journalFile.size))!;
    assert.deepEqual(keysOf(await readAutosave(saved.path)), [recordKey(26, 0), recordKey(26, 1)], 'only the new journal');
    assert.equal((await readdir(autosavesIn(dir))).some((name) => name.endsWith('.tmp')), false);
    await fresh.close();
  });
});

describe('AutosaveWriter', () => {
  it('writes in its own thread: autosave() returns at once, requests made while one is written are folded into one', async () => {
    const store = await openRun({ layout: layoutIn(dir), identity: makeIdentity() });
    const saved: number[] = [];
    const writer = new AutosaveWriter({ autosavesDir: autosavesIn(dir), runId: store.runId, journal: () => store.journalFile, onSaved: (save) => saved.push(save.rows) });
    for (let n = 0; n < 30; n++) {
      await journal(store, n, 1);
      await writer.autosave(n + 1);
    }
    const last = await writer.flush();
    assert.equal(last?.rows, 30);
    assert.ok(saved.length < 30 && saved.at(-1) === 30, `saves folded: ${saved.join(',')}`);
    assert.equal((await readAutosave(last.path)).length, 30);
    await writer.close();
    await store.close();
  });

  it('reports a failed write at once and on every later call', async () => {
    const store = await openRun({ layout: layoutIn(dir), identity: makeIdentity() });
    await journal(store, 0, 3);
    const notFolder = join(dir, 'a-file');
    await writeFile(notFolder, '');
    const errors: Error[] = [];
    const writer = new AutosaveWriter({ autosavesDir: join(notFolder, 'autosaves'), runId: store.runId, journal: () => store.journalFile, onError: (error) => errors.push(error) });
    await assert.rejects(writer.flush(), (error: Error & { code?: string }) => error.code === 'ENOTDIR');
    assert.equal(errors.length, 1);
    await assert.rejects(writer.autosave(3), (error) => error === errors[0]);
    await writer.close();
    await store.close();
  });

  it('refuses a run id that cannot name a file and a keep count below one', async () => {
    const journalNow = () => ({ path: join(dir, 'journal.log'), id: 'j', size: 0 });
    assert.throws(() => new AutosaveWriter({ autosavesDir: dir, runId: '../evil', journal: journalNow }), InputError);
    assert.throws(() => new AutosaveWriter({ autosavesDir: dir, runId: 'r', journal: journalNow, keepLast: 0 }), /autosave_keep_last/);
  });
});
