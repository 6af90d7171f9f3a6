import { mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { COMMIT_HASH } from './model-reference.js';
import type { RepoFile } from './onnx-variants.js';

/**
 * The Hugging Face cache layout `huggingface_hub` (and so transformers, optimum, vLLM) reads and writes, so one
 * copy of a model serves them all:
 *
 * ```
 * <cache>/models--org--name/blobs/<etag>                    the content, named by sha256 (LFS) or git sha1
 * <cache>/models--org--name/refs/<branch or tag>            the commit it points to
 * <cache>/models--org--name/snapshots/<commit>/<path>       relative symlink to ../../blobs/<etag>
 * ```
 */

/** `org/name` -> `<cache>/models--org--name`. */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, `models--${repo.split('/').join('--')}`);
}

/** `models--org--name` -> `org/name`; undefined for datasets, spaces and anything else in the cache. */
export function repoOfCacheFolder(folder: string): string | undefined {
  return folder.startsWith('models--') ? folder.slice('models--'.length).split('--').join('/') : undefined;
}

export function snapshotDir(repoDir: string, commit: string): string {
  return join(repoDir, 'snapshots', commit);
}

export function blobPath(repoDir: string, etag: string): string {
  return join(repoDir, 'blobs', etag);
}

/** The commit `revision` names in the cache: itself when it is a commit hash, else `refs/<revision>`. */
export async function readRef(repoDir: string, revision: string): Promise<string | undefined> {
  if (COMMIT_HASH.test(revision)) return revision;
  const text = await readFile(join(repoDir, 'refs', revision), 'utf8').catch(() => undefined);
  const commit = text?.trim();
  return commit !== undefined && COMMIT_HASH.test(commit) ? commit : undefined;
}

/** Points `refs/<revision>` at `commit` (written aside and renamed, so a reader never sees half a ref). */
export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const ref = join(repoDir, 'refs', revision);
  await mkdir(dirname(ref), { recursive: true });
  const temp = `${ref}.${process.pid}.tmp`;
  await writeFile(temp, commit);
  await rename(temp, ref);
}

/** Makes `snapshots/<commit>/<path>` a relative symlink to its blob, replacing whatever was there. */
export async function linkIntoSnapshot(repoDir: string, commit: string, path: string, etag: string): Promise<void> {
  const pointer = join(snapshotDir(repoDir, commit), path);
  await mkdir(dirname(pointer), { recursive: true });
  const temp = `${pointer}.${process.pid}.tmp`;
  await rm(temp, { force: true });
  await symlink(relative(dirname(pointer), blobPath(repoDir, etag)), temp);
  await rename(temp, pointer);
}

/**
 * The files a model directory or snapshot holds where the onnx backend looks (the top level and `onnx/`),
 * following symlinks; a dangling link (a blob someone deleted) is left out.
 */
export async function modelDirFiles(root: string): Promise<RepoFile[]> {
  const files: RepoFile[] = [];
  for (const sub of ['', 'onnx']) {
    const names = await readdir(join(root, sub)).catch(() => [] as string[]);
    for (const name of names) {
      const info = await stat(join(root, sub, name)).catch(() => undefined);
      if (info?.isFile()) files.push({ path: sub ? `${sub}/${name}` : name, size: info.size });
    }
  }
  return files;
}
