import assert from 'node:assert/strict';
import { readFile, stat, truncate, appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CheckpointJournal } from '../src/io/run-store/checkpoint-journal.ts';
import { decodeJournalLine, encodeJournalLine } from '../src/io/run-store/journal-line.ts';
import { makeOutputDir } from './runstore-records.ts';

describe('journal line', () => {
  it('round-trips a value, unicode included', () => {
    const value = { task_id: 3, text: 'naïve 🐍 "quoted"\nnewline' };
    const line = encodeJournalLine(value);
    assert.equal(line[line.length - 1], 0x0a);
    assert.equal(line.subarray(0, -1).includes(0x0a), false, 'a newline inside the JSON would split the line');
    assert.deepEqual(decodeJournalLine(line.subarray(0, -1)), value);
  });

  it('rejects a truncated line, a flipped byte and a wrong length', () => {
    const line = encodeJournalLine({ task_id: 1, code: 'x = 1' }).subarray(0, -1);
    assert.equal(decodeJournalLine(line.subarray(0, line.length - 3)), null);
    const flipped = Buffer.from(line);
    flipped[flipped.length - 4] = (flipped[flipped.length - 4] as number) ^ 0x01;
    assert.equal(decodeJournalLine(flipped), null);
    assert.equal(decodeJournalLine(Buffer.from(`9${line.toString('latin1')}`, 'latin1')), null);
    assert.equal(decodeJournalLine(Buffer.from('')), null);
    assert.equal(decodeJournalLine(Buffer.from('garbage without spaces')), null);
  });
});

describe('CheckpointJournal', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await makeOutputDir()));
  afterEach(() => cleanup());

  async function readAll(path: string): Promise<unknown[]> {
    const journal = await CheckpointJournal.open(path);
    const entries: unknown[] = [];
    await journal.read((entry) => entries.push(entry));
    await journal.close();
    return entries;
  }

  it('appends durably and reads entries back in order, batching concurrent appends', async () => {
    const path = join(dir, 'journal.log');
    const journal = await CheckpointJournal.open(path);
    await journal.recover(0, () => assert.fail('a new journal has no entries'));
    const ends = await Promise.all(Array.from({ length: 20 }, (_, i) => journal.append({ n: i })));
    assert.deepEqual([...ends].sort((a, b) => a - b), ends, 'offsets increase in append order');
    assert.equal(ends.at(-1), (await stat(path)).size);
    await journal.close();
    assert.deepEqual(await readAll(path), Array.from({ length: 20 }, (_, i) => ({ n: i })));
  });

  it('appendAll writes its entries together, in order, and resolves with the offset past each', async () => {
    const path = join(dir, 'journal.log');
    const journal = await CheckpointJournal.open(path);
    await journal.recover(0, () => assert.fail('a new journal has no entries'));
    const [first, batch, last] = await Promise.all([
      journal.append({ n: 0 }),
      journal.appendAll([{ n: 1 }, { n: 2 }, { n: 3 }]),
      journal.appendAll([{ n: 4 }]),
    ]);
    const ends = [first, ...batch, ...last];
    const sizes = [0, 1, 2, 3, 4].map((n) => encodeJournalLine({ n }).length);
    assert.deepEqual(ends, sizes.map((_, i) => sizes.slice(0, i + 1).reduce((a, b) => a + b, 0)));
    assert.equal(journal.size, (await stat(path)).size);
    assert.deepEqual(await journal.appendAll([]), [], 'nothing to write is written at once');
    await journal.close();
    assert.deepEqual(await readAll(path), [0, 1, 2, 3, 4].map((n) => ({ n })));
  });

  it('cuts a torn tail back to the last good line, keeps a copy, and appends cleanly after', async () => {
    const path = join(dir, 'journal.log');
    const journal = await CheckpointJournal.open(path);
    await journal.recover(0, () => undefined);
    await journal.append({ n: 1 });
    const goodEnd = await journal.append({ n: 2 });
    await journal.append({ n: 3 });
    await journal.close();
    const full = (await stat(path)).size;
    await truncate(path, full - 7);
    const torn = await readFile(path);

    const reopened = await CheckpointJournal.open(path);
    const seen: unknown[] = [];
    const recovery = await reopened.recover(0, (entry) => seen.push(entry), () => new Date('2024-01-02T03:04:05Z'));
    assert.deepEqual(seen, [{ n: 1 }, { n: 2 }]);
    assert.equal(recovery.damage.length, 1);
    const [damage] = recovery.damage;
    assert.equal(damage?.kind, 'torn-tail');
    assert.equal(damage?.offset, goodEnd);
    assert.deepEqual(await readFile(damage?.savedTo as string), torn.subarray(goodEnd));
    assert.equal((await stat(path)).size, goodEnd);
    await reopened.append({ n: 4 });
    await reopened.close();
    assert.deepEqual(await readAll(path), [{ n: 1 }, { n: 2 }, { n: 4 }]);
  });

  it('treats a complete line that lost its newline as torn', async () => {
    const path = join(dir, 'journal.log');
    const line = encodeJournalLine({ n: 1 });
    await writeFile(path, Buffer.concat([line, line.subarray(0, -1)]));
    const journal = await CheckpointJournal.open(path);
    const seen: unknown[] = [];
    const recovery = await journal.recover(0, (entry) => seen.push(entry));
    assert.deepEqual(seen, [{ n: 1 }]);
    assert.equal(recovery.damage[0]?.kind, 'torn-tail');
    assert.equal(journal.size, line.length);
    await journal.close();
  });

  it('skips a corrupt line between good ones without cutting the good ones', async () => {
    const path = join(dir, 'journal.log');
    await writeFile(path, encodeJournalLine({ n: 1 }));
    await appendFile(path, 'this line was damaged on disk\n');
    await appendFile(path, encodeJournalLine({ n: 3 }));
    const journal = await CheckpointJournal.open(path);
    const seen: unknown[] = [];
    const recovery = await journal.recover(0, (entry) => seen.push(entry));
    assert.deepEqual(seen, [{ n: 1 }, { n: 3 }]);
    assert.deepEqual(recovery.damage.map((d) => d.kind), ['corrupt-line']);
    assert.equal(await readFile(recovery.damage[0]?.savedTo as string, 'utf8'), 'this line was damaged on disk\n');
    await journal.close();
  });

  it('reads lines longer than one read chunk', async () => {
    const path = join(dir, 'journal.log');
    const journal = await CheckpointJournal.open(path);
    await journal.recover(0, () => undefined);
    const big = { code: 'x'.repeat(3 << 20) };
    await journal.append({ n: 1 });
    await journal.append(big);
    await journal.append({ n: 3 });
    await journal.close();
    const entries = await readAll(path);
    assert.equal(entries.length, 3);
    assert.deepEqual(entries[1], big);
  });

  it('scans only from a given line boundary', async () => {
    const path = join(dir, 'journal.log');
    const journal = await CheckpointJournal.open(path);
    await journal.recover(0, () => undefined);
    const first = await journal.append({ n: 1 });
    await journal.append({ n: 2 });
    assert.equal(await journal.isLineBoundary(first), true);
    assert.equal(await journal.isLineBoundary(first - 1), false);
    assert.equal(await journal.isLineBoundary(journal.size + 10), false);
    await journal.close();
    const reopened = await CheckpointJournal.open(path);
    const seen: unknown[] = [];
    await reopened.recover(first, (entry) => seen.push(entry));
    assert.deepEqual(seen, [{ n: 2 }]);
    await reopened.close();
  });
});
