import http from 'node:http';
import https from 'node:https';
import { SessionUnavailableError, TransientError } from '../backend.js';

/** A finished HTTP exchange: the whole body arrived. */
export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface JsonPost {
  url: URL;
  /** JSON text of the request. */
  body: string;
  headers: Record<string, string>;
  /** Keep-alive pool of the endpoint this request belongs to. */
  agent: http.Agent;
  /** Aborting destroys the socket, so the server sees the connection close and can stop generating. */
  signal: AbortSignal;
  /** Replies larger than this fail the request: no completion of a sane size comes near it. */
  maxReplyBytes: number;
}

/** Why a post failed when the caller aborted: the signal's own reason, as `signal.throwIfAborted()` would. */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/**
 * Errors of a connection that was never made: the request did not reach the server (it is down, restarting, or
 * not there), so retrying it is transparent and never spends the record's retries.
 */
const UNREACHED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

/**
 * POSTs JSON and collects the whole reply. A connection that cannot be made (refused, no route, unresolvable)
 * is `SessionUnavailableError`; other network failures (a reset, a reply cut off before its end) are
 * `TransientError`; an abort rejects with the signal's reason. A reset on a reused keep-alive socket
 * before any reply is the server having closed an idle connection as we picked it up: that one is retried
 * at once on a fresh connection, as Node's http docs advise, since the server never saw the request.
 */
export async function postJson(post: JsonPost): Promise<HttpReply> {
  try {
    return await exchangeOnce(post);
  } catch (error) {
    if (error instanceof StaleSocketError) return exchangeOnce(post);
    throw error;
  }
}

/** A reset on a reused idle socket before any reply byte. */
class StaleSocketError extends TransientError {}

function exchangeOnce(post: JsonPost): Promise<HttpReply> {
  const endpoint = post.url.href;
  return new Promise<HttpReply>((resolve, reject) => {
    if (post.signal.aborted) {
      reject(abortReason(post.signal));
      return;
    }
    const transport = post.url.protocol === 'https:' ? https : http;
    const request = transport.request(post.url, {
      method: 'POST',
      agent: post.agent,
      signal: post.signal,
      headers: {
        ...post.headers,
        'content-type': 'application/json',
        accept: 'application/json',
        'content-length': Buffer.byteLength(post.body),
      },
    });
    let settled = false;
    let responded = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      reject(post.signal.aborted ? abortReason(post.signal) : error);
    };
    const dropped = (detail: string, cause?: unknown): TransientError =>
      new TransientError(`${endpoint}: ${detail}`, undefined, cause === undefined ? undefined : { cause });

    request.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? '';
      const stale = request.reusedSocket && !responded && STALE_SOCKET_CODES.has(code);
      fail(
        stale
          ? new StaleSocketError(`${endpoint}: idle keep-alive connection was closed by the server`, undefined, { cause: error })
          : UNREACHED_CODES.has(code)
            ? new SessionUnavailableError(`${endpoint}: cannot connect: ${error.message}`, undefined, { cause: error })
            : dropped(`request failed: ${error.message}`, error),
      );
    });

    request.on('response', (response) => {
      responded = true;
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > post.maxReplyBytes) {
          fail(new Error(`${endpoint}: reply larger than ${post.maxReplyBytes} bytes`));
          request.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', (error) => fail(dropped(`connection dropped mid-reply (${error.message})`, error)));
      response.on('close', () => {
        if (!response.complete) fail(dropped('connection dropped mid-reply'));
      });
    });

    request.end(post.body);
  });
}
