import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../../errors.js';
import type { HubEnvironment } from './hub-environment.js';

/** One file to fetch into its blob. */
export interface BlobRequest {
  /** `<endpoint>/<repo>/resolve/<commit>/<path>`. */
  url: string;
  /** The repo path, for messages. */
  path: string;
  /** `blobs/<etag>`; the bytes go to `<target>.incomplete` until they verify. */
  target: string;
  size: number;
  /** sha256 of the content (LFS files); else the content is checked against `gitOid`. */
  sha256?: string;
  /** git's blob sha1 (`sha1("blob <size>\0" + content)`), the etag of a file kept in git itself. */
  gitOid: string;
}

export interface BlobDownloadOptions {
  hub: HubEnvironment;
  /** Called with each chunk's length as it lands (resumed bytes are reported once, at the start). */
  onBytes?: (bytes: number) => void;
  /** Attempts in a row that bring no new byte before giving up. Default 3. */
  maxStalledAttempts?: number;
  /** Wait before retrying an attempt that brought no byte, doubled for each further one. Default 1000 ms. */
  retryDelayMs?: number;
  /** A connection that sends nothing for this long is dropped and resumed. Default 60 s. */
  idleTimeoutMs?: number;
}

/** A reply that no retry will change: stop at once. */
class FinalReply extends Error {}

/** The Hub refused the file (401, 403, 404): the caller says what that means for the repo. */
export class BlobRefused extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(`${new URL(url).host} answered ${status}`);
  }
}

const MAX_REDIRECTS = 10;

function unquote(etag: string | null): string | undefined {
  return etag?.replace(/^W\//, '').replace(/^"|"$/g, '') || undefined;
}

function startHash(request: BlobRequest): Hash {
  if (request.sha256 !== undefined) return createHash('sha256');
  return createHash('sha1').update(`blob ${request.size}\0`);
}

async function hashExisting(hash: Hash, file: string): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/**
 * GETs `url` following redirects by hand, so the token goes only to the endpoint's origin (never to the CDN a
 * large file is redirected to). Checks the Hub's `X-Linked-Etag`/`ETag` against the expected hash on the way.
 */
async function open206(request: BlobRequest, offset: number, hub: HubEnvironment, signal: AbortSignal): Promise<Response> {
  const origin = new URL(hub.endpoint).origin;
  const expected = request.sha256 ?? request.gitOid;
  let url = request.url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers = new Headers({ 'accept-encoding': 'identity' });
    if (offset > 0) headers.set('range', `bytes=${offset}-`);
    if (hub.token !== undefined && new URL(url).origin === origin) headers.set('authorization', hub.token.bearer());
    const reply = await fetch(url, { headers, redirect: 'manual', signal });
    const etag = unquote(reply.headers.get('x-linked-etag')) ?? (new URL(url).origin === origin ? unquote(reply.headers.get('etag')) : undefined);
    if (etag !== undefined && etag !== expected && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag)) {
      await reply.body?.cancel();
      throw new FinalReply(`the Hub's etag for it is ${etag}, not the ${expected} its file listing gave`);
    }
    const location = reply.headers.get('location');
    if (reply.status >= 300 && reply.status < 400 && location !== null) {
      await reply.body?.cancel();
      url = new URL(location, url).href;
      continue;
    }
    if (reply.status === 401 || reply.status === 403 || reply.status === 404) {
      await reply.body?.cancel();
      throw new BlobRefused(url, reply.status);
    }
    return reply;
  }
  throw new FinalReply(`more than ${MAX_REDIRECTS} redirects`);
}

/**
 * Downloads one file into its blob: resumes a `.incomplete` left by an earlier attempt (HTTP Range), retries a
 * connection that breaks as long as attempts bring new bytes, and renames the file into place only once its
 * content hashes to what the Hub listed. A mismatch discards the bytes and fails.
 */
export async function downloadBlob(request: BlobRequest, options: BlobDownloadOptions): Promise<void> {
  if (await stat(request.target).then(() => true, () => false)) return;
  const partial = `${request.target}.incomplete`;
  await mkdir(dirname(partial), { recursive: true });
  let offset = await stat(partial).then((s) => s.size, () => 0);
  if (offset > request.size) {
    await rm(partial, { force: true });
    offset = 0;
  }
  let hash = startHash(request);
  if (offset > 0) {
    await hashExisting(hash, partial);
    options.onBytes?.(offset);
  }
  const maxStalled = options.maxStalledAttempts ?? 3;
  const idleMs = options.idleTimeoutMs ?? 60_000;
  let stalled = 0;
  let lastProblem = '';
  while (offset < request.size) {
    const before = offset;
    const controller = new AbortController();
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new Error(`nothing received for ${idleMs / 1000} s`)), idleMs);
    };
    const handle = await open(partial, 'a');
    try {
      arm();
      const reply = await open206(request, offset, options.hub, controller.signal);
      if (reply.status === 200 && offset > 0) {
        // The server ignored the range: start over from the first byte.
        await handle.truncate(0);
        options.onBytes?.(-offset);
        offset = 0;
        hash = startHash(request);
      } else if (reply.status !== 200 && reply.status !== 206) {
        await reply.body?.cancel();
        throw new Error(`${new URL(request.url).host} answered ${reply.status}`);
      }
      for await (const chunk of reply.body ?? []) {
        arm();
        const bytes = chunk as Uint8Array;
        await handle.write(bytes);
        hash.update(bytes);
        offset += bytes.length;
        options.onBytes?.(bytes.length);
      }
    } catch (error) {
      if (error instanceof BlobRefused) throw error;
      if (error instanceof FinalReply) throw new InputError(`downloading ${request.path}: ${error.message}`, 1);
      const cause = (error as { cause?: { message?: string } }).cause;
      lastProblem = cause?.message ?? (error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(idle);
      await handle.close();
    }
    if (offset >= request.size) break;
    stalled = offset > before ? 0 : stalled + 1;
    if (stalled >= maxStalled) {
      throw new InputError(
        `downloading ${request.path} stopped at ${offset} of ${request.size} bytes (${lastProblem || 'the connection ended early'}); ` +
          'run the same command again to resume from there',
        1,
      );
    }
    // A connection that broke after bringing bytes is retried at once; one that brought nothing backs off.
    if (stalled > 0) await sleep((options.retryDelayMs ?? 1000) * 2 ** (stalled - 1));
  }
  const expected = request.sha256 ?? request.gitOid;
  const actual = hash.digest('hex');
  if (offset !== request.size || actual !== expected) {
    await rm(partial, { force: true });
    throw new InputError(
      `downloading ${request.path}: the content does not match the Hub's ${request.sha256 !== undefined ? 'sha256' : 'git hash'} ` +
        `(expected ${expected}, got ${actual} over ${offset} bytes); the bytes were discarded, nothing was cached`,
      1,
    );
  }
  await rename(partial, request.target);
}
