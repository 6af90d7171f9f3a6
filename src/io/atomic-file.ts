/**
 * Atomic file replacement: a reader (or a crash) sees either the old file or the complete new one, never a
 * partial file under the final name. The content goes to a temp file in the same directory (so the rename
 * cannot cross filesystems), is fsynced, renamed over the final name, and the directory is fsynced so the
 * rename itself survives a power loss.
 */
import { randomBytes } from 'node:crypto';
import * as fsPromises from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The filesystem calls an atomic write makes; tests swap in failing ones to simulate a disk that fills up. */
export type AtomicFileOps = Pick<typeof fsPromises, 'open' | 'rename' | 'link' | 'rm'>;

export interface AtomicWriteOptions {
  /**
   * false: fail with `EEXIST` instead of replacing an existing file (a hard link, not a rename, puts the file
   * in place, so a racing writer cannot be clobbered). Default true.
   */
  overwrite?: boolean;
  ops?: AtomicFileOps;
}

/** A failed atomic write. The final path is untouched and the temp file is gone. */
export class AtomicWriteError extends Error {
  override readonly name = 'AtomicWriteError';
  constructor(
    readonly path: string,
    /** The system error code (`ENOSPC`, `EACCES`, `EEXIST`, ...), when there is one. */
    readonly code: string | undefined,
    options: ErrorOptions,
  ) {
    super(`cannot write ${path}: ${describe(options.cause)}`, options);
  }
}

/** Writes `content` (text as UTF-8) to `path` atomically. The parent directory must exist. */
export async function writeFileAtomic(
  path: string,
  content: Uint8Array | string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeAtomically(path, (handle) => handle.writeFile(content), options);
}

/**
 * Like `writeFileAtomic` for content too large to hold at once: `fill` writes it to the open temp file, in as many
 * writes as it likes (bounded memory), and it is put in place only once `fill` resolves.
 */
export async function writeAtomically(
  path: string,
  fill: (handle: fsPromises.FileHandle) => Promise<void>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const ops = options.ops ?? fsPromises;
  const tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let tempExists = false;
  try {
    const handle = await ops.open(tempPath, 'wx');
    tempExists = true;
    try {
      await fill(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.overwrite === false) {
      await ops.link(tempPath, path);
      // The file is in place; a temp name left behind by a failed unlink is harmless, so it is not an error.
      await ops.rm(tempPath, { force: true }).catch(() => undefined);
    } else {
      await ops.rename(tempPath, path);
    }
    tempExists = false;
  } catch (error) {
    if (tempExists) await ops.rm(tempPath, { force: true }).catch(() => undefined);
    throw error instanceof AtomicWriteError ? error : new AtomicWriteError(path, errorCode(error), { cause: error });
  }
  await syncDirectory(dirname(path));
}

/** Writes all of `bytes` at the handle's position (a write may take only part of them). */
export async function writeFully(handle: fsPromises.FileHandle, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length; ) {
    written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
  }
}

/**
 * Makes a rename in `dir` durable. Some platforms cannot open or fsync a directory (Windows: EPERM/EISDIR);
 * there the rename is as durable as the OS makes it, which is the best available.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fsPromises.FileHandle | undefined;
  try {
    handle = await fsPromises.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = errorCode(error);
    if (code !== 'EPERM' && code !== 'EISDIR' && code !== 'EINVAL') {
      throw new AtomicWriteError(dir, code, { cause: error });
    }
  } finally {
    await handle?.close();
  }
}

/** The system error code (`ENOSPC`, …) of an error or of the errors that caused it. */
export function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 8; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    current = cause;
  }
  return undefined;
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
