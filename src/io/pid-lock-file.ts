import { link, readFile, rm, writeFile } from 'node:fs/promises';

/** Whether a process with this pid is alive (a signal-0 probe; EPERM means it exists but is not ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock is ours (`tookOverFrom`: the dead process whose lock it was), or a live process holds it. */
export type PidLockAttempt = { taken: true; tookOverFrom: number | undefined } | { taken: false; holder: number };

/**
 * Takes a lock file that holds its owner's pid, unless a live process holds it; a lock left by a dead process (or
 * unreadable) is removed and taken over. The file is written aside and hard-linked into place, so it never exists
 * without its pid in it (a starter reading it half-written would take it over from its live owner).
 */
export async function takePidLock(path: string): Promise<PidLockAttempt> {
  let tookOverFrom: number | undefined;
  for (;;) {
    const mine = `${path}.${process.pid}`;
    await writeFile(mine, `${process.pid}\n`);
    try {
      await link(mine, path);
      return { taken: true, tookOverFrom };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(mine, { force: true });
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) return { taken: false, holder };
    // Its holder is gone (killed): remove it and try again; another starter may win the race.
    tookOverFrom = Number.isInteger(holder) ? holder : undefined;
    await rm(path, { force: true });
  }
}
