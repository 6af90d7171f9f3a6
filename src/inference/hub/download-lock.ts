import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether a process with this pid is alive (a signal-0 probe; EPERM means it exists but is not ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One download of a blob at a time across processes (two builds of the same model, a `models pull` beside a
 * build): both appending to one `.incomplete` would only produce bytes that fail the hash. The lock file holds
 * the pid; a later process waits while that pid lives (calling `onWait` once) and takes over the lock of a dead one.
 */
export async function withDownloadLock<T>(lockFile: string, work: () => Promise<T>, onWait?: (holder: number) => void, pollMs = 500): Promise<T> {
  await mkdir(dirname(lockFile), { recursive: true });
  let told = false;
  for (;;) {
    // Written aside and hard-linked into place: the lock never exists without its pid in it.
    const mine = `${lockFile}.${process.pid}`;
    await writeFile(mine, `${process.pid}\n`);
    try {
      await link(mine, lockFile);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(mine, { force: true });
    }
    const holder = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
      if (!told) onWait?.(holder);
      told = true;
      await sleep(pollMs);
      continue;
    }
    // Left by a killed process (or unreadable): remove it and try again; another starter may win the race.
    await rm(lockFile, { force: true });
  }
  try {
    return await work();
  } finally {
    await rm(lockFile, { force: true });
  }
}
