import ora, { type Ora } from 'ora';
import { formatBytes } from '../../monitor/byte-format.js';
import { estimateRate, pushSample, type ProgressSample } from '../../monitor/moving-rate.js';
import { formatDuration } from '../../monitor/progress-line.js';
import { isSizedTerminal } from '../../monitor/progress-display.js';

/** What a model download tells the person waiting for it. */
export interface DownloadProgress {
  /** `what` names the model; `totalBytes` is what still has to come over the network, resumed bytes included. */
  start(what: string, totalBytes: number, files: number): void;
  file(path: string, size: number): void;
  /** Bytes that landed (negative when a server ignored a resume and the file starts over). */
  bytes(count: number): void;
  /** Something to say in passing (waiting for another process's download). */
  note(message: string): void;
  succeed(message: string): void;
  fail(): void;
}

export type DownloadProgressMode = 'spinner' | 'lines' | 'quiet';

export interface DownloadProgressOptions {
  mode: DownloadProgressMode;
  stream: NodeJS.WritableStream;
  /** `lines`: a progress line at most this often. Default 10 s. */
  lineEveryMs?: number;
  now?: () => number;
}

/** A sized terminal gets a spinner with bytes, rate and ETA; anything else a line per file and every few seconds. */
export function downloadProgressModeFor(flags: { quiet?: boolean; isTTY?: boolean; columns?: number }): DownloadProgressMode {
  if (flags.quiet) return 'quiet';
  return isSizedTerminal(flags) ? 'spinner' : 'lines';
}

const RATE_WINDOW_MS = 30_000;

export function createDownloadProgress(options: DownloadProgressOptions): DownloadProgress {
  const now = options.now ?? Date.now;
  const lineEveryMs = options.lineEveryMs ?? 10_000;
  let what = '';
  let total = 0;
  let done = 0;
  let current = '';
  let startedAt = 0;
  let lastLineAt = 0;
  let samples: ProgressSample[] = [];
  let spinner: Ora | undefined;

  const status = (): string => {
    const rate = estimateRate(samples, total);
    const percent = total > 0 ? ` (${((100 * done) / total).toFixed(0)}%)` : '';
    const eta = rate.etaSeconds === null ? '' : ` ETA ${formatDuration(rate.etaSeconds)}`;
    return `${formatBytes(done)} / ${formatBytes(total)}${percent} ${formatBytes(rate.recordsPerSecond)}/s${eta}`;
  };
  const write = (line: string): void => {
    options.stream.write(`${line}\n`);
  };

  return {
    start(model, totalBytes, files) {
      what = model;
      total = totalBytes;
      startedAt = now();
      lastLineAt = startedAt;
      samples = [{ atMs: startedAt, done: 0 }];
      // discardStdin off: ora would otherwise read the terminal (and stop a backgrounded process with SIGTTIN).
      if (options.mode === 'spinner') spinner = ora({ stream: options.stream, isEnabled: true, discardStdin: false, text: `downloading ${what}` }).start();
      if (options.mode === 'lines') write(`downloading ${what}: ${files} file${files === 1 ? '' : 's'}, ${formatBytes(totalBytes)}`);
    },
    file(path, size) {
      current = path;
      if (options.mode === 'lines') write(`  ${path} (${formatBytes(size)})`);
    },
    bytes(count) {
      done += count;
      const at = now();
      samples = pushSample(samples, { atMs: at, done }, RATE_WINDOW_MS);
      if (spinner !== undefined) spinner.text = `downloading ${what}: ${status()} · ${current}`;
      if (options.mode === 'lines' && at - lastLineAt >= lineEveryMs) {
        lastLineAt = at;
        write(`  ${status()}`);
      }
    },
    note(message) {
      if (spinner !== undefined) spinner.text = message;
      else if (options.mode === 'lines') write(`  ${message}`);
    },
    succeed(message) {
      const seconds = (now() - startedAt) / 1000;
      const line = `${message} (${formatBytes(done)} in ${formatDuration(seconds)}${seconds > 0 ? `, ${formatBytes(done / seconds)}/s` : ''})`;
      if (spinner !== undefined) spinner.succeed(line);
      else if (options.mode === 'lines') write(line);
    },
    fail() {
      spinner?.fail(`downloading ${what} stopped at ${formatBytes(done)} / ${formatBytes(total)}`);
    },
  };
}
