import { readFile } from 'node:fs/promises';
import os from 'node:os';

/** Memory as the resource monitor sees it, in bytes. */
export interface MemoryReading {
  /** Resident set size of this process (the pipeline, in-process models included). */
  rssBytes: number;
  /** Memory the system can still hand out without swapping. */
  availableBytes: number;
  totalBytes: number;
}

/** Reads memory now. Injected into the monitor so tests can feed fake readings. */
export type MemoryReader = () => Promise<MemoryReading>;

/**
 * Reads this process's RSS and the system's available memory. On Linux, `MemAvailable` from /proc/meminfo
 * counts reclaimable page cache, which `os.freemem()` does not; a box that has read a big model file would
 * otherwise look nearly full.
 */
export const readSystemMemory: MemoryReader = async () => ({
  rssBytes: process.memoryUsage.rss(),
  availableBytes: (await readMemAvailable()) ?? os.freemem(),
  totalBytes: os.totalmem(),
});

async function readMemAvailable(): Promise<number | undefined> {
  try {
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    const match = /^MemAvailable:\s+(\d+)\s+kB$/m.exec(meminfo);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
