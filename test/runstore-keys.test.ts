import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordKeySet } from '../src/io/run-store/record-key-set.ts';
import { canonicalJson, describeDifferences, diffIdentities, runIdOf } from '../src/io/run-store/run-identity.ts';
import { makeIdentity } from './runstore-records.ts';

describe('RecordKeySet', () => {
  it('keeps keys in order-independent compact ranges', () => {
    const a = new RecordKeySet();
    const b = new RecordKeySet();
    const ids = [5, 1, 3, 2, 4, 10, 9, 11, 20];
    for (const id of ids) a.add(id, 0);
    for (const id of [...ids].reverse()) b.add(id, 0);
    a.add(3, 0);
    a.add(7, 1);
    b.add(7, 1);
    assert.deepEqual(a.toRanges(), { '0': [[1, 5], [9, 11], [20, 20]], '1': [[7, 7]] });
    assert.deepEqual(b.toRanges(), a.toRanges());
    assert.equal(a.size, 10);
    assert.equal(a.has(4, 0), true);
    assert.equal(a.has(6, 0), false);
    assert.equal(a.has(7, 0), false);
    assert.equal(a.has(7, 1), true);
  });

  it('lists its keys by sample index, then task id', () => {
    const set = new RecordKeySet();
    for (const [task, sample] of [[9, 1], [3, 0], [2, 0], [4, 0], [1, 1], [7, 0]] as const) set.add(task, sample);
    assert.deepEqual(
      [...set.entries()].map(({ taskId, sampleIndex }) => `${taskId}:${sampleIndex}`),
      ['2:0', '3:0', '4:0', '7:0', '1:1', '9:1'],
    );
  });

  it('round-trips through its ranges and refuses malformed ones', () => {
    const set = new RecordKeySet();
    for (const id of [1, 2, 3, 8, 600]) set.add(id, 0);
    set.add(2, 3);
    const back = RecordKeySet.fromRanges(JSON.parse(JSON.stringify(set.toRanges())));
    assert.deepEqual(back?.toRanges(), set.toRanges());
    assert.equal(back?.size, 6);
    for (const bad of [null, [], { '0': [[3, 1]] }, { '0': [[5, 9], [1, 2]] }, { x: [[1, 2]] }, { '0': [[1, 'a']] }, { '0': 'all' }]) {
      assert.equal(RecordKeySet.fromRanges(bad), null, JSON.stringify(bad));
    }
  });
});

describe('run identity', () => {
  it('names a run by its settings, whatever their key order', () => {
    const identity = makeIdentity();
    const reordered = JSON.parse(canonicalJson({ ...identity, generation: { ...identity.generation } } as never)) as typeof identity;
    const shuffled = { ...reordered, generation: Object.fromEntries(Object.entries(identity.generation).reverse()) };
    assert.equal(runIdOf(shuffled), runIdOf(identity));
    assert.match(runIdOf(identity), /^[0-9a-f]{12}$/);
    assert.notEqual(runIdOf(makeIdentity({ generation: { ...identity.generation, temperature: 0.8 } })), runIdOf(identity));
    assert.notEqual(runIdOf(makeIdentity({ promptTemplate: `${identity.promptTemplate} ` })), runIdOf(identity));
  });

  it('names each differing setting by its flag', () => {
    const stored = makeIdentity();
    const current = makeIdentity({
      model: 'gemma',
      promptTemplate: 'x'.repeat(200),
      generation: { ...stored.generation, temperature: 0.8, topK: 40 },
    });
    const differences = diffIdentities(stored, current);
    assert.deepEqual(
      differences.map((d) => d.flag),
      ['--model', '--prompt-template (text)', '--temperature', '--top-k'],
    );
    const message = describeDifferences('3f9c', differences);
    assert.match(message, /--temperature: run 3f9c used 0, this command 0\.8/);
    assert.match(message, /--top-k: run 3f9c used nothing, this command 40/);
    assert.match(message, /--prompt-template \(text\): run 3f9c used \d+ chars \(sha256 [0-9a-f]{8}…\), this command 202 chars/);
    assert.deepEqual(diffIdentities(stored, makeIdentity()), []);
  });

  it('MBPP+ data, and the original MBPP joined to it, name runs of their own, by --dataset-format and --original-dataset', () => {
    const mbpp = makeIdentity();
    const plus = makeIdentity({ datasetFormat: 'mbppplus' });
    const joined = makeIdentity({ datasetFormat: 'mbppplus', originalDatasetSha256: 'ab'.repeat(32) });
    assert.equal(new Set([mbpp, plus, joined].map(runIdOf)).size, 3);
    assert.deepEqual(diffIdentities(mbpp, joined).map((d) => d.flag), ['--dataset-format', '--original-dataset (sha256)']);
  });
});
