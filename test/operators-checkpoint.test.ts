import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY, from, lastValueFrom, tap, throwError, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { checkpointEvery } from '../src/operators/checkpoint-every.js';
import type { CheckpointStore } from '../src/operators/stores.js';

const marbles = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

/** 1..5 through `checkpointEvery(every, store)`: what came out, and each item with the journal's length when it did. */
async function throughPromiseStore(every: number, store: CheckpointStore<number>, journal: readonly number[]) {
  const seen: Array<[number, number]> = [];
  const out = await lastValueFrom(
    from([1, 2, 3, 4, 5]).pipe(
      checkpointEvery(every, store),
      tap((item) => seen.push([item, journal.length])),
      toArray(),
    ),
  );
  return { out, seen };
}

/** A store on virtual time: it logs each call with its frame and takes as long as the given cold marbles say. */
function virtualStore(
  scheduler: TestScheduler,
  writes: { append?: () => Observable<unknown>; checkpoint?: (count: number) => Observable<unknown> } = {},
) {
  const calls: string[] = [];
  return {
    calls,
    store: {
      append: (item: string) => {
        calls.push(`${scheduler.now()} append ${item}`);
        return writes.append?.() ?? EMPTY;
      },
      checkpoint: (count: number) => {
        calls.push(`${scheduler.now()} checkpoint ${count}`);
        return writes.checkpoint?.(count) ?? EMPTY;
      },
    },
  };
}

/** The same with `appendAll`, which takes as long as one append. */
function groupCommitStore(scheduler: TestScheduler, writes: Parameters<typeof virtualStore>[1] = {}) {
  const { calls, store } = virtualStore(scheduler, writes);
  const appendAll = (items: readonly string[]) => {
    calls.push(`${scheduler.now()} appendAll ${items.join(',')}`);
    return writes.append?.() ?? EMPTY;
  };
  return { calls, store: { ...store, appendAll } };
}

describe('checkpointEvery', () => {
  it('appends every item, checkpoints every n-th, and once more at completion', () => {
    const scheduler = marbles();
    const { calls, store } = virtualStore(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-b-c-d-e|').pipe(checkpointEvery(2, store))).toBe('-a-b-c-d-e|');
    });
    assert.deepStrictEqual(calls, [
      '1 append a',
      '3 append b',
      '3 checkpoint 2',
      '5 append c',
      '7 append d',
      '7 checkpoint 4',
      '9 append e',
      '10 checkpoint 5',
    ]);
  });

  it('writes no extra checkpoint at completion right after a periodic one, nor for an empty stream', () => {
    const scheduler = marbles();
    const { calls, store } = virtualStore(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-b|').pipe(checkpointEvery(2, store))).toBe('-a-b|');
      expectObservable(cold('---|').pipe(checkpointEvery(2, store))).toBe('---|');
    });
    assert.deepStrictEqual(calls, ['1 append a', '3 append b', '3 checkpoint 2']);
  });

  it('emits an item only once its append (and checkpoint) has finished, in order', () => {
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable }) => {
      const { store } = virtualStore(scheduler, { append: () => cold('--|'), checkpoint: () => cold('---|') });
      // a: append 0-2; b: append 2-4, checkpoint 4-7; c: append 7-9; final checkpoint 9-12.
      expectObservable(cold('(abc|)').pipe(checkpointEvery(2, store))).toBe('--a----b-c--|');
    });
  });

  it('errors the stream when an append fails, without emitting the item', () => {
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable }) => {
      const disk = new Error('ENOSPC: journal');
      let appends = 0;
      const store = {
        append: () => (++appends === 2 ? throwError(() => disk) : EMPTY),
        checkpoint: () => EMPTY,
      };
      expectObservable(cold('-a-b-c|').pipe(checkpointEvery(5, store))).toBe('-a-#', undefined, disk);
    });
  });

  it('errors the stream when a checkpoint fails', () => {
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable }) => {
      const disk = new Error('EIO: checkpoint');
      const { store } = virtualStore(scheduler, { checkpoint: () => cold('-#', undefined, disk) });
      expectObservable(cold('-a-b-c|').pipe(checkpointEvery(2, store))).toBe('-a--#', undefined, disk);
    });
  });

  it('writes no final checkpoint when the source errors or the subscriber leaves', () => {
    const scheduler = marbles();
    const { calls, store } = virtualStore(scheduler);
    scheduler.run(({ cold, hot, expectObservable }) => {
      const error = new Error('source broke');
      expectObservable(cold('-a-#', undefined, error).pipe(checkpointEvery(5, store))).toBe('-a-#', undefined, error);
      expectObservable(hot('-----x-y|').pipe(checkpointEvery(5, store)), '^-----!').toBe('-----x');
    });
    assert.deepStrictEqual(calls, ['1 append a', '5 append x']);
  });

  it('keeps a separate count per subscription', () => {
    const scheduler = marbles();
    const { calls, store } = virtualStore(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const checkpointed = cold('a|').pipe(checkpointEvery(2, store));
      expectObservable(checkpointed).toBe('a|');
      expectObservable(checkpointed).toBe('a|');
    });
    assert.deepStrictEqual(calls, ['0 append a', '0 append a', '1 checkpoint 1', '1 checkpoint 1']);
  });

  it('works with a Promise-based CheckpointStore', async () => {
    const journal: number[] = [];
    const snapshots: number[] = [];
    const store: CheckpointStore<number> = {
      append: async (item) => {
        journal.push(item);
      },
      checkpoint: async (count) => {
        snapshots.push(count);
      },
    };
    const { out, seen } = await throughPromiseStore(2, store, journal);
    assert.deepStrictEqual(out, [1, 2, 3, 4, 5]);
    assert.deepStrictEqual(seen, [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]], 'each item is journalled before it is emitted');
    assert.deepStrictEqual(journal, [1, 2, 3, 4, 5]);
    assert.deepStrictEqual(snapshots, [2, 4, 5]);
  });

  it('appends what arrives during a write with one appendAll, in order, checkpointing where it would item by item', () => {
    const scheduler = marbles();
    const { calls, store } = groupCommitStore(scheduler, { append: () => scheduler.createColdObservable('----|') });
    scheduler.run(({ cold, expectObservable }) => {
      // a: 0-4; b and c came meanwhile: 4-8, then checkpoint 3; d came meanwhile: 8-12, final checkpoint.
      expectObservable(cold('ab-c--d|').pipe(checkpointEvery(3, store, { gatherMs: 0 }))).toBe('----a---(bc)(d|)');
    });
    assert.deepStrictEqual(calls, ['0 append a', '4 appendAll b,c', '8 checkpoint 3', '8 append d', '12 checkpoint 4']);
  });

  it('lets the first item wait gatherMs for company, but not past the n-th item or the end of the source', () => {
    const gathered = (source: string, n: number, gatherMs: number, expected: string) => {
      const scheduler = marbles();
      const { calls, store } = groupCommitStore(scheduler, { append: () => scheduler.createColdObservable('-|') });
      scheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold(source).pipe(checkpointEvery(n, store, { gatherMs }))).toBe(expected);
      });
      return calls;
    };
    // a waits 3 for b; c would wait until 11, but the source ends at 9.
    assert.deepStrictEqual(gathered('ab------c|', 10, 3, '----(ab)--(c|)'), ['3 appendAll a,b', '9 append c', '10 checkpoint 3']);
    // b is the 2nd item: written at once, with a; c waits, then goes with the end.
    assert.deepStrictEqual(gathered('ab--c|', 2, 5, '--(ab)(c|)'), ['1 appendAll a,b', '2 checkpoint 2', '5 append c', '6 checkpoint 3']);
  });

  it('errors the stream when an appendAll fails, emitting none of its items', () => {
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable }) => {
      const disk = new Error('ENOSPC: journal');
      const store = { append: () => cold('--|'), appendAll: () => cold('-#', undefined, disk), checkpoint: () => EMPTY };
      expectObservable(cold('abc|').pipe(checkpointEvery(5, store, { gatherMs: 0 }))).toBe('--a#', undefined, disk);
    });
  });

  it('groups the appends of a Promise-based store, each item emitted once its batch is durable', async () => {
    const journal: number[] = [];
    const batches: number[][] = [];
    const store: CheckpointStore<number> = {
      append: async (item) => {
        batches.push([item]);
        journal.push(item);
      },
      appendAll: async (items) => {
        batches.push([...items]);
        journal.push(...items);
      },
      checkpoint: async () => undefined,
    };
    const { out, seen } = await throughPromiseStore(3, store, journal);
    assert.deepStrictEqual(out, [1, 2, 3, 4, 5]);
    assert.deepStrictEqual(batches, [[1, 2, 3], [4, 5]], 'a batch ends at every 3rd item and at the end');
    assert.deepStrictEqual(seen, [[1, 3], [2, 3], [3, 3], [4, 5], [5, 5]]);
  });

  it('rejects a frequency that is not a positive integer', () => {
    const store = { append: () => EMPTY, checkpoint: () => EMPTY };
    assert.throws(() => checkpointEvery(0, store), /checkpointEvery: n must be a positive integer, got 0/);
    assert.throws(() => checkpointEvery(2.5, store), RangeError);
  });
});
