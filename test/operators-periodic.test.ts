import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { EMPTY, tap, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { autosaveEvery } from '../src/operators/autosave-every.js';
import { collectGarbage } from '../src/operators/garbage-collection.js';
import { gcEvery } from '../src/operators/gc-every.js';
import { memoryCleanupEvery, type MemoryReport } from '../src/operators/memory-cleanup-every.js';
import type { OperatorLogger } from '../src/operators/operator-logger.js';
import { tapEvery } from '../src/operators/tap-every.js';

const marbles = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

/** A logger that keeps what it was given, by level. */
function recordingLogger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const logger: OperatorLogger = { debug: at('debug'), info: at('info'), warn: at('warn') };
  return { lines, logger };
}

describe('tapEvery', () => {
  it('acts on every n-th item with its count, and holds that item until the action is done', () => {
    const scheduler = marbles();
    const calls: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const acted = cold('-abcde|').pipe(
        tapEvery(2, (count, item) => {
          calls.push(`${scheduler.now()} ${count} ${item}`);
          return cold('----|');
        }),
      );
      // b waits 2-6 and c queues behind it; d arrives at 4, queues, then waits 6-10; e follows it.
      expectObservable(acted).toBe('-a----(bc)(de|)');
    });
    assert.deepStrictEqual(calls, ['2 2 b', '6 4 d']);
  });
});

describe('autosaveEvery', () => {
  /** A sink that notes when (in virtual ms) each autosave was asked for, and of how many items. */
  const notingSink = (scheduler: ReturnType<typeof marbles>, saves: string[]) => ({
    autosave: (count: number) => {
      saves.push(`${scheduler.now()} ${count}`);
      return EMPTY;
    },
  });

  it('autosaves on every n-th item and not at completion', () => {
    const scheduler = marbles();
    const saves: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const sink = notingSink(scheduler, saves);
      expectObservable(cold('-a-b-c-d-e|').pipe(autosaveEvery(2, sink))).toBe('-a-b-c-d-e|');
    });
    assert.deepStrictEqual(saves, ['3 2', '7 4']);
  });

  it('autosaves on an n-th item only once the minimum interval has passed since the last autosave or the start', () => {
    const scheduler = marbles();
    const saves: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const sink = notingSink(scheduler, saves);
      // Every 2nd item comes at 3, 7, 11, 15, 19 and 23 ms; with 5 ms at least between autosaves, 3 is too soon
      // after the start, and 11 and 19 too soon after the autosave 4 ms before them.
      expectObservable(cold('-a-b-c-d-e-f-g-h-i-j-k-l|').pipe(autosaveEvery(2, sink, { minIntervalMs: 5, scheduler }))).toBe(
        '-a-b-c-d-e-f-g-h-i-j-k-l|',
      );
    });
    assert.deepStrictEqual(saves, ['7 4', '15 8', '23 12']);
  });

  it('errors the stream when an autosave fails', () => {
    marbles().run(({ cold, expectObservable }) => {
      const full = new Error('ENOSPC: autosave');
      const sink = { autosave: () => throwError(() => full) };
      expectObservable(cold('-a-b-c|').pipe(autosaveEvery(2, sink))).toBe('-a-#', undefined, full);
    });
  });
});

describe('gcEvery', () => {
  it('collects on every n-th item and logs the heap before and after at debug level', () => {
    const { lines, logger } = recordingLogger();
    marbles().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-b-c-d-e|').pipe(gcEvery(2, { logger }))).toBe('-a-b-c-d-e|');
    });
    assert.deepStrictEqual(lines.map((l) => [l.level, l.obj.count, l.obj.kind]), [['debug', 2, 'full'], ['debug', 4, 'young']], 'the first is full');
    for (const { obj } of lines) {
      assert.equal(typeof obj.heapUsedBefore, 'number');
      assert.equal(typeof obj.heapUsedAfter, 'number');
    }
  });

  it('makes a collection a full one once the heap has grown by the given bytes since the last full one', () => {
    const { lines, logger } = recordingLogger();
    let held: number[][] = [];
    marbles().run(({ cold, expectObservable }) => {
      const growing = cold('abcd|').pipe(
        // Item c holds ~7 MiB more than there was before: the collection at c is a full one, the next is young again.
        tap((item) => (held = item === 'c' ? Array.from({ length: 4000 }, () => new Array<number>(200).fill(1)) : held)),
        gcEvery(1, { logger, fullAfterGrowthBytes: 4 << 20 }),
      );
      expectObservable(growing).toBe('abcd|');
    });
    assert.deepStrictEqual(lines.map((l) => l.obj.kind), ['full', 'young', 'full', 'young'], `${held.length} arrays held`);
  });

  it('accepts a pino logger', () => {
    const logger: OperatorLogger = pino({ level: 'silent' });
    marbles().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab|').pipe(gcEvery(1, { logger }))).toBe('ab|');
    });
  });

  it('really collects garbage without the --expose-gc flag', async () => {
    assert.equal(process.execArgv.includes('--expose-gc'), false);
    const ref = (() => new WeakRef({ payload: new Array(1000).fill('x') }))();
    await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets live until the job that made them ends
    collectGarbage();
    assert.equal(ref.deref(), undefined);
  });

  it('collects the young generation alone: fresh garbage goes', () => {
    let garbage: number[][] | undefined = Array.from({ length: 2000 }, () => new Array<number>(200).fill(0));
    const before = process.memoryUsage().heapUsed;
    garbage = undefined;
    collectGarbage({ young: true });
    const freed = before - process.memoryUsage().heapUsed;
    assert.ok(freed > 2 << 20, `freed ${freed} bytes of ~3 MiB${garbage ?? ''}`);
  });
});

describe('memoryCleanupEvery', () => {
  it('runs the cleanup on every n-th item, waits for it, then reports memory', () => {
    const scheduler = marbles();
    const cleanups: string[] = [];
    const reports: MemoryReport[] = [];
    const { lines, logger } = recordingLogger();
    scheduler.run(({ cold, expectObservable }) => {
      const cleanup = (count: number) => {
        cleanups.push(`${scheduler.now()} ${count}`);
        return cold('---|');
      };
      expectObservable(cold('-a-b-c|').pipe(memoryCleanupEvery(2, cleanup, { logger, onReport: (r) => reports.push(r) }))).toBe('-a----(bc|)');
    });
    assert.deepStrictEqual(cleanups, ['3 2']);
    assert.deepStrictEqual(reports.map((r) => r.count), [2]);
    assert.ok(reports[0]!.rss > 0 && reports[0]!.heapUsed > 0);
    assert.deepStrictEqual(lines.map((l) => [l.level, l.obj.count]), [['debug', 2]]);
  });

  it('accepts a synchronous cleanup and errors the stream when the cleanup fails', () => {
    marbles().run(({ cold, expectObservable }) => {
      let calls = 0;
      expectObservable(cold('-a-b|').pipe(memoryCleanupEvery(1, () => void calls++))).toBe('-a-b|');
      const broken = new Error('session release failed');
      expectObservable(cold('-a-b|').pipe(memoryCleanupEvery(2, () => throwError(() => broken)))).toBe('-a-#', undefined, broken);
    });
  });
});
