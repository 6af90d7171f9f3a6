import ora, { type Ora } from 'ora';
import { estimateRate, pushSample, tokenRate, type ProgressSample, type RateEstimate } from './moving-rate.js';
import { countRecord, emptyCounts, type ProgressCounts, type RecordOutcome } from './progress-counts.js';
import { formatEvent, type ProgressEvent, type ProgressRateFields } from './progress-events.js';
import { formatCount, formatDuration, formatPercent, formatProgressLine, type SessionsUp } from './progress-line.js';
import type { Throughput } from './throughput-meter.js';
import type { ResourceSample } from './resource-thresholds.js';

/**
 * How progress reaches the person or tool running the build: `spinner` (ora, on a terminal), `lines` (a plain
 * line every N records: CI, `| tee`, nohup), `quiet` (the summary only), `json` (one event per line).
 */
export type ProgressMode = 'spinner' | 'lines' | 'quiet' | 'json';

/**
 * A terminal ora can redraw in: a TTY of some width. One of zero width (a pty nobody sized: `script` without a
 * terminal) would make each redraw clear an ever-growing number of lines.
 */
export function isSizedTerminal(flags: { isTTY?: boolean; columns?: number }): boolean {
  return flags.isTTY === true && (flags.columns ?? 0) > 0;
}

/** `--json` wins over `--quiet`; otherwise a sized terminal gets the spinner and anything else plain lines. */
export function progressModeFor(flags: { json?: boolean; quiet?: boolean; isTTY?: boolean; columns?: number }): ProgressMode {
  if (flags.json) return 'json';
  if (flags.quiet) return 'quiet';
  return isSizedTerminal(flags) ? 'spinner' : 'lines';
}

/** Where progress is written: stderr for a person, stdout for `--json`; tests pass a collecting stream. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface ProgressDisplayOptions {
  mode: ProgressMode;
  stream: ProgressStream;
  /** Records the run will finish, resumed ones included. */
  total: number;
  /** Counts a resumed run starts from (they do not count towards the rate). */
  resumed?: Partial<Omit<ProgressCounts, 'total'>>;
  /** `lines`: a line every N records; `json`: a progress event every N records. Default 10. */
  every?: number;
  /** The rate/ETA window. Default 60 s. */
  windowMs?: number;
  /** Epoch ms; injected by tests. */
  now?: () => number;
  /** The resource monitor's latest sample (RSS, GPU memory) for the line. */
  resources?: () => ResourceSample | undefined;
  /** Inference sessions in rotation, for the line ("3/4 sessions up"). */
  sessions?: () => SessionsUp;
}

/** What a run tells its display. The lead's pipeline calls these; the display decides what to show. */
export interface ProgressDisplay {
  readonly counts: ProgressCounts;
  start(details?: Record<string, unknown>): void;
  record(outcome: RecordOutcome): void;
  checkpoint(count: number): void;
  warning(message: string): void;
  /** Prints the summary and stops the spinner. Call once. `throughput` gives the summary's rates (the metadata's). */
  finish(extra?: { output?: string; statistics?: unknown; throughput?: Throughput }): void;
}

/** A spinner refresh between records, so RSS, GPU memory and the ETA keep moving on a slow model. */
const SPINNER_REFRESH_MS = 1000;

export function createProgressDisplay(options: ProgressDisplayOptions): ProgressDisplay {
  return new StreamProgressDisplay(options);
}

class StreamProgressDisplay implements ProgressDisplay {
  private state: ProgressCounts;
  private samples: ProgressSample[] = [];
  private readonly every: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private startedAtMs: number | undefined;
  private spinner: Ora | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Records covered by the newest checkpoint; the spinner shows it instead of printing a line per checkpoint. */
  private checkpointed: number | undefined;
  /** Completion tokens of this attempt's records; tok/s is shown once a record has counted some. */
  private tokens = 0;
  private countsTokens = false;

  constructor(private readonly options: ProgressDisplayOptions) {
    this.state = { ...emptyCounts(options.total), ...options.resumed };
    this.every = Math.max(1, options.every ?? 10);
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  get counts(): ProgressCounts {
    return { ...this.state };
  }

  start(details: Record<string, unknown> = {}): void {
    this.startedAtMs = this.now();
    this.samples = [{ atMs: this.startedAtMs, done: this.state.done, tokens: this.tokens }];
    switch (this.options.mode) {
      case 'json':
        this.emit({ ...details, event: 'start', time: this.isoNow(), total: this.state.total });
        break;
      case 'lines':
        this.writeLine(`${this.stamp()} starting: ${this.state.total - this.state.done} of ${this.state.total} records to do, ${this.state.done} already done`);
        break;
      case 'spinner':
        this.spinner = ora({ stream: this.options.stream, isEnabled: true, discardStdin: false });
        this.spinner.start(this.line());
        this.refreshTimer = setInterval(() => this.refreshSpinner(), SPINNER_REFRESH_MS);
        this.refreshTimer.unref();
        break;
      case 'quiet':
        break;
    }
  }

  record(outcome: RecordOutcome): void {
    this.state = countRecord(this.state, outcome);
    if (outcome.completion_tokens !== null) {
      this.tokens += outcome.completion_tokens;
      this.countsTokens = true;
    }
    this.samples = pushSample(this.samples, { atMs: this.now(), done: this.state.done, tokens: this.tokens }, this.windowMs);
    const due = this.state.done % this.every === 0 || this.state.done === this.state.total;
    switch (this.options.mode) {
      case 'json':
        this.emit({ event: 'record', time: this.isoNow(), ...pickOutcome(outcome) });
        if (due) this.emit({ event: 'progress', time: this.isoNow(), ...this.state, ...this.rateFields() });
        break;
      case 'lines':
        if (due) this.writeLine(`${this.stamp()} ${this.line()}`);
        break;
      case 'spinner':
        this.refreshSpinner();
        break;
      case 'quiet':
        break;
    }
  }

  checkpoint(count: number): void {
    if (this.options.mode === 'json') this.emit({ event: 'checkpoint', time: this.isoNow(), count });
    else if (this.options.mode === 'lines') this.writeLine(`${this.stamp()} checkpoint: ${count} records durable`);
    else if (this.options.mode === 'spinner') {
      this.checkpointed = count;
      this.refreshSpinner();
    }
  }

  warning(message: string): void {
    if (this.options.mode === 'json') this.emit({ event: 'warning', time: this.isoNow(), message });
    else if (this.options.mode !== 'quiet') this.writeLine(`${this.stamp()} warning: ${message}`);
  }

  finish(extra: { output?: string; statistics?: unknown; throughput?: Throughput } = {}): void {
    clearInterval(this.refreshTimer);
    const elapsedSeconds = this.startedAtMs === undefined ? 0 : (this.now() - this.startedAtMs) / 1000;
    if (this.options.mode === 'json') {
      this.emit({ event: 'summary', time: this.isoNow(), ...this.state, elapsed_seconds: elapsedSeconds, ...extra });
      return;
    }
    const summary = formatSummary(this.state, elapsedSeconds, extra.output, extra.throughput);
    if (this.spinner) {
      const finished = this.state.done === this.state.total;
      this.spinner[finished ? 'succeed' : 'warn'](summary);
      this.spinner = undefined;
    } else {
      this.writeLine(summary);
    }
  }

  private rate(): RateEstimate {
    return estimateRate(this.samples, this.state.total);
  }

  private line(): string {
    return formatProgressLine({
      counts: this.state,
      rate: this.rate(),
      tokensPerSecond: this.tokensPerSecond(),
      resources: this.options.resources?.(),
      sessions: this.options.sessions?.(),
    });
  }

  private tokensPerSecond(): number | null {
    return this.countsTokens ? tokenRate(this.samples) : null;
  }

  private rateFields(): ProgressRateFields {
    const { recordsPerSecond, etaSeconds } = this.rate();
    const fields: ProgressRateFields = { records_per_second: recordsPerSecond, tokens_per_second: this.tokensPerSecond(), eta_seconds: etaSeconds };
    const sessions = this.options.sessions?.();
    if (sessions) {
      fields.sessions_up = sessions.up;
      fields.sessions_total = sessions.total;
    }
    const resources = this.options.resources?.();
    if (resources) {
      fields.rss_bytes = resources.memory.rssBytes;
      fields.gpus = resources.gpu.gpus.map((gpu) => ({
        index: gpu.index,
        memory_used_bytes: gpu.memoryUsedBytes,
        memory_total_bytes: gpu.memoryTotalBytes,
        utilization_percent: gpu.utilizationPercent,
      }));
    }
    return fields;
  }

  private refreshSpinner(): void {
    if (this.spinner) this.spinner.text = this.checkpointed === undefined ? this.line() : `${this.line()} | checkpoint ${this.checkpointed}`;
  }

  private emit(event: ProgressEvent): void {
    this.options.stream.write(formatEvent(event));
  }

  /** A write while the spinner spins goes through ora's stream hook, which clears and redraws it. */
  private writeLine(text: string): void {
    this.options.stream.write(`${text}\n`);
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  /** `[14:05:31]`, UTC like the log file, so lines from `| tee` line up with it. */
  private stamp(): string {
    return `[${this.isoNow().slice(11, 19)}]`;
  }
}

/** Only the outcome's own fields: callers may pass a whole GenerationResult with code and prompts. */
function pickOutcome(outcome: RecordOutcome): RecordOutcome {
  const { task_id, sample_index, split, status, is_correct, attempts, passed_tests, total_tests } = outcome;
  const { generation_time, execution_time, completion_tokens, error } = outcome;
  return {
    task_id, sample_index, split, status, is_correct, attempts, passed_tests, total_tests,
    generation_time, execution_time, completion_tokens, error,
  };
}

/**
 * The end-of-run lines every non-JSON mode prints. With the attempt's `throughput` (what the metadata records) the
 * rates are its records and tokens over its wall time, and each session's share and utilization follow.
 */
export function formatSummary(counts: ProgressCounts, elapsedSeconds: number, output?: string, throughput?: Throughput): string {
  const seconds = throughput?.wall_seconds ?? elapsedSeconds;
  const judged = counts.passed + counts.wrong;
  const lines = [
    `finished ${counts.done}/${counts.total} records in ${formatDuration(seconds)}${throughput ? attemptRates(counts, throughput) : elapsedRate(counts, seconds)}`,
    `passed ${counts.passed} (${formatPercent(counts.passed, judged)} of judged) | wrong ${counts.wrong} | ` +
      `failed after retries ${counts.failed} | retries ${counts.retries}`,
  ];
  const sessions = throughput?.sessions.filter((session) => session.records > 0) ?? [];
  if (sessions.length > 0) lines.push(`sessions: ${sessions.map(formatSession).join(' | ')}`);
  if (output) lines.push(`dataset: ${output}`);
  return lines.join('\n');
}

function elapsedRate(counts: ProgressCounts, seconds: number): string {
  return seconds > 0 ? ` (${(counts.done / seconds).toFixed(2)} rec/s)` : '';
}

/** ` (153.05 rec/s, 8,812 tok/s)`; a resumed run says how many of the records this attempt made. */
function attemptRates(counts: ProgressCounts, throughput: Throughput): string {
  const tokens = throughput.tokens_per_second === null ? '' : `, ${formatCount(throughput.tokens_per_second)} tok/s`;
  const these = throughput.records === counts.done ? '' : `${throughput.records} this attempt: `;
  return ` (${these}${throughput.records_per_second.toFixed(2)} rec/s${tokens})`;
}

/** `onnx-cuda:0 4,406 tok/s 98% busy`. */
function formatSession(session: Throughput['sessions'][number]): string {
  const rate = session.tokens_per_second === null ? `${session.records_per_second.toFixed(2)} rec/s` : `${formatCount(session.tokens_per_second)} tok/s`;
  return `${session.id} ${rate} ${Math.round(100 * session.utilization)}% busy`;
}
