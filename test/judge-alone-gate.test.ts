import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { from, lastValueFrom, mergeMap, Observable, Subject, toArray } from 'rxjs';
import { JudgeAloneGate } from '../src/streams/judge-alone-gate.ts';
import { BROUGHT_THE_BUILD_DOWN, culpritRow, triageAfterCrashes } from '../src/streams/crash-triage.ts';
import { makeGenerated } from './runstore-records.ts';

/** Judges `keys` through `gate` at `parallelism`, each finishing when the test says; records what was judged beside what. */
function judgeAll(gate: JudgeAloneGate, keys: string[], parallelism: number) {
  const running = new Set<string>();
  const besides: Array<{ key: string; beside: string[] }> = [];
  const finishers = new Map<string, Subject<string>>();
  const done = lastValueFrom(
    from(keys).pipe(
      mergeMap((key) => {
        const finish = new Subject<string>();
        finishers.set(key, finish);
        const judging = new Observable<string>((subscriber) => {
          besides.push({ key, beside: [...running] });
          running.add(key);
          const subscription = finish.subscribe(subscriber);
          return () => {
            subscription.unsubscribe();
            running.delete(key);
          };
        });
        return gate.inTurn(key, judging);
      }, parallelism),
      toArray(),
    ),
  );
  const finish = (key: string) => {
    const subject = finishers.get(key);
    assert.ok(subject, `${key} was not started`);
    subject.next(key);
    subject.complete();
  };
  return { done, finish, besides, running };
}

describe('JudgeAloneGate', () => {
  it('judges one at a time until every suspect is judged, then in parallel again', async () => {
    const gate = new JudgeAloneGate(['s1', 's2']);
    const run = judgeAll(gate, ['s1', 's2', 'a', 'b', 'c'], 3);
    assert.deepEqual([...run.running], ['s1']);
    run.finish('s1');
    assert.deepEqual([...run.running], ['s2']);
    run.finish('s2');
    assert.deepEqual(new Set(run.running), new Set(['a', 'b', 'c']), 'no suspect left: three at a time again');
    run.finish('a');
    run.finish('b');
    run.finish('c');
    assert.deepEqual((await run.done).sort(), ['a', 'b', 'c', 's1', 's2']);
    for (const { key, beside } of run.besides.filter(({ key }) => key.startsWith('s'))) assert.deepEqual(beside, [], `${key} was judged alone`);
  });

  it('stops waiting for a suspect whose generation failed', async () => {
    const gate = new JudgeAloneGate(['lost', 's']);
    const run = judgeAll(gate, ['s', 'a', 'b'], 3);
    assert.deepEqual([...run.running], ['s']);
    run.finish('s');
    assert.deepEqual([...run.running], ['a'], "'lost' is still awaited");
    gate.settle('lost');
    assert.deepEqual(new Set(run.running), new Set(['a', 'b']));
    run.finish('a');
    run.finish('b');
    await run.done;
  });
});

describe('triageAfterCrashes', () => {
  it("labels the culprits' records from the program that was judged, and puts the suspects first", () => {
    const items = [1, 2, 3, 4, 5].map((taskId) => makeGenerated(taskId));
    const program = 'import os\nos.kill(os.getppid(), 9)';
    const culprit = { task_id: 4, sample_index: 0, completion: { text: program, finishReason: 'stop' }, generatedCode: program, generationTime: 1.5 };
    const findings = { suspects: new Set(['5:0', '2:0']), culprits: [culprit] };
    const source = { model: 'm', name: 'replay' };
    const { labelled, toRun } = triageAfterCrashes(items, findings, (item, judged) => culpritRow(item, judged, source, false));
    assert.deepEqual(toRun.map((item) => item.record.task_id), [2, 5, 1, 3]);
    assert.equal(labelled.length, 1);
    const row = labelled[0]!;
    assert.deepEqual([row.task_id, row.status, row.is_correct, row.passed_tests, row.generated_code, row.raw_completion], [4, 'ok', false, 0, program, program]);
    assert.deepEqual(row.test_results, [BROUGHT_THE_BUILD_DOWN]);
    assert.deepEqual(row.test_errors, [`assert f4() == 4: Killed: ${BROUGHT_THE_BUILD_DOWN.message}`]);
    assert.equal(row.challenge_test_results, null);
  });
});
