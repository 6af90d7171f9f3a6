import type { BalancedSession, PoolHealthEvent } from '../operators/load-balance.js';
import { describeError } from './result-rows.js';

/** A session out of rotation, from when it went out to when a probe brought it back (null: still out). */
export interface SessionOutage {
  session: string;
  started_at: string;
  ended_at: string | null;
  seconds: number;
  /** Strikes in a row that took it out. */
  failures: number;
  /** Probes while it was out, the one that brought it back included. */
  probes: number;
  /** The failure that took it out. */
  error: string;
}

/** A time with no session in rotation: the run paused. */
export interface PoolOutage {
  started_at: string;
  ended_at: string | null;
  seconds: number;
}

/** The metadata's `outages`. */
export interface RunOutages {
  sessions: SessionOutage[];
  whole_pool: PoolOutage[];
}

interface OpenOutage {
  session: string;
  since: number;
  failures: number;
  probes: number;
  error: string;
}

/**
 * Follows `loadBalance`'s health events for the run: how many sessions are up (the progress line) and every
 * outage with its times (the metadata). Times are epoch ms, as the events carry them.
 */
export class SessionHealth {
  private readonly down = new Map<string, OpenOutage>();
  private readonly closed: SessionOutage[] = [];
  private readonly poolOutages: Array<{ since: number; until: number | null }> = [];

  constructor(readonly total: number) {}

  /** Sessions in rotation now. */
  get up(): number {
    return this.total - this.down.size;
  }

  observe(event: PoolHealthEvent<BalancedSession>): void {
    switch (event.kind) {
      case 'session-down':
        this.down.set(event.session.id, { session: event.session.id, since: event.at, failures: event.failures, probes: 0, error: describeError(event.error) });
        return;
      case 'probe-failed': {
        const open = this.down.get(event.session.id);
        if (open !== undefined) open.probes = event.probes;
        return;
      }
      case 'session-up': {
        const open = this.down.get(event.session.id);
        if (open === undefined) return;
        this.down.delete(event.session.id);
        this.closed.push(sessionOutage({ ...open, probes: event.probes }, event.at));
        return;
      }
      case 'pool-down':
        this.poolOutages.push({ since: event.at, until: null });
        return;
      case 'pool-up': {
        const last = this.poolOutages.at(-1);
        if (last !== undefined && last.until === null) last.until = event.at;
        return;
      }
    }
  }

  /** Every outage so far, in the order they began; those still going on end `null`, their seconds counted to `now`. */
  outages(now: number = Date.now()): RunOutages {
    const ongoing = [...this.down.values()].map((open) => ({ ...sessionOutage(open, now), ended_at: null }));
    return {
      sessions: [...this.closed, ...ongoing].sort((a, b) => a.started_at.localeCompare(b.started_at)),
      whole_pool: this.poolOutages.map(({ since, until }) => ({
        started_at: iso(since),
        ended_at: until === null ? null : iso(until),
        seconds: ((until ?? now) - since) / 1000,
      })),
    };
  }
}

function sessionOutage(open: OpenOutage, until: number): SessionOutage {
  return {
    session: open.session,
    started_at: iso(open.since),
    ended_at: iso(until),
    seconds: (until - open.since) / 1000,
    failures: open.failures,
    probes: open.probes,
    error: open.error,
  };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
