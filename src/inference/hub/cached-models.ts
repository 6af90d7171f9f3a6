import { lstat, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { modelDirFiles, readRef, repoCacheDir, repoOfCacheFolder, snapshotDir } from './hf-cache.js';
import { COMMIT_HASH, type ModelReference } from './model-reference.js';
import { onnxVariants } from './onnx-variants.js';

/**
 * What the Hugging Face cache holds for the onnx backend, and removing it. (@huggingface/hub's `scanCacheDir`
 * does not look into snapshot subfolders such as `onnx/`, where the graphs are, nor nested refs like `refs/pr/1`.)
 */

export interface CachedRevision {
  commit: string;
  /** Branches and tags pointing at it (`main`, `refs/pr/1`). */
  refs: string[];
  /** The ONNX variants its snapshot holds. */
  dtypes: string[];
}

export interface CachedModel {
  repo: string;
  /** `<cache>/models--org--name`. */
  dir: string;
  revisions: CachedRevision[];
  /** Bytes of its blobs (shared by its revisions, counted once), partial downloads included. */
  bytes: number;
}

export interface CacheInventory {
  models: CachedModel[];
  /** Models in the cache with no ONNX graph in any snapshot (checkpoints Python tools downloaded). */
  withoutOnnx: number;
}

async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? filesUnder(dir, join(prefix, entry.name)) : Promise.resolve([join(prefix, entry.name)]))),
  );
  return nested.flat();
}

async function refsByCommit(repoDir: string): Promise<Map<string, string[]>> {
  const refs = new Map<string, string[]>();
  for (const name of await filesUnder(join(repoDir, 'refs'))) {
    const commit = (await readFile(join(repoDir, 'refs', name), 'utf8').catch(() => '')).trim();
    refs.set(commit, [...(refs.get(commit) ?? []), name.split('\\').join('/')]);
  }
  return refs;
}

async function blobBytes(repoDir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(join(repoDir, 'blobs')).catch(() => [] as string[])) {
    total += await lstat(join(repoDir, 'blobs', name)).then((s) => s.size, () => 0);
  }
  return total;
}

export async function listCachedModels(cacheDir: string): Promise<CacheInventory> {
  const models: CachedModel[] = [];
  let withoutOnnx = 0;
  for (const folder of (await readdir(cacheDir).catch(() => [] as string[])).sort()) {
    const repo = repoOfCacheFolder(folder);
    if (repo === undefined) continue;
    const dir = join(cacheDir, folder);
    const refs = await refsByCommit(dir);
    const revisions: CachedRevision[] = [];
    for (const commit of await readdir(join(dir, 'snapshots')).catch(() => [] as string[])) {
      const dtypes = onnxVariants(await modelDirFiles(snapshotDir(dir, commit))).map((v) => v.dtype);
      if (dtypes.length > 0) revisions.push({ commit, refs: refs.get(commit) ?? [], dtypes });
    }
    if (revisions.length === 0) {
      withoutOnnx++;
      continue;
    }
    models.push({ repo, dir, revisions, bytes: await blobBytes(dir) });
  }
  return { models, withoutOnnx };
}

/** What `removeCachedModel` took away. */
export interface Removal {
  /** Snapshot folders (or the whole repo folder) removed. */
  removed: string[];
  freedBytes: number;
}

/**
 * Removes `ref` from the cache: with an explicit revision only that snapshot, the refs pointing at it and the
 * blobs no other snapshot links to; without one the repo's whole folder. Undefined when the cache has neither.
 */
export async function removeCachedModel(cacheDir: string, ref: ModelReference): Promise<Removal | undefined> {
  const repoDir = repoCacheDir(cacheDir, ref.repo);
  if (!(await stat(repoDir).then((s) => s.isDirectory(), () => false))) return undefined;
  const before = await blobBytes(repoDir);
  if (!ref.explicitRevision) {
    await rm(repoDir, { recursive: true, force: true });
    return { removed: [repoDir], freedBytes: before };
  }
  const commit = await readRef(repoDir, ref.revision);
  const snapshot = commit === undefined ? undefined : snapshotDir(repoDir, commit);
  if (snapshot === undefined || !(await stat(snapshot).then(() => true, () => false))) return undefined;
  await rm(snapshot, { recursive: true, force: true });
  for (const [pointed, names] of await refsByCommit(repoDir)) {
    if (pointed === commit) await Promise.all(names.map((name) => rm(join(repoDir, 'refs', name), { force: true })));
  }
  const remaining = await readdir(join(repoDir, 'snapshots')).catch(() => [] as string[]);
  if (remaining.length === 0) {
    await rm(repoDir, { recursive: true, force: true });
    return { removed: [snapshot], freedBytes: before };
  }
  const blobs = await realpath(join(repoDir, 'blobs')).catch(() => join(repoDir, 'blobs'));
  const linked = new Set<string>();
  for (const other of remaining) {
    const root = snapshotDir(repoDir, other);
    for (const file of await filesUnder(root)) {
      const target = await realpath(join(root, file)).catch(() => undefined);
      if (target !== undefined) linked.add(relative(blobs, target));
    }
  }
  for (const blob of await readdir(join(repoDir, 'blobs')).catch(() => [] as string[])) {
    if ((COMMIT_HASH.test(blob) || /^[0-9a-f]{64}$/.test(blob)) && !linked.has(blob)) await rm(join(repoDir, 'blobs', blob), { force: true });
  }
  return { removed: [snapshot], freedBytes: before - (await blobBytes(repoDir)) };
}
