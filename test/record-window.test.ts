import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordWindow } from '../src/streams/record-window.ts';

describe('RecordWindow', () => {
  it('lets in `limit` records, then one per record done, and completes after the last', () => {
    const window = new RecordWindow([1, 2, 3, 4, 5], 2);
    const seen: number[] = [];
    let completed = false;
    window.records$.subscribe({ next: (record) => seen.push(record), complete: () => (completed = true) });
    assert.deepEqual(seen, [1, 2]);
    window.release();
    assert.deepEqual(seen, [1, 2, 3]);
    window.release();
    window.release();
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(completed, true);
  });

  it('takes a place freed while it is letting records in (a record done at once)', () => {
    const window = new RecordWindow([1, 2, 3, 4], 1);
    const seen: number[] = [];
    window.records$.subscribe((record) => {
      seen.push(record);
      window.release();
    });
    assert.deepEqual(seen, [1, 2, 3, 4]);
  });

  it('stops letting records in once unsubscribed', () => {
    const window = new RecordWindow([1, 2, 3], 1);
    const seen: number[] = [];
    window.records$.subscribe((record) => seen.push(record)).unsubscribe();
    window.release();
    assert.deepEqual(seen, [1]);
    assert.throws(() => new RecordWindow([], 0), RangeError);
  });
});
