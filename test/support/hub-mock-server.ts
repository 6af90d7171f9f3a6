/**
 * A local server that speaks the Hugging Face Hub's file API as huggingface_hub and @huggingface/hub use it:
 * `/api/models/{repo}/revision/{rev}`, `/api/models/{repo}/tree/{rev}?recursive=true`, `/api/models?search&filter`,
 * and HEAD/GET `/{repo}/resolve/{rev}/{path}` with `X-Repo-Commit`, `ETag` (git sha1) or, for LFS files,
 * `X-Linked-Etag` (sha256) and `X-Linked-Size` with a 302 to a second origin (the "CDN") that serves the bytes.
 * Both honour Range requests. Gated repos answer 401 without a token and 403 with the wrong one. Scripted faults:
 * a CDN that cuts every reply after N bytes, and one that serves bytes other than those the listing hashed.
 * Binds 127.0.0.1 only; every request is recorded (with its Authorization header) for the tests to inspect.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface MockRepo {
  id: string;
  /** path -> content. */
  files: Record<string, Buffer>;
  /** Downloads need `Authorization: Bearer <token>` (the server's `token`). */
  gated?: boolean;
  /** The CDN sends at most this many bytes per reply, then drops the connection. */
  breakAfterBytes?: number;
  /** The CDN serves these paths with one byte changed (the listing keeps the true hash). */
  corrupt?: string[];
}

/** A model the search API lists (`/api/models?filter=onnx&filter=base_model:…`). */
export interface MockSearchable {
  id: string;
  tags: string[];
}

export interface HubRequest {
  server: 'hub' | 'cdn';
  method: string;
  /** Path and query. */
  url: string;
  range: string | undefined;
  authorization: string | undefined;
}

export interface HubMock {
  /** The endpoint to put in HF_ENDPOINT. */
  readonly url: string;
  readonly cdnUrl: string;
  readonly requests: HubRequest[];
  /** The commit `main` of a repo is at. */
  commitOf(repo: string): string;
  sha256Of(content: Buffer): string;
  close(): Promise<void>;
}

/** Paths the Hub keeps in LFS (big binaries); the rest are plain git files. */
const LFS = /\.(onnx|onnx_data(_\d+)?|onnx\.data|safetensors|bin)$/;

export function gitBlobSha1(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

function commitOf(repo: string): string {
  return createHash('sha1').update(`commit of ${repo}`).digest('hex');
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** `bytes=N-` / `bytes=N-M` -> [start, end] (inclusive); undefined for no or an unusable header. */
function rangeOf(header: string | undefined, size: number): [number, number] | undefined {
  const match = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (match === null) return undefined;
  const start = Number(match[1]);
  const end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
  return [start, end];
}

/** Sends `content` (or its requested range); `cutAfter` drops the connection after that many body bytes. */
function sendBytes(req: http.IncomingMessage, res: http.ServerResponse, content: Buffer, headers: Record<string, string>, cutAfter?: number): void {
  const range = rangeOf(req.headers.range, content.length);
  if (range !== undefined && range[0] >= content.length) {
    res.writeHead(416, { 'content-range': `bytes */${content.length}` });
    res.end();
    return;
  }
  const [start, end] = range ?? [0, content.length - 1];
  const body = content.subarray(start, end + 1);
  res.writeHead(range === undefined ? 200 : 206, {
    ...headers,
    'accept-ranges': 'bytes',
    'content-length': String(body.length),
    ...(range === undefined ? {} : { 'content-range': `bytes ${start}-${end}/${content.length}` }),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  if (cutAfter !== undefined && body.length > cutAfter) {
    res.write(body.subarray(0, cutAfter), () => res.socket?.end());
    return;
  }
  res.end(body);
}

export async function startHubMock(options: { repos: MockRepo[]; token?: string; searchable?: MockSearchable[] }): Promise<HubMock> {
  const repos = new Map(options.repos.map((repo) => [repo.id, repo]));
  const requests: HubRequest[] = [];
  const sockets = new Set<Socket>();
  const record = (server: HubRequest['server'], req: http.IncomingMessage): void => {
    requests.push({ server, method: req.method ?? '', url: req.url ?? '', range: req.headers.range, authorization: req.headers.authorization });
  };
  // The CDN serves `/<repo>/<sha256>`: repos may share content but not faults.
  const blobs = new Map<string, { repo: MockRepo; path: string; content: Buffer }>();
  for (const repo of options.repos) {
    for (const [path, content] of Object.entries(repo.files)) blobs.set(`/${repo.id}/${sha256(content)}`, { repo, path, content });
  }

  const cdn = http.createServer((req, res) => {
    record('cdn', req);
    const blob = blobs.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (blob === undefined) return json(res, 404, { error: 'no such blob' });
    let content = blob.content;
    if (blob.repo.corrupt?.includes(blob.path)) {
      content = Buffer.from(content);
      content.writeUInt8(content.readUInt8(content.length >> 1) ^ 0xff, content.length >> 1);
    }
    sendBytes(req, res, content, { etag: `"cdn-${sha256(content).slice(0, 8)}"` }, blob.repo.breakAfterBytes);
  });

  const hub = http.createServer((req, res) => {
    record('hub', req);
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    if (path === '/api/models') {
      const filters = url.searchParams.getAll('filter');
      const search = url.searchParams.get('search') ?? '';
      const found = (options.searchable ?? []).filter((m) => filters.every((f) => m.tags.includes(f)) && m.id.includes(search));
      return json(res, 200, found.slice(0, Number(url.searchParams.get('limit') ?? 100)).map((m) => ({ _id: m.id, id: m.id, tags: m.tags, private: false, gated: false, downloads: 1, likes: 0, lastModified: '2024-01-01T00:00:00.000Z' })));
    }
    const api = /^\/api\/models\/([^/]+(?:\/[^/]+)??)(?:\/(revision|tree)\/(.+))?$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repoId = api?.[1] ?? resolve?.[1];
    const repo = repoId === undefined ? undefined : repos.get(repoId);
    if (repo === undefined) return json(res, 404, { error: 'Repository not found' }, { 'x-error-code': 'RepositoryNotFound' });
    const commit = commitOf(repo.id);
    const revision = api?.[3]?.replace(/\?.*$/, '') ?? resolve?.[2] ?? 'main';
    if (revision !== 'main' && revision !== commit && revision !== 'HEAD') {
      return json(res, 404, { error: `Invalid rev id: ${revision}` }, { 'x-error-code': 'RevisionNotFound' });
    }
    if (api !== null && api[2] === 'tree') {
      const entries = Object.entries(repo.files).map(([file, content]) => ({
        type: 'file',
        path: file,
        size: content.length,
        oid: LFS.test(file) ? gitBlobSha1(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(content)}\n`)) : gitBlobSha1(content),
        ...(LFS.test(file) ? { lfs: { oid: sha256(content), size: content.length, pointerSize: 134 } } : {}),
      }));
      return json(res, 200, entries);
    }
    if (api !== null) {
      return json(res, 200, { _id: repo.id, id: repo.id, sha: commit, private: false, gated: repo.gated ? 'manual' : false, downloads: 0, likes: 0, lastModified: '2024-01-01T00:00:00.000Z', siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) });
    }
    const file = resolve![3]!;
    const content = repo.files[file];
    if (content === undefined) return json(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
    if (repo.gated) {
      if (req.headers.authorization === undefined) return json(res, 401, { error: `Access to model ${repo.id} is restricted. You must be authenticated to access it.` }, { 'x-error-code': 'GatedRepo' });
      if (req.headers.authorization !== `Bearer ${options.token}`) return json(res, 403, { error: `Access to model ${repo.id} is restricted and you are not in the authorized list.` }, { 'x-error-code': 'GatedRepo' });
    }
    const common = { 'x-repo-commit': commit };
    if (LFS.test(file)) {
      res.writeHead(302, { ...common, 'x-linked-etag': `"${sha256(content)}"`, 'x-linked-size': String(content.length), location: `${cdnUrl}/${repo.id}/${sha256(content)}?signature=abc` });
      res.end();
      return;
    }
    sendBytes(req, res, content, { ...common, etag: `"${gitBlobSha1(content)}"` });
  });

  for (const server of [hub, cdn]) {
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  }
  const address = (server: http.Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cdnUrl = address(cdn);
  return {
    url: address(hub),
    cdnUrl,
    requests,
    commitOf,
    sha256Of: sha256,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([hub, cdn].map((server) => new Promise<void>((done) => server.close(() => done()))));
    },
  };
}
