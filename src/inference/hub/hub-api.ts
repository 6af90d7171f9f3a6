import { HubApiError, listFiles, listModels, modelInfo } from '@huggingface/hub';
import { InputError } from '../../errors.js';
import type { HubEnvironment } from './hub-environment.js';
import type { RepoFile } from './onnx-variants.js';

/** A file of a repo at one commit, with what the Hub says its bytes hash to. */
export interface HubFile extends RepoFile {
  /** sha256 of the content for an LFS file (the Hub's `X-Linked-Etag`); absent for a small file in git itself. */
  sha256?: string;
  /** The git blob sha1 (the `ETag` of a small file). */
  gitOid: string;
}

/**
 * `fetch` for requests to the Hub: the token goes, as `Authorization`, only to the endpoint's own origin. Redirects
 * to another origin (a CDN) are followed without it, as fetch does across origins.
 */
export function endpointFetch(hub: HubEnvironment): typeof fetch {
  const origin = new URL(hub.endpoint).origin;
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    headers.delete('authorization');
    if (hub.token !== undefined && url.origin === origin) headers.set('authorization', hub.token.bearer());
    return fetch(input, { ...init, headers });
  };
}

/** What went wrong talking to the Hub, as one line that says what to do. Exit code 1: the input may be right. */
export function hubFailure(error: unknown, hub: HubEnvironment, repo: string, revision?: string): InputError {
  const page = `${hub.endpoint}/${repo}`;
  if (error instanceof HubApiError) {
    const reply = error.message.replace(/\.? URL: .*$/, '');
    switch (error.statusCode) {
      case 401:
        return new InputError(
          hub.token === undefined
            ? `${repo} is gated or private (${hub.endpoint} answered 401): set HF_TOKEN to a token of an account that has access (${page})`
            : `${hub.endpoint} did not accept HF_TOKEN for ${repo} (401): check the token, and that its account has access (${page})`,
          1,
        );
      case 403:
        return new InputError(`HF_TOKEN's account has no access to ${repo} (403): request access at ${page}`, 1);
      case 404:
        return new InputError(
          revision !== undefined && /\brev(ision)?\b/i.test(reply)
            ? `${repo} has no revision "${revision}" on ${hub.endpoint}`
            : `no model ${repo} on ${hub.endpoint}${hub.token === undefined ? ' (if it is private, set HF_TOKEN)' : ''}`,
          2,
        );
      default:
        return new InputError(`${hub.endpoint} answered ${error.statusCode} for ${repo}: ${reply}`, 1);
    }
  }
  if (error instanceof InputError) return error;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new InputError(
    `cannot reach ${hub.endpoint} for ${repo} (${why}); with no network, set HF_HUB_OFFLINE=1 and use a model already in ${hub.cacheDir}`,
    1,
  );
}

/** The commit a branch, tag or commit names (`/api/models/{repo}/revision/{revision}`). */
export async function resolveCommit(hub: HubEnvironment, repo: string, revision: string): Promise<string> {
  try {
    const info = await modelInfo({ name: repo, revision, additionalFields: ['sha'], hubUrl: hub.endpoint, fetch: endpointFetch(hub) });
    if (typeof info.sha !== 'string') throw new InputError(`${hub.endpoint} gave no commit for ${repo}@${revision}`, 1);
    return info.sha;
  } catch (error) {
    throw hubFailure(error, hub, repo, revision);
  }
}

/** Every file of the repo at `commit`, with sizes and hashes (`/api/models/{repo}/tree/{commit}?recursive=true`). */
export async function listRepoFiles(hub: HubEnvironment, repo: string, commit: string): Promise<HubFile[]> {
  const files: HubFile[] = [];
  try {
    for await (const entry of listFiles({ repo: { type: 'model', name: repo }, revision: commit, recursive: true, hubUrl: hub.endpoint, fetch: endpointFetch(hub) })) {
      if (entry.type !== 'file') continue;
      files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, sha256: entry.lfs?.oid, gitOid: entry.oid ?? '' });
    }
  } catch (error) {
    throw hubFailure(error, hub, repo, commit);
  }
  return files;
}

/**
 * ONNX exports of `repo` the Hub knows of: repos tagged `onnx` whose base model is it, else (older exports carry no
 * base_model tag) `onnx` repos whose name contains its name. Best effort: an empty list when the search fails.
 */
export async function findOnnxExports(hub: HubEnvironment, repo: string, limit = 5): Promise<string[]> {
  const search = async (query: { tags: string[]; query?: string }): Promise<string[]> => {
    const names: string[] = [];
    for await (const model of listModels({ search: query, sort: 'downloads', limit, hubUrl: hub.endpoint, fetch: endpointFetch(hub) })) {
      if (model.name !== repo) names.push(model.name);
    }
    return names;
  };
  try {
    const byBase = await search({ tags: ['onnx', `base_model:${repo}`] });
    if (byBase.length > 0) return byBase;
    const name = repo.split('/').pop() ?? repo;
    return (await search({ tags: ['onnx'], query: name })).filter((found) => found.toLowerCase().includes(name.toLowerCase()));
  } catch {
    return [];
  }
}
