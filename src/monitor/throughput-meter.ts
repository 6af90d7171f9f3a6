/**
 * Throughput over wall time: records and completion tokens per second of the attempt, overall and per inference
 * session, and how much of the time each session was busy. Per-record generation times overlap when a session
 * batches or runs requests concurrently, so their sum says nothing about throughput (a batch-8 run of the tiny
 * model summed to 186 tok/s while it made ~8,800); the wall clock does. The progress line, the end-of-run summary,
 * the metadata and `report` all read these figures.
 */

/** One inference session's share of the attempt. */
export interface SessionThroughput {
  id: string;
  records: number;
  /** null when its backend counted no tokens. */
  completion_tokens: number | null;
  records_per_second: number;
  tokens_per_second: number | null;
  /** Seconds with at least one request in flight on the session. */
  busy_seconds: number;
  /** busy_seconds / wall_seconds: 1 means the session never waited for work. */
  utilization: number;
}

/**
 * The attempt's throughput. A resumed run's earlier records were made by earlier attempts at their own pace, so
 * these figures are this attempt's (its records over its wall time).
 */
export interface Throughput {
  wall_seconds: number;
  records: number;
  records_per_second: number;
  /** null when no record's backend counted tokens. */
  completion_tokens: number | null;
  tokens_per_second: number | null;
  sessions: SessionThroughput[];
}

/** A finished record's fields the meter reads. */
export interface MeteredRecord {
  session_id: string | null;
  completion_tokens: number | null;
}

interface SessionTally {
  records: number;
  tokens: number | null;
  inFlight: number;
  busyMs: number;
  busySinceMs: number;
}

export class ThroughputMeter {
  private startedAtMs: number | undefined;
  private records = 0;
  private tokens: number | null = null;
  private readonly sessions = new Map<string, SessionTally>();

  /** `now` in milliseconds on a monotonic clock; tests pin it. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Starts the attempt's clock; the first record or generation starts it if this was not called. */
  start(): void {
    this.startedAtMs ??= this.now();
  }

  /** A session starts generating a record; call the returned function when it stops (done, failed or cancelled). */
  generating(sessionId: string): () => void {
    this.start();
    const tally = this.session(sessionId);
    if (tally.inFlight === 0) tally.busySinceMs = this.now();
    tally.inFlight += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      tally.inFlight -= 1;
      if (tally.inFlight === 0) tally.busyMs += this.now() - tally.busySinceMs;
    };
  }

  /** A record of this attempt is done (judged or failed). */
  record(outcome: MeteredRecord): void {
    this.start();
    this.records += 1;
    if (outcome.completion_tokens !== null) this.tokens = (this.tokens ?? 0) + outcome.completion_tokens;
    if (outcome.session_id === null) return;
    const tally = this.session(outcome.session_id);
    tally.records += 1;
    if (outcome.completion_tokens !== null) tally.tokens = (tally.tokens ?? 0) + outcome.completion_tokens;
  }

  /** The figures so far (a session busy now counts as busy until now). */
  throughput(): Throughput {
    const nowMs = this.now();
    const wall = this.startedAtMs === undefined ? 0 : (nowMs - this.startedAtMs) / 1000;
    const perSecond = (count: number) => (wall > 0 ? count / wall : 0);
    return {
      wall_seconds: wall,
      records: this.records,
      records_per_second: perSecond(this.records),
      completion_tokens: this.tokens,
      tokens_per_second: this.tokens === null ? null : perSecond(this.tokens),
      sessions: [...this.sessions]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([id, tally]) => {
          const busy = (tally.busyMs + (tally.inFlight > 0 ? nowMs - tally.busySinceMs : 0)) / 1000;
          return {
            id,
            records: tally.records,
            completion_tokens: tally.tokens,
            records_per_second: perSecond(tally.records),
            tokens_per_second: tally.tokens === null ? null : perSecond(tally.tokens),
            busy_seconds: busy,
            utilization: wall > 0 ? Math.min(1, busy / wall) : 0,
          };
        }),
    };
  }

  private session(id: string): SessionTally {
    let tally = this.sessions.get(id);
    if (tally === undefined) this.sessions.set(id, (tally = { records: 0, tokens: null, inFlight: 0, busyMs: 0, busySinceMs: 0 }));
    return tally;
  }
}
