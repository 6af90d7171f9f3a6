/**
 * A run's manifest, `runs/<id>/manifest.json`: the identity the run was started with (what a later command
 * is compared against), the id of its journal (so checkpoints of an earlier journal under the same run id
 * are never applied to a new one), and whether the run was finished.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-file.js';
import type { RunIdentity } from './run-identity.js';

export const MANIFEST_FORMAT = 1;

export interface RunManifest {
  format: number;
  runId: string;
  /** Random id of this run's journal, copied into every checkpoint. */
  journalId: string;
  identity: RunIdentity;
  createdAt: string;
  /** Set once the final dataset was assembled; an unfinished run blocks a differing command. */
  finishedAt: string | null;
  /** Times a command picked the run up again after it was started (absent in manifests of older builds). */
  resumes?: number;
}

/** A manifest read back, or why it could not be. */
export type ManifestReading = { readable: true; manifest: RunManifest } | { readable: false; reason: string };

export async function readManifest(path: string): Promise<ManifestReading> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { readable: false, reason: code === 'ENOENT' ? 'missing' : `unreadable (${code ?? (error as Error).message})` };
  }
  let parsed: Partial<RunManifest>;
  try {
    parsed = JSON.parse(text) as Partial<RunManifest>;
  } catch {
    return { readable: false, reason: 'not valid JSON' };
  }
  if (parsed === null || typeof parsed !== 'object') return { readable: false, reason: 'not an object' };
  if (typeof parsed.format !== 'number' || parsed.format > MANIFEST_FORMAT) {
    return { readable: false, reason: `format ${String(parsed.format)} is not one this version reads` };
  }
  if (typeof parsed.runId !== 'string' || typeof parsed.journalId !== 'string') return { readable: false, reason: 'no run id' };
  if (parsed.identity === null || typeof parsed.identity !== 'object') return { readable: false, reason: 'no identity' };
  return { readable: true, manifest: { ...parsed, finishedAt: parsed.finishedAt ?? null } as RunManifest };
}

export async function writeManifest(path: string, manifest: RunManifest): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
}
