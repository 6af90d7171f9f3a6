import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';

const LOCK_NAME = '.mbpp-stream.lock';

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
 * One build at a time per output dir: two processes appending to the same journal would each skip only what
 * they saw done and redo the other's records. A lock left by a killed run (its pid is gone) is taken over.
 */
export class OutputLock {
  private constructor(
    readonly path: string,
    /** Set when a lock of a dead process was taken over: say so. */
    readonly tookOverFrom: number | undefined,
  ) {}

  static async acquire(datasetsDir: string): Promise<OutputLock> {
    await mkdir(datasetsDir, { recursive: true });
    const path = join(datasetsDir, LOCK_NAME);
    let tookOverFrom: number | undefined;
    for (;;) {
      try {
        const handle = await open(path, 'wx');
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        return new OutputLock(path, tookOverFrom);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
        throw new InputError(`--output-dir: ${datasetsDir} is in use by another mbpp-stream run (pid ${holder}); wait for it or use another --output-dir`);
      }
      // The holder is gone (killed) or the file is unreadable: remove it and try again (another starter may win).
      tookOverFrom = Number.isInteger(holder) ? holder : undefined;
      await rm(path, { force: true });
    }
  }

  async release(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
