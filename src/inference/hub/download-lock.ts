import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { takePidLock } from '../../io/pid-lock-file.js';

/**
 * One download of a blob at a time across processes (two builds of the same model, a `models pull` beside a
 * build): both appending to one `.incomplete` would only produce bytes that fail the hash. The lock file holds
 * the pid; a later process waits while that pid lives (calling `onWait` once) and takes over the lock of a dead one.
 */
export async function withDownloadLock<T>(lockFile: string, work: () => Promise<T>, onWait?: (holder: number) => void, pollMs = 500): Promise<T> {
  await mkdir(dirname(lockFile), { recursive: true });
  let told = false;
  for (;;) {
    const attempt = await takePidLock(lockFile);
    if (attempt.taken) break;
    if (!told) onWait?.(attempt.holder);
    told = true;
    await sleep(pollMs);
  }
  try {
    return await work();
  } finally {
    await rm(lockFile, { force: true });
  }
}
