import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { InputError } from '../errors.js';
import type { RateEstimate } from './moving-rate.js';
import type { ProgressCounts } from './progress-counts.js';
import { formatConsoleLine } from './console-log-format.js';
import type { ResourceWarning } from './resource-thresholds.js';
import type { RunVersions } from './run-versions.js';

export const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** `--log-level` as given by the user. */
export function parseLogLevel(value: string, flag = '--log-level'): Level {
  const level = value.toLowerCase() as Level;
  if (!LOG_LEVELS.includes(level)) {
    throw new InputError(`${flag}: unknown level "${value}" (expected one of ${LOG_LEVELS.join(', ')})`);
  }
  return level;
}

export interface RunLoggerOptions {
  /** JSON lines are appended here (the folder is created); an existing log is never truncated. */
  file: string;
  /** What reaches the file. Default 'debug'. */
  fileLevel?: Level;
  /** `--log-level`: what reaches the console. Default 'info'. */
  consoleLevel?: Level;
  /** Human-readable console output; default stderr (stdout may carry `--json` events). */
  console?: { write(text: string): unknown };
  /** Events kept out of the console because the progress display already shows them (the file gets them all). */
  consoleOmits?: ReadonlySet<string>;
  /**
   * Told once when a write to the file fails (a full disk): the file gets nothing more, the console goes on, and
   * no log call ever throws, so the run can end the way it chooses (the builder stops, as for any full disk).
   */
  onFileError?: (error: Error) => void;
}

/** Identifies one record in the log. */
export interface RecordRef {
  task_id: number;
  sample_index: number;
}

/**
 * The run's log: JSON lines in a file for after-the-fact reading, and a readable console at `--log-level`.
 * Writes are synchronous (write(2) per line, no buffer, no worker thread), so a crash or Ctrl+C loses no line and
 * exit needs no flushing dance. One method per event the issue asks for, so every run logs the same shape.
 */
export class RunLogger {
  /** For lower layers' debug lines; events should go through the methods below. */
  readonly logger: Logger;
  private readonly fileStream: LogFile;

  constructor(options: RunLoggerOptions) {
    const fileLevel = options.fileLevel ?? 'debug';
    const consoleLevel = options.consoleLevel ?? 'info';
    this.fileStream = new LogFile(options.file, options.onFileError);
    const consoleOut = options.console ?? process.stderr;
    const consoleStream: DestinationStream = {
      write: (line: string) => {
        const text = formatConsoleLine(line, options.consoleOmits);
        if (text !== undefined) consoleOut.write(`${text}\n`);
      },
    };
    const lowest = [fileLevel, consoleLevel].sort((a, b) => pino.levels.values[a]! - pino.levels.values[b]!)[0]!;
    this.logger = pino(
      { level: lowest, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.epochTime },
      pino.multistream([
        { level: fileLevel, stream: this.fileStream },
        { level: consoleLevel, stream: consoleStream },
      ]),
    );
  }

  /** The full configuration and versions, first thing in every log. */
  start(config: Record<string, unknown>, versions: RunVersions): void {
    this.logger.info({ event: 'start', config, versions }, `run started: mbpp-stream ${versions.mbppStream}, node ${versions.node}`);
  }

  /** Called every `progress_log_frequency` records. */
  progress(counts: ProgressCounts, rate: RateEstimate, rssBytes?: number): void {
    this.logger.info(
      {
        event: 'progress',
        ...counts,
        records_per_second: Number(rate.recordsPerSecond.toFixed(3)),
        eta_seconds: rate.etaSeconds === null ? null : Math.round(rate.etaSeconds),
        ...(rssBytes === undefined ? {} : { rss_bytes: rssBytes }),
      },
      `progress ${counts.done}/${counts.total}`,
    );
  }

  retry(record: RecordRef, attempt: number, reason: string, delayMs?: number): void {
    this.logger.warn(
      { event: 'retry', ...pickRef(record), attempt, reason, ...(delayMs === undefined ? {} : { delay_ms: delayMs }) },
      `retry of task ${record.task_id}:${record.sample_index} (attempt ${attempt})`,
    );
  }

  failure(record: RecordRef, attempts: number, error: unknown): void {
    this.logger.error(
      { event: 'failure', ...pickRef(record), attempts, err: toError(error) },
      `task ${record.task_id}:${record.sample_index} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}`,
    );
  }

  checkpoint(count: number, file?: string): void {
    this.logger.info({ event: 'checkpoint', count, ...(file ? { file } : {}) }, `checkpoint at ${count} records`);
  }

  autosave(count: number, file: string): void {
    this.logger.info({ event: 'autosave', count, file }, `autosaved ${count} records`);
  }

  resourceWarning(warning: ResourceWarning): void {
    const { kind, gpuIndex, usedBytes, limitBytes } = warning;
    this.logger.warn(
      { event: 'resource_warning', kind, ...(gpuIndex === undefined ? {} : { gpu_index: gpuIndex }), used_bytes: usedBytes, limit_bytes: limitBytes },
      warning.message,
    );
  }

  /** The run statistics (the extended metadata's), last thing in every log. */
  statistics(statistics: unknown): void {
    this.logger.info({ event: 'statistics', statistics }, 'run finished');
  }

  /** Closes the file (writes are synchronous: nothing is left to flush). Idempotent. */
  close(): void {
    this.fileStream.close();
  }
}

/** The log file: appended to line by line, created with its folder; after a failed write it takes no more lines. */
class LogFile implements DestinationStream {
  private fd: number | null;

  constructor(
    readonly path: string,
    private readonly onError?: (error: Error) => void,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
  }

  write(line: string): void {
    if (this.fd === null) return;
    try {
      const bytes = Buffer.from(line, 'utf8');
      for (let written = 0; written < bytes.length; ) written += writeSync(this.fd, bytes, written);
    } catch (error) {
      this.close();
      const cause = error as NodeJS.ErrnoException;
      this.onError?.(Object.assign(new Error(`cannot write the log ${this.path}: ${cause.message}`, { cause }), { code: cause.code }));
    }
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}

function pickRef(record: RecordRef): RecordRef {
  return { task_id: record.task_id, sample_index: record.sample_index };
}

/** pino serialises `err` with its type, message and stack only when it is an Error. */
function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
