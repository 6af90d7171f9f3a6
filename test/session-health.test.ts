import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PoolHealthEvent } from '../src/operators/load-balance.js';
import { SessionHealth } from '../src/streams/session-health.js';

const a = { id: 'openai http://a/v1', concurrency: 2 };
const b = { id: 'openai http://b/v1', concurrency: 2 };
const T0 = Date.UTC(2026, 0, 5, 2, 0, 0);
const at = (seconds: number) => T0 + seconds * 1000;
const refused = new Error('connect ECONNREFUSED');

describe('SessionHealth', () => {
  it('counts the sessions up and lists each outage, the whole pool\'s too, with its times', () => {
    const health = new SessionHealth(2);
    const events: Array<PoolHealthEvent<typeof a>> = [
      { kind: 'session-down', session: b, failures: 3, error: refused, probeInMs: 1000, up: 1, total: 2, at: at(10) },
      { kind: 'session-down', session: a, failures: 3, error: refused, probeInMs: 1000, up: 0, total: 2, at: at(12) },
      { kind: 'pool-down', maxOutageMs: 900_000, at: at(12) },
      { kind: 'probe-failed', session: a, error: refused, probes: 1, probeInMs: 2000, at: at(13) },
      { kind: 'session-up', session: a, downMs: 20_000, probes: 2, up: 1, total: 2, at: at(32) },
      { kind: 'pool-up', downMs: 20_000, at: at(32) },
    ];
    const ups: number[] = [];
    for (const event of events) {
      health.observe(event);
      ups.push(health.up);
    }
    assert.deepEqual(ups, [1, 0, 0, 0, 1, 1]);
    assert.deepEqual(health.outages(at(40)), {
      sessions: [
        { session: b.id, started_at: '2026-01-05T02:00:10.000Z', ended_at: null, seconds: 30, failures: 3, probes: 0, error: 'Error: connect ECONNREFUSED' },
        { session: a.id, started_at: '2026-01-05T02:00:12.000Z', ended_at: '2026-01-05T02:00:32.000Z', seconds: 20, failures: 3, probes: 2, error: 'Error: connect ECONNREFUSED' },
      ],
      whole_pool: [{ started_at: '2026-01-05T02:00:12.000Z', ended_at: '2026-01-05T02:00:32.000Z', seconds: 20 }],
    });
  });
});
