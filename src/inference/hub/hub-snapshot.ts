import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputError } from '../../errors.js';
import { HubApiError } from '@huggingface/hub';
import { BlobRefused, downloadBlob, type BlobDownloadOptions } from './blob-download.js';
import { withDownloadLock } from './download-lock.js';
import type { DownloadProgress } from './download-progress.js';
import { blobPath, linkIntoSnapshot, modelDirFiles, readRef, repoCacheDir, snapshotDir, writeRef } from './hf-cache.js';
import { findOnnxExports, hubFailure, listRepoFiles, resolveCommit, type HubFile } from './hub-api.js';
import type { HubEnvironment } from './hub-environment.js';
import { formatModelReference, type ModelReference } from './model-reference.js';
import { chooseVariant, type OnnxVariant, type RepoFile } from './onnx-variants.js';

/** A model's snapshot in the Hugging Face cache: there already, or what to download to make it. */
export interface HubSnapshot {
  ref: ModelReference;
  commit: string;
  /** `<cache>/models--org--name/snapshots/<commit>`. */
  dir: string;
  variant: OnnxVariant;
  /** Every file the backend needs from it. */
  files: RepoFile[];
  /** Those not in the cache yet, with their hashes: empty for a complete snapshot. */
  missing: HubFile[];
  /** Bytes of `missing` not already in a resumable `.incomplete`. */
  downloadBytes: number;
}

function describeVariants(offered: readonly string[]): string {
  return offered.join(', ');
}

/**
 * The snapshot `ref` names in the cache, when it holds a graph (of `dtype`, when given) and the files beside it.
 * Never touches the network: a model pulled once loads offline.
 */
export async function cachedSnapshot(ref: ModelReference, dtype: string | undefined, hub: HubEnvironment): Promise<HubSnapshot | undefined> {
  const repoDir = repoCacheDir(hub.cacheDir, ref.repo);
  const commit = await readRef(repoDir, ref.revision);
  if (commit === undefined) return undefined;
  const dir = snapshotDir(repoDir, commit);
  const choice = chooseVariant(await modelDirFiles(dir), dtype);
  if (!choice.ok) return undefined;
  return { ref, commit, dir, variant: choice.variant, files: choice.files, missing: [], downloadBytes: 0 };
}

/** One line for a repo with no decoder graph: the exports the Hub knows of, and the command to make one. */
async function noOnnxExport(ref: ModelReference, commit: string, files: readonly HubFile[], hub: HubEnvironment, exportDir: string): Promise<InputError> {
  const onnxFiles = files.map((file) => file.path).filter((path) => path.endsWith('.onnx'));
  const what =
    onnxFiles.length > 0
      ? `has no single-graph decoder export (found ${onnxFiles.slice(0, 4).join(', ')}; the onnx backend needs onnx/model.onnx or model.onnx, with the KV cache)`
      : 'has no ONNX export';
  const exports = await findOnnxExports(hub, ref.repo);
  const known = exports.length > 0 ? ` ONNX exports of it on the Hub: ${exports.join(', ')} (use one as --model).` : '';
  return new InputError(
    `${formatModelReference(ref)} ${what} at ${commit.slice(0, 12)} on ${hub.endpoint}.${known} ` +
      `Or export it yourself: \`optimum-cli export onnx --model ${ref.repo}${ref.explicitRevision ? ` --revision ${ref.revision}` : ''} ` +
      `--task text-generation-with-past ${exportDir}\` (pip install "optimum[onnxruntime]"), then use --model ${ref.repo} again`,
  );
}

/**
 * Asks the Hub which commit `ref` is at and which files the chosen variant needs, and which of those the cache
 * lacks. `exportDir` is where the optimum command in a "no ONNX export" message writes (the tool's models dir).
 */
export async function planSnapshot(ref: ModelReference, dtype: string | undefined, hub: HubEnvironment, exportDir: string): Promise<HubSnapshot> {
  const commit = await resolveCommit(hub, ref.repo, ref.revision);
  const listed = await listRepoFiles(hub, ref.repo, commit);
  const choice = chooseVariant(listed, dtype);
  if (!choice.ok) {
    switch (choice.reason) {
      case 'no-onnx':
        throw await noOnnxExport(ref, commit, listed, hub, exportDir);
      case 'no-dtype':
        throw new InputError(`--dtype ${dtype}: ${formatModelReference(ref)} offers ${describeVariants(choice.offered)}`);
      case 'missing':
        throw new InputError(`${formatModelReference(ref)} has an ONNX graph but no ${choice.missing.join(' or ')}, which the onnx backend needs`);
    }
  }
  const repoDir = repoCacheDir(hub.cacheDir, ref.repo);
  const dir = snapshotDir(repoDir, commit);
  const byPath = new Map(listed.map((file) => [file.path, file]));
  const missing: HubFile[] = [];
  let downloadBytes = 0;
  for (const file of choice.files) {
    const hubFile = byPath.get(file.path)!;
    const linked = await stat(`${dir}/${file.path}`).then((s) => s.size === hubFile.size, () => false);
    if (linked) continue;
    missing.push(hubFile);
    const blob = blobPath(repoDir, etagOf(hubFile));
    if (await stat(blob).then(() => true, () => false)) continue;
    downloadBytes += hubFile.size - (await stat(`${blob}.incomplete`).then((s) => Math.min(s.size, hubFile.size), () => 0));
  }
  return { ref, commit, dir, variant: choice.variant, files: choice.files, missing, downloadBytes };
}

/** The blob name `huggingface_hub` uses: the sha256 for LFS files, else the git blob sha1. */
function etagOf(file: HubFile): string {
  return file.sha256 ?? file.gitOid;
}

function resolveUrl(hub: HubEnvironment, repo: string, commit: string, path: string): string {
  return `${hub.endpoint}/${repo}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Downloads what `snapshot` lacks into the cache's blobs, then links the snapshot's files and points the ref at
 * the commit. The links come last, so a snapshot in the cache is whole: an interrupted pull leaves only blobs and
 * `.incomplete` files, which the next one reuses and resumes.
 */
export async function downloadSnapshot(
  snapshot: HubSnapshot,
  hub: HubEnvironment,
  progress: DownloadProgress | undefined,
  retry: Pick<BlobDownloadOptions, 'retryDelayMs' | 'maxStalledAttempts' | 'idleTimeoutMs'> = {},
): Promise<void> {
  const repoDir = repoCacheDir(hub.cacheDir, snapshot.ref.repo);
  if (snapshot.missing.length === 0) return writeRef(repoDir, snapshot.ref.revision, snapshot.commit);
  if (hub.offline) throw new InputError(`${formatModelReference(snapshot.ref)}: HF_HUB_OFFLINE is set, so nothing can be downloaded`);
  const total = snapshot.missing.reduce((sum, file) => sum + file.size, 0);
  progress?.start(`${formatModelReference(snapshot.ref)} (${snapshot.variant.dtype}, ${snapshot.commit.slice(0, 12)})`, total, snapshot.missing.length);
  try {
    for (const file of snapshot.missing) {
      progress?.file(file.path, file.size);
      const request = { url: resolveUrl(hub, snapshot.ref.repo, snapshot.commit, file.path), path: file.path, target: blobPath(repoDir, etagOf(file)), size: file.size, sha256: file.sha256, gitOid: file.gitOid };
      const lock = join(hub.cacheDir, '.locks', basename(repoDir), `${etagOf(file)}.mbpp-stream.lock`);
      const waiting = (pid: number) => progress?.note(`waiting for process ${pid}, which is downloading ${file.path} into the same cache`);
      await withDownloadLock(lock, async () => {
        // Another process may have finished the blob while this one waited.
        const there = await stat(request.target).then(() => true, () => false);
        await downloadBlob(request, { hub, onBytes: (count) => progress?.bytes(count), ...retry });
        if (there) progress?.bytes(file.size);
      }, waiting);
    }
  } catch (error) {
    progress?.fail();
    throw error instanceof BlobRefused ? hubFailure(new HubApiError(error.url, error.status), hub, snapshot.ref.repo) : error;
  }
  for (const file of snapshot.missing) await linkIntoSnapshot(repoDir, snapshot.commit, file.path, etagOf(file));
  await writeRef(repoDir, snapshot.ref.revision, snapshot.commit);
  progress?.succeed(`${formatModelReference(snapshot.ref)} is in ${snapshot.dir}`);
}
