import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { firstValueFrom, from, map, Subject, tap, toArray, VirtualAction, VirtualTimeScheduler, type SchedulerLike } from 'rxjs';
import type { InferenceBackend, InferenceSession } from '../src/inference/backend.js';
import { createOpenAIBackend } from '../src/inference/openai/index.js';
import { abortable } from '../src/operators/abortable.js';
import { loadBalance, type LoadBalanceConfig } from '../src/operators/load-balance.js';
import type { RetryNotice } from '../src/operators/retry-policy.js';
import { timeoutPerRecord } from '../src/operators/timeout-per-record.js';
import type { Completion, Prompted } from '../src/records.js';
import { mockServerPool, promptedTask, startMockServer, type MockServerOptions } from './support/openai-mock-server.js';

const MODEL = 'google/gemma-2-2b';

/** Servers and backends opened by a test, closed after it whatever happens. */
const pool = mockServerPool();
afterEach(() => pool.closeAll());
const server = (options?: MockServerOptions) => pool.server(options);

function backend(endpoints: string[], concurrency: number): InferenceBackend {
  const created = createOpenAIBackend({ endpoints, model: MODEL, concurrency, maxTokens: 16, temperature: 0, topP: 1, stop: [], env: {} });
  return pool.track(created);
}

type Outcome = { taskId: number; completion?: Completion; error?: unknown; attempts: number };

/** The pipeline's inference stage as the lead wires it: abortable work, a per-record timeout, load balancing. */
function run(
  b: InferenceBackend,
  taskIds: number[],
  timeoutMs: number,
  config: LoadBalanceConfig<Prompted, Outcome, InferenceSession> = {},
  clock?: SchedulerLike,
): Promise<Outcome[]> {
  return firstValueFrom(
    from(taskIds.map((taskId) => promptedTask(taskId))).pipe(
      loadBalance(
        b.sessions,
        (item, session, attempt) =>
          abortable((signal) => session.generate({ item, signal })).pipe(
            timeoutPerRecord<Completion>(timeoutMs, { scheduler: clock }),
            map((completion): Outcome => ({ taskId: item.record.task_id, completion, attempts: attempt })),
          ),
        {
          retry: { backoff: 0 },
          fallback: (item, error, attempts) => ({ taskId: item.record.task_id, error, attempts }),
          ...config,
        },
      ),
      toArray(),
    ),
  );
}

const tasks = (count: number): number[] => Array.from({ length: count }, (_, i) => 11 + i);

describe('openai sessions under loadBalance', () => {
  it('shares records between two endpoints, the faster one getting more', async () => {
    const fast = await server({ latencyMs: 2 });
    const slow = await server({ latencyMs: 80 });
    const outcomes = await run(backend([fast.url, slow.url], 2), tasks(30), 10_000);
    assert.equal(outcomes.filter((o) => o.completion).length, 30);
    assert.ok(slow.requests.length >= 1, 'the slow endpoint gets some records');
    assert.ok(fast.requests.length > slow.requests.length, `fast ${fast.requests.length} vs slow ${slow.requests.length}`);
    const bySession = new Set(outcomes.map((o) => o.completion?.sessionId));
    assert.equal(bySession.size, 2);
  });

  it('takes a dead endpoint out of rotation and finishes every record on the other', async () => {
    const alive = await server();
    const dead = await startMockServer();
    await dead.close();
    const down: string[] = [];
    const outcomes = await run(backend([dead.url, alive.url], 2), tasks(12), 10_000, {
      onHealth: (event) => void (event.kind === 'session-down' && down.push(event.session.id)),
    });
    assert.deepEqual(down, [`openai ${dead.url}/v1`]);
    assert.equal(outcomes.filter((o) => o.completion).length, 12);
    assert.equal(alive.requests.length, 12);
  });

  it('waits at least the server Retry-After before retrying a 429', async () => {
    const mock = await server();
    mock.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '0.05' } });
    const notices: RetryNotice[] = [];
    const outcomes = await run(backend([mock.url], 1), tasks(1), 10_000, { retry: { backoff: 0, onRetry: (n) => notices.push(n) } });
    assert.equal(notices.length, 1);
    assert.equal(notices[0]?.delayMs, 50);
    assert.equal(outcomes[0]?.attempts, 2);
    assert.ok(outcomes[0]?.completion);
  });

  it('fails a wrong-model record without retrying it', async () => {
    const mock = await server({ model: 'another-model' });
    const outcomes = await run(backend([mock.url], 1), tasks(1), 10_000, { maxConsecutiveFailures: 5 });
    assert.equal(outcomes[0]?.attempts, 1);
    assert.match(String(outcomes[0]?.error), /does not exist/);
    assert.equal(mock.requests.length, 1);
  });

  it('cuts a hanging request at the record timeout, closing its connection, and retries it', async () => {
    const mock = await server();
    mock.enqueue({ kind: 'hang' });
    // The record timeout runs on virtual time, moved past the first try's deadline (and no further) once the
    // hanging request is at the server: the retry then has all the time it needs, however slow the machine.
    const clock = new VirtualTimeScheduler(VirtualAction, 200);
    const running = run(backend([mock.url], 1), tasks(1), 200, {}, clock);
    await mock.waitForRequests(1);
    clock.flush();
    const outcomes = await running;
    await mock.waitForClientCloses(1);
    assert.equal(outcomes[0]?.attempts, 2);
    assert.ok(outcomes[0]?.completion);
    assert.equal(mock.requests.length, 2);
  });

  it('returns an endpoint that was down for a while to rotation once it is back, and it serves records again', async () => {
    const steady = await server({ latencyMs: 5 });
    const flaky = await server({ latencyMs: 5 });
    const b = backend([steady.url, flaky.url], 1);
    const flakyId = `openai ${flaky.url}/v1`;
    const phases: string[] = [];
    let phase: 'up' | 'stopped' | 'back' | 'served again' = 'up';
    // Records keep coming (one more per outcome) until the endpoint has served one after coming back.
    const source = new Subject<Prompted>();
    let next = 11;
    const outcomes = firstValueFrom(
      source.pipe(
        loadBalance(
          b.sessions,
          (item, session, attempt) =>
            abortable((signal) => session.generate({ item, signal })).pipe(
              map((completion): Outcome => ({ taskId: item.record.task_id, completion, attempts: attempt })),
            ),
          {
            maxConsecutiveFailures: 2,
            cooldown: { cooldown: 20, maxCooldown: 100 },
            retry: { backoff: 0 },
            fallback: (item, error, attempts) => ({ taskId: item.record.task_id, error, attempts }),
            onHealth: (event) => {
              if (event.kind !== 'session-down' && event.kind !== 'session-up') return;
              phases.push(`${event.kind} ${event.session.id === flakyId ? 'flaky' : 'steady'}`);
              if (event.kind === 'session-down') void flaky.restart();
              else phase = 'back';
            },
          },
        ),
        tap((outcome) => {
          if (outcome.completion?.sessionId === flakyId && phase === 'up') {
            phase = 'stopped';
            void flaky.stop();
          } else if (outcome.completion?.sessionId === flakyId && phase === 'back') {
            phase = 'served again';
          }
          if (phase === 'served again') source.complete();
          else source.next(promptedTask(next++));
        }),
        toArray(),
      ),
    );
    for (let i = 0; i < 4; i++) source.next(promptedTask(next++));
    const all = await outcomes;
    assert.deepEqual(phases, ['session-down flaky', 'session-up flaky']);
    assert.equal(phase, 'served again');
    assert.deepEqual(all.filter((o) => o.error !== undefined), [], 'no record failed for the outage');
    assert.deepEqual(all.map((o) => o.taskId).sort((x, y) => x - y), tasks(next - 11), 'every record once');
  });
});
