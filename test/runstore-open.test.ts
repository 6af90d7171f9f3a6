import assert from 'node:assert/strict';
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { InputError } from '../src/errors.ts';
import { recordKey } from '../src/records.ts';
import { CHECKPOINT_FORMAT, listCheckpoints } from '../src/io/run-store/checkpoint-snapshot.ts';
import { runIdOf } from '../src/io/run-store/run-identity.ts';
import { openRun, type OpenRunOptions } from '../src/io/run-store/run-store.ts';
import { allResults, makeFailure, makeIdentity, makeOutputDir, makeResult, recordingLogger } from './runstore-records.ts';

/** A deterministic shuffle (xorshift), so a failure reproduces. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = Math.abs(state) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('openRun', () => {
  let dir: string;
  let layout: OpenRunOptions['layout'];
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, layout, cleanup } = await makeOutputDir()));
  afterEach(() => cleanup());

  async function listTree(): Promise<string[]> {
    return (await readdir(dir, { recursive: true })).map(String).sort();
  }

  it('starts a run, then resumes exactly the completed keys whatever order they finished in', async () => {
    const identity = makeIdentity();
    const keys: Array<{ task: number; sample: number }> = [];
    for (let task = 11; task <= 40; task += 1) for (let sample = 0; sample < 2; sample += 1) keys.push({ task, sample });
    for (const seed of [7, 1234, 99991]) {
      const order = shuffled(keys, seed);
      const first = await openRun({ layout, identity, total: keys.length, fresh: true });
      assert.equal(first.opening.resumed, false);
      assert.match(first.opening.summary, new RegExp(`^starting run ${first.runId}: 0/60 done`));
      const doneFirst = order.slice(0, 37);
      let count = 0;
      for (const { task, sample } of doneFirst) {
        await first.append(makeResult(task, sample));
        count += 1;
        if (count % 5 === 0) await first.checkpoint(count);
      }
      await first.close();

      const second = await openRun({ layout, identity, total: keys.length });
      assert.equal(second.runId, first.runId);
      assert.equal(second.opening.resumed, true);
      assert.equal(second.opening.resumedCount, 37);
      assert.equal(second.opening.summary, `resuming run ${first.runId}: 37/60 done`);
      assert.deepEqual(second.completedKeys(), new Set(doneFirst.map(({ task, sample }) => recordKey(task, sample))));
      const remaining = keys.filter(({ task, sample }) => !second.isCompleted(task, sample));
      assert.equal(remaining.length, 23);
      for (const { task, sample } of remaining) await second.append(makeResult(task, sample));
      const results = await allResults(second, 7);
      assert.deepEqual(
        results.map((r) => recordKey(r.task_id, r.sample_index)),
        keys.map(({ task, sample }) => recordKey(task, sample)),
        'each record once, in (task_id, sample_index) order',
      );
      await second.close();
    }
  });

  it('journals records appended together as if one by one: counted, resumed and in the dataset once each', async () => {
    const identity = makeIdentity();
    const first = await openRun({ layout, identity, total: 6 });
    await first.appendAll([makeResult(11, 0), makeFailure(12, 'boom', 3), makeResult(13, 0)]);
    await first.append(makeResult(14, 0));
    assert.deepEqual(first.counts(), { done: 4, ok: 3, failed: 1, correct: 3 });
    await first.checkpoint(4);
    await first.close();
    const second = await openRun({ layout, identity, total: 6 });
    assert.equal(second.opening.summary, `resuming run ${second.runId}: 4/6 done, 1 failed`);
    await second.appendAll([makeResult(12, 0), makeResult(15, 0)]);
    assert.deepEqual(second.counts(), { done: 5, ok: 5, failed: 0, correct: 5 });
    assert.deepEqual(
      (await allResults(second, 2)).map((row) => recordKey(row.task_id, row.sample_index)),
      ['11:0', '12:0', '13:0', '14:0', '15:0'],
    );
    await second.close();
  });

  it('refuses a command whose settings differ, naming each one, and writes nothing', async () => {
    const identity = makeIdentity();
    const store = await openRun({ layout, identity });
    await store.append(makeResult(1));
    await store.checkpoint(1);
    await store.close();
    const before = await listTree();
    const changed = makeIdentity({ generation: { ...identity.generation, temperature: 0.8 }, model: 'gemma-2b' });
    await assert.rejects(openRun({ layout, identity: changed }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, new RegExp(`--temperature: run ${store.runId} used 0, this command 0\\.8`));
      assert.match(error.message, new RegExp(`--model: run ${store.runId} used "reference", this command "gemma-2b"`));
      assert.match(error.message, /--fresh/);
      assert.match(error.message, /--output-dir/);
      assert.equal(error.message.includes('\n'), false);
      return true;
    });
    await assert.rejects(openRun({ layout, identity: changed, runId: store.runId }), /--temperature: run/);
    assert.deepEqual(await listTree(), before);
  });

  it('--fresh sets the earlier run and its checkpoints aside instead of deleting them', async () => {
    const identity = makeIdentity();
    const now = () => new Date('2024-05-06T07:08:09.010Z');
    const store = await openRun({ layout, identity, now });
    await store.append(makeResult(1));
    await store.append(makeResult(2));
    await store.checkpoint(2);
    await store.close();
    const journalBefore = await readFile(join(layout.datasetsDir, 'runs', store.runId, 'journal.log'));

    const other = makeIdentity({ split: 'validation' });
    const fresh = await openRun({ layout, identity: other, fresh: true, now });
    assert.equal(fresh.opening.resumed, false);
    assert.equal(fresh.opening.resumedCount, 0);
    const aside = join(layout.datasetsDir, 'runs', `${store.runId}.old-2024-05-06T07-08-09-010Z`);
    assert.deepEqual(fresh.opening.setAside, [aside]);
    assert.match(fresh.opening.summary, /set aside/);
    assert.deepEqual(await readFile(join(aside, 'journal.log')), journalBefore);
    assert.equal((await readdir(join(aside, 'checkpoints'))).length, 1);
    assert.deepEqual(await listCheckpoints(layout.checkpointsDir, store.runId), []);
    await fresh.close();

    // Same command again with --fresh: the previous fresh run is set aside under another name, not overwritten.
    const again = await openRun({ layout, identity: other, fresh: true, now });
    assert.equal(again.opening.setAside.length, 1);
    await again.close();
    const names = await readdir(join(layout.datasetsDir, 'runs'));
    assert.equal(names.filter((name) => name.includes('.old-')).length, 2);
  });

  it('--run-id names the run; the same settings later find it again', async () => {
    const identity = makeIdentity();
    const named = await openRun({ layout, identity, runId: 'nightly-1' });
    assert.equal(named.runId, 'nightly-1');
    await named.append(makeResult(5));
    await named.close();
    assert.ok((await stat(join(layout.datasetsDir, 'runs', 'nightly-1', 'journal.log'))).isFile());

    const byName = await openRun({ layout, identity, runId: 'nightly-1' });
    assert.equal(byName.opening.resumedCount, 1);
    await byName.close();
    const bySettings = await openRun({ layout, identity });
    assert.equal(bySettings.runId, 'nightly-1');
    assert.equal(bySettings.opening.resumed, true);
    await bySettings.close();

    for (const bad of ['../x', '', '.hidden', 'a b', 'x'.repeat(65)]) {
      await assert.rejects(openRun({ layout, identity, runId: bad }), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /^--run-id /);
        return true;
      });
    }
  });

  it('tracks failed records with error and attempts, and replaces them when redone', async () => {
    const identity = makeIdentity();
    const store = await openRun({ layout, identity, total: 5 });
    await store.append(makeResult(1));
    await store.append(makeFailure(2, 'TransientError: 503 from server', 3));
    await store.append(makeFailure(4, 'context length exceeded', 1));
    await store.append(makeResult(3, 0, { is_correct: false }));
    await store.checkpoint(4);
    await store.close();

    const resumed = await openRun({ layout, identity, total: 5 });
    assert.equal(resumed.opening.summary, `resuming run ${resumed.runId}: 4/5 done, 2 failed`);
    assert.deepEqual(resumed.failedRecords(), [
      { task_id: 2, sample_index: 0, error: 'TransientError: 503 from server', attempts: 3 },
      { task_id: 4, sample_index: 0, error: 'context length exceeded', attempts: 1 },
    ]);
    assert.deepEqual(resumed.counts(), { done: 4, ok: 2, failed: 2, correct: 1 }, 'task 1 is correct, task 3 wrong');
    // retry-failed: task 2 now succeeds, task 4 fails again with more attempts.
    await resumed.append(makeResult(2, 0, { attempts: 4 }));
    await resumed.append(makeFailure(4, 'context length exceeded', 2));
    assert.deepEqual(resumed.counts(), { done: 4, ok: 3, failed: 1, correct: 2 });
    await resumed.close();

    const after = await openRun({ layout, identity });
    assert.deepEqual(after.failedRecords(), [{ task_id: 4, sample_index: 0, error: 'context length exceeded', attempts: 2 }]);
    assert.deepEqual(after.counts(), { done: 4, ok: 3, failed: 1, correct: 2 }, 'the redone record counted once, from the journal after the checkpoint');
    const results = await allResults(after);
    assert.deepEqual(results.map((r) => [r.task_id, r.status, r.attempts]), [
      [1, 'ok', 1],
      [2, 'ok', 4],
      [3, 'ok', 1],
      [4, 'failed', 2],
    ]);
    await after.close();
  });

  it('keeps the last 3 snapshots, each compact and free of results', async () => {
    const identity = makeIdentity();
    const store = await openRun({ layout, identity });
    const sizes: number[] = [];
    for (let task = 1; task <= 400; task += 1) {
      await store.append(makeResult(task, 0, { prompt: `SECRET-PROMPT-${task}`, generated_code: `SECRET-CODE-${task}` }));
      if (task % 50 === 0) {
        await store.checkpoint(task);
        const [newest] = await listCheckpoints(layout.checkpointsDir, store.runId);
        sizes.push((await stat(newest?.path as string)).size);
      }
    }
    await store.close();
    const files = await listCheckpoints(layout.checkpointsDir, store.runId);
    assert.deepEqual(files.map((file) => file.seq), [8, 7, 6]);
    const text = await readFile(files[0]?.path as string, 'utf8');
    assert.equal(text.includes('SECRET-'), false, 'a snapshot holds no results');
    const snapshot = JSON.parse(text);
    assert.equal(snapshot.format, CHECKPOINT_FORMAT);
    assert.equal(snapshot.runId, store.runId);
    assert.deepEqual(snapshot.identity, identity);
    assert.deepEqual(snapshot.completed, { '0': [[1, 400]] });
    assert.equal(snapshot.counters.done, 400);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) < 16, `snapshot size stays flat: ${sizes.join(', ')}`);
  });

  describe('damage', () => {
    async function runWithCheckpoints(records: number, every: number) {
      const identity = makeIdentity();
      const store = await openRun({ layout, identity });
      for (let task = 1; task <= records; task += 1) {
        await store.append(makeResult(task));
        if (task % every === 0) await store.checkpoint(task);
      }
      await store.close();
      return { identity, runId: store.runId, files: await listCheckpoints(layout.checkpointsDir, store.runId) };
    }

    async function reopen(identity = makeIdentity()) {
      const logger = recordingLogger();
      const store = await openRun({ layout, identity, logger });
      return { store, logger };
    }

    it('falls back to the previous snapshot when the newest is corrupt or empty', async () => {
      const { files } = await runWithCheckpoints(23, 5);
      await writeFile(files[0]?.path as string, '{"format":1,"runId":');
      await writeFile(files[1]?.path as string, '');
      const { store, logger } = await reopen();
      assert.equal(store.opening.resumedCount, 23);
      assert.equal(logger.warnings.length, 2);
      assert.match(logger.warnings[0] as string, /not valid JSON.*falling back/);
      assert.match(logger.warnings[1] as string, /empty/);
      assert.deepEqual(store.opening.warnings, logger.warnings);
      await store.append(makeResult(24));
      await store.checkpoint(24);
      const newest = await listCheckpoints(layout.checkpointsDir, store.runId);
      assert.equal(newest[0]?.seq, (files[0]?.seq as number) + 1, 'numbering continues past the damaged one');
      await store.close();
    });

    it('says what it repaired in a pino log', async () => {
      const { files } = await runWithCheckpoints(5, 5);
      await writeFile(files[0]?.path as string, 'garbage');
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
      const store = await openRun({ layout, identity: makeIdentity(), logger });
      await store.close();
      const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string; runId: string });
      assert.equal(entries[0]?.level, 40);
      assert.match(entries[0]?.msg as string, /unusable \(not valid JSON\)/);
      assert.equal(entries[0]?.runId, store.runId);
      assert.equal(entries.at(-1)?.msg, `resuming run ${store.runId}: 5 done`);
    });

    it('rebuilds from the journal when no snapshot is usable', async () => {
      const { files } = await runWithCheckpoints(12, 4);
      for (const file of files) await writeFile(file.path, 'garbage');
      const { store, logger } = await reopen();
      assert.equal(store.opening.resumedCount, 12);
      assert.match(logger.warnings.at(-1) as string, /rebuilding its progress from the journal/);
      await store.close();
    });

    it('counts correct records from the journal when the snapshot is of a version that did not count them', async () => {
      const identity = makeIdentity();
      const store = await openRun({ layout, identity });
      for (let task = 1; task <= 6; task += 1) await store.append(makeResult(task, 0, { is_correct: task % 3 !== 0 }));
      await store.checkpoint(6);
      await store.close();
      const [file] = await listCheckpoints(layout.checkpointsDir, store.runId);
      const snapshot = JSON.parse(await readFile(file!.path, 'utf8'));
      delete snapshot.counters.correct;
      await writeFile(file!.path, JSON.stringify(snapshot));
      const { store: reopened, logger } = await reopen(identity);
      assert.deepEqual(reopened.counts(), { done: 6, ok: 6, failed: 0, correct: 4 });
      assert.match(logger.warnings[0] as string, /unusable \(no count of correct records\); falling back/);
      await reopened.close();
    });

    it('ignores a snapshot from a newer format with a warning', async () => {
      const { files } = await runWithCheckpoints(10, 5);
      const newest = JSON.parse(await readFile(files[0]?.path as string, 'utf8'));
      await writeFile(files[0]?.path as string, JSON.stringify({ ...newest, format: CHECKPOINT_FORMAT + 1, completed: {} }));
      const { store, logger } = await reopen();
      assert.equal(store.opening.resumedCount, 10);
      assert.match(logger.warnings[0] as string, /ignoring checkpoint .*format 2 is newer/);
      await store.close();
    });

    it('cuts a torn journal tail: the torn record is redone once, nothing duplicates', async () => {
      const { runId } = await runWithCheckpoints(10, 4);
      const journal = join(layout.datasetsDir, 'runs', runId, 'journal.log');
      await truncate(journal, (await stat(journal)).size - 20);
      const { store, logger } = await reopen();
      assert.equal(store.opening.resumedCount, 9);
      assert.equal(store.isCompleted(10, 0), false);
      assert.match(logger.warnings[0] as string, /cut off the torn tail/);
      await store.append(makeResult(10));
      assert.deepEqual((await allResults(store, 3)).map((r) => r.task_id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      await store.close();
    });

    it('distrusts a snapshot that covers more journal than exists', async () => {
      const { runId } = await runWithCheckpoints(10, 5);
      const journal = join(layout.datasetsDir, 'runs', runId, 'journal.log');
      const text = await readFile(journal, 'utf8');
      const lines = text.split('\n').filter(Boolean);
      await writeFile(journal, `${lines.slice(0, 3).join('\n')}\n`);
      const { store, logger } = await reopen();
      assert.equal(store.opening.resumedCount, 3);
      assert.match(logger.warnings[0] as string, /covers \d+ journal bytes but the journal has/);
      await store.close();
    });

    it('rewrites a lost manifest from the settings its id was derived from', async () => {
      const { runId } = await runWithCheckpoints(6, 3);
      await writeFile(join(layout.datasetsDir, 'runs', runId, 'manifest.json'), '');
      const { store, logger } = await reopen();
      assert.equal(store.runId, runId);
      assert.equal(store.opening.resumedCount, 6);
      assert.match(logger.warnings[0] as string, /manifest was not valid JSON; rewritten/);
      await store.close();
    });
  });

  it('lets a finished run give way to other settings, until it takes new results', async () => {
    const identity = makeIdentity();
    const store = await openRun({ layout, identity });
    await store.append(makeResult(1));
    await store.markFinished();
    await store.close();
    const other = makeIdentity({ split: 'train' });
    const second = await openRun({ layout, identity: other });
    assert.notEqual(second.runId, store.runId);
    await second.close();

    const reopened = await openRun({ layout, identity: other });
    await reopened.close();
    const first = await openRun({ layout, identity, runId: store.runId });
    assert.equal(runIdOf(identity), store.runId);
    await first.append(makeFailure(2, 'boom', 1));
    await first.close();
    await assert.rejects(openRun({ layout, identity: makeIdentity({ split: 'prompt' }) }), /has an unfinished run .*\(and 1 more\)/);
  });
});
