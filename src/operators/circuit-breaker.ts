/**
 * The circuit breaker of one session of a `loadBalance` pool: closed (in rotation), open (out of rotation,
 * cooling down) or half-open (cooled down: the next try is its probe). Pure state; the operator owns the timers.
 */

/** How long an open breaker waits before its session is probed. */
export interface CooldownPolicy {
  /** Wait before the first probe, in ms. Default 1000. */
  cooldown?: number;
  /** Each failed probe makes the next wait this many times longer. Default 2. */
  factor?: number;
  /** The longest wait between probes, in ms: how late a session that is back may rejoin. Default 10,000. */
  maxCooldown?: number;
  /** Spread each wait by up to ± this fraction (0..1), so sessions that fell together are not probed in lockstep. Default 0.2. */
  jitter?: number;
  /** The randomness behind `jitter`, in [0, 1); tests pin it. Default `Math.random`. */
  random?: () => number;
}

export type ResolvedCooldownPolicy = Required<CooldownPolicy>;

/** Fills in defaults; a nonsensical number is a programming error (`RangeError`) at the call site. */
export function resolveCooldownPolicy(operator: string, policy: CooldownPolicy = {}): ResolvedCooldownPolicy {
  const resolved: ResolvedCooldownPolicy = {
    cooldown: policy.cooldown ?? 1000,
    factor: policy.factor ?? 2,
    maxCooldown: policy.maxCooldown ?? 10_000,
    jitter: policy.jitter ?? 0.2,
    random: policy.random ?? Math.random,
  };
  const problems: string[] = [];
  if (!(resolved.cooldown >= 0) || !Number.isFinite(resolved.cooldown)) problems.push('cooldown must be a finite number of ms >= 0');
  if (!(resolved.factor >= 1) || !Number.isFinite(resolved.factor)) problems.push('cooldown factor must be a finite number >= 1');
  if (!(resolved.maxCooldown >= resolved.cooldown) || !Number.isFinite(resolved.maxCooldown)) {
    problems.push('maxCooldown must be a finite number of ms >= cooldown');
  }
  if (!(resolved.jitter >= 0 && resolved.jitter <= 1)) problems.push('cooldown jitter must be within 0..1');
  if (problems.length > 0) throw new RangeError(`${operator}: ${problems.join('; ')}`);
  return resolved;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Handed out when a try starts and given back with its outcome. */
export interface TryTicket {
  /** The breaker's failure count when the try started: a try that fails after a newer failure shares its cause. */
  readonly mark: number;
  /** Whether this try is the half-open breaker's probe. */
  readonly probe: boolean;
}

/**
 * What a failed try meant for its session:
 * - `strike`: the first news of a problem with a session in rotation; it counts towards `threshold`.
 * - `same-cause`: the try was already running when an earlier failure was counted (K requests cut by one dead
 *   connection are one signal, not K).
 * - `opened`: this strike took the session out of rotation.
 * - `probe-failed`: the probe failed; the session stays out, for a longer cooldown.
 * - `known-down`: a try started before the session went out of rotation failed; nothing new.
 */
export type FailureVerdict = 'strike' | 'same-cause' | 'opened' | 'probe-failed' | 'known-down';

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private strikeCount = 0;
  /** Bumped at every counted failure and every opening. */
  private mark = 0;
  /** Cooldowns in a row without a success: the next one is `cooldown * factor^(opens-1)`. */
  private opens = 0;
  private probing = false;
  private probeCount = 0;
  private downAt: number | null = null;
  private last: unknown;

  constructor(
    /** Strikes in a row that take the session out of rotation. */
    private readonly threshold: number,
    private readonly policy: ResolvedCooldownPolicy,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Consecutive strikes that led to (or lead towards) opening. */
  get strikes(): number {
    return this.strikeCount;
  }

  /** The last failure of a try on this session. */
  get lastError(): unknown {
    return this.last;
  }

  /** When the session went out of rotation (the scheduler's clock), or null while it is in rotation. */
  get downSince(): number | null {
    return this.downAt;
  }

  /** Probes since the session went out of rotation. */
  get probes(): number {
    return this.probeCount;
  }

  /** Whether a try may start here now: closed, or half-open with no probe running yet. */
  get admits(): boolean {
    return this.current === 'closed' || (this.current === 'half-open' && !this.probing);
  }

  start(): TryTicket {
    const probe = this.current === 'half-open';
    if (probe) {
      this.probing = true;
      this.probeCount += 1;
    }
    return { mark: this.mark, probe };
  }

  /** The session served a try (or answered that the item itself is at fault). Returns true when this brings it back. */
  success(): boolean {
    const wasDown = this.current !== 'closed';
    this.current = 'closed';
    this.strikeCount = 0;
    this.opens = 0;
    this.probing = false;
    this.probeCount = 0;
    this.downAt = null;
    return wasDown;
  }

  failure(ticket: TryTicket, error: unknown, now: number): FailureVerdict {
    this.last = error;
    if (this.current === 'half-open' && ticket.probe) {
      this.probing = false;
      this.open(now);
      return 'probe-failed';
    }
    if (this.current !== 'closed') return 'known-down';
    if (ticket.mark !== this.mark) return 'same-cause';
    this.mark += 1;
    this.strikeCount += 1;
    if (this.strikeCount < this.threshold) return 'strike';
    this.open(now);
    return 'opened';
  }

  /** The cooldown ran out: the next try is a probe. */
  halfOpen(): void {
    if (this.current === 'open') this.current = 'half-open';
  }

  /** How long the cooldown that just began lasts, in ms. */
  cooldownMs(): number {
    const { cooldown, factor, maxCooldown, jitter, random } = this.policy;
    const base = Math.min(maxCooldown, cooldown * factor ** Math.max(0, this.opens - 1));
    return Math.max(0, Math.round(base + base * jitter * (2 * random() - 1)));
  }

  private open(now: number): void {
    this.current = 'open';
    this.opens += 1;
    this.mark += 1;
    this.downAt ??= now;
  }
}
