/**
 * Where the MBPP data comes from, in order: `--dataset PATH`, env `MBPP_STREAM_DATASET`, the user cache file, a
 * one-time download of the public file into that cache (pinned by sha256, so a changed or truncated upstream file
 * is never used), and, for `--test-run` only, the small sample bundled in `fixtures/` so the quick-start command
 * works offline. The returned sha256 identifies the data in the run identity.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { contentDigest, sha256Hex } from './table-rows.js';

export const DATASET_ENV_VAR = 'MBPP_STREAM_DATASET';
export const MBPP_DOWNLOAD_URL =
  'https://raw.githubusercontent.com/google-research/google-research/master/mbpp/mbpp.jsonl';
/** The full google-research file: 974 lines, 563,537 bytes. */
export const MBPP_SHA256 = '0b7004a79cd62d9ec7ecdd5a6e5f0ef1210ff00b286df3c5d5b57bf38c58e19a';
export const CACHE_FILE_NAME = 'mbpp.jsonl';

export type DatasetOrigin = 'flag' | 'env' | 'cache' | 'download' | 'bundled-sample';

export interface DatasetLocation {
  path: string;
  origin: DatasetOrigin;
  sha256: string;
  /** True when the run uses the bundled sample, not MBPP: the CLI and the metadata must say so. */
  bundledSample: boolean;
  /** Why the bundled sample was used (the download failure), for the CLI to print. */
  fallbackReason?: string;
}

export interface LocateOptions {
  /** `--dataset PATH`. */
  dataset?: string;
  testRun?: boolean;
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Default `defaultCacheDir(env)`. */
  cacheDir?: string;
  /** Default `MBPP_DOWNLOAD_URL`; tests point it at a local server. */
  downloadUrl?: string;
  /** Default `MBPP_SHA256`. */
  expectedSha256?: string;
  /** Gives up on a stalled download after this long. Default 60 s, or 10 s with `testRun` (it has a fallback). */
  downloadTimeoutMs?: number;
}

/** `$XDG_CACHE_HOME/mbpp-stream`, else `~/.cache/mbpp-stream`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME?.trim() ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'mbpp-stream');
}

/** The bundled sample; `../../fixtures` from both `src/io` (tsx) and `dist/io` (compiled). */
export function bundledSamplePath(): string {
  return fileURLToPath(new URL('../../fixtures/mbpp-sample.jsonl', import.meta.url));
}

export async function locateDataset(options: LocateOptions = {}): Promise<DatasetLocation> {
  const env = options.env ?? process.env;
  if (options.dataset !== undefined) {
    return { path: options.dataset, origin: 'flag', sha256: await contentDigest(options.dataset, '--dataset'), bundledSample: false };
  }
  const fromEnv = env[DATASET_ENV_VAR];
  if (fromEnv) {
    return { path: fromEnv, origin: 'env', sha256: await contentDigest(fromEnv, `env ${DATASET_ENV_VAR}`), bundledSample: false };
  }
  const expected = options.expectedSha256 ?? MBPP_SHA256;
  const cachePath = join(options.cacheDir ?? defaultCacheDir(env), CACHE_FILE_NAME);
  const cached = await readFile(cachePath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new InputError(`cached dataset ${cachePath}: cannot read (${error.code ?? error.message}); pass --dataset PATH`);
  });
  if (cached !== undefined) {
    const digest = sha256Hex(cached);
    if (digest !== expected) {
      throw new InputError(
        `cached dataset ${cachePath} has sha256 ${digest}, expected ${expected}: delete it to download again, or pass --dataset PATH`,
      );
    }
    return { path: cachePath, origin: 'cache', sha256: digest, bundledSample: false };
  }
  const url = options.downloadUrl ?? MBPP_DOWNLOAD_URL;
  const timeoutMs = options.downloadTimeoutMs ?? (options.testRun ? 10_000 : 60_000);
  let bytes: Uint8Array;
  try {
    bytes = await download(url, timeoutMs);
  } catch (error) {
    const reason = (error as Error).message;
    if (options.testRun) {
      const path = bundledSamplePath();
      return { path, origin: 'bundled-sample', sha256: sha256Hex(await readFile(path)), bundledSample: true, fallbackReason: reason };
    }
    throw new InputError(`no MBPP dataset: ${reason}; pass --dataset PATH (or set ${DATASET_ENV_VAR}) to a copy of mbpp.jsonl`);
  }
  // Checked in memory before anything is written, and written atomically: the cache never holds a partial or
  // unexpected file.
  const digest = sha256Hex(bytes);
  if (digest !== expected) {
    throw new InputError(
      `download of ${url} has sha256 ${digest}, expected ${expected}; nothing was cached, pass --dataset PATH`,
    );
  }
  await mkdir(dirname(cachePath), { recursive: true });
  await writeFileAtomic(cachePath, bytes);
  return { path: cachePath, origin: 'download', sha256: digest, bundledSample: false };
}

/** The body of `url`; any failure (offline, DNS, HTTP status, stall) is one Error saying why. */
async function download(url: string, timeoutMs: number): Promise<Uint8Array> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    throw new Error(`download of ${url} failed (${code ?? (error as Error).message})`);
  }
}
