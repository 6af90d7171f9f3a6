import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { takePidLock } from './pid-lock-file.js';

const LOCK_NAME = '.mbpp-stream.lock';

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
    const attempt = await takePidLock(path);
    if (!attempt.taken) {
      throw new InputError(
        `--output-dir: ${datasetsDir} is in use by another mbpp-stream run (pid ${attempt.holder}); wait for it or use another --output-dir`,
      );
    }
    return new OutputLock(path, attempt.tookOverFrom);
  }

  async release(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
