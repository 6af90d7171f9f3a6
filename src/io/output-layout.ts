/**
 * Where a run's files go, in the original pipeline's layout, so its downstream scripts find them:
 *
 *     <output>/mbpp_datasets/mbpp_dataset_<timestamp>.parquet | .json | _extended_metadata.json
 *     <output>/mbpp_datasets/checkpoints/   <output>/mbpp_datasets/autosaves/
 *     <output>/mbpp_logs/mbpp_production_<timestamp>.log   (mbpp_test_<timestamp>.log for a test run)
 *
 * Nothing is created up front: a run that stops on bad input must leave the output dir as it found it, so
 * writers ask for a directory (`ensureDirectory`) just before they write into it.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../errors.js';

/** The three files of a finished dataset. */
export interface DatasetPaths {
  parquet: string;
  json: string;
  metadata: string;
}

export interface OutputLayoutOptions {
  /** `--test-run`: the log is named `mbpp_test_*` instead of `mbpp_production_*`. */
  testRun?: boolean;
  /** The run's start time; defaults to now. */
  now?: Date;
}

/** `YYYYMMDD_HHMMSS` in local time, as the original's `datetime.now().strftime("%Y%m%d_%H%M%S")`. */
export function formatTimestamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}_` +
    `${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`
  );
}

/**
 * Stamps handed out by this process, per output dir: two runs started in the same second in one process
 * see no files of each other yet, so the directory listing alone cannot keep them apart.
 */
const claimedStamps = new Set<string>();

export class OutputLayout {
  readonly datasetsDir: string;
  readonly logsDir: string;
  readonly checkpointsDir: string;
  readonly autosavesDir: string;

  private constructor(
    /** Absolute output directory. */
    readonly outputDir: string,
    /** The run's timestamp, with a `_<n>` suffix when an earlier run took the plain one. */
    readonly timestamp: string,
    readonly testRun: boolean,
  ) {
    this.datasetsDir = join(outputDir, 'mbpp_datasets');
    this.logsDir = join(outputDir, 'mbpp_logs');
    this.checkpointsDir = join(this.datasetsDir, 'checkpoints');
    this.autosavesDir = join(this.datasetsDir, 'autosaves');
  }

  /**
   * Picks this run's timestamp: the start time, suffixed `_1`, `_2`, ... while a file of that name already
   * exists (or another run of this process holds it), so no earlier run's file is ever overwritten.
   * Reads the output dir but creates nothing.
   */
  static async create(outputDir: string, options: OutputLayoutOptions = {}): Promise<OutputLayout> {
    const dir = resolve(outputDir);
    const testRun = options.testRun ?? false;
    const base = formatTimestamp(options.now ?? new Date());
    const probe = new OutputLayout(dir, base, testRun);
    const taken = new Set([
      ...(await listNames(probe.datasetsDir)),
      ...(await listNames(probe.logsDir)),
    ]);
    for (let n = 0; ; n++) {
      const layout = n === 0 ? probe : new OutputLayout(dir, `${base}_${n}`, testRun);
      const claim = `${dir}\0${layout.timestamp}`;
      if (claimedStamps.has(claim) || layout.fileNames().some((name) => taken.has(name))) continue;
      claimedStamps.add(claim);
      return layout;
    }
  }

  get dataset(): DatasetPaths {
    const stem = join(this.datasetsDir, `mbpp_dataset_${this.timestamp}`);
    return { parquet: `${stem}.parquet`, json: `${stem}.json`, metadata: `${stem}_extended_metadata.json` };
  }

  get logFile(): string {
    return join(this.logsDir, `mbpp_${this.testRun ? 'test' : 'production'}_${this.timestamp}.log`);
  }

  /** Creates `dir` (one of this layout's directories) and its parents if missing; returns it. */
  async ensureDirectory(dir: string): Promise<string> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw new InputError(`--output-dir ${this.outputDir}: cannot create ${dir}: ${(error as Error).message}`);
    }
    return dir;
  }

  /** Base names of the files this run writes, for the collision check. */
  private fileNames(): string[] {
    const { parquet, json, metadata } = this.dataset;
    return [parquet, json, metadata, this.logFile].map((path) => basename(path));
  }
}

/** Names in `dir`; none when it does not exist yet. A path that is not a directory is the user's mistake. */
async function listNames(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') return [];
    throw new InputError(`--output-dir: cannot read ${dir} (${code ?? (error as Error).message})`);
  }
}
