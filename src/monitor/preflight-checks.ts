import { statfs, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { IsolationLevel } from '../sandbox/executor.js';
import { containmentRefusal, describeModules, type JudgeEnvironment } from '../sandbox/judge-environment.js';
import type { GpuReader } from './gpu-reader.js';
import type { PreflightCheck } from './preflight.js';
import { formatBytes, formatGib } from './byte-format.js';

/** The check factories `mbpp-stream preflight` and the build assemble; each takes what it probes as input. */

export function nodeVersionCheck(version = process.versions.node, minimum = '20.19.0'): PreflightCheck {
  return {
    name: 'node',
    run: () =>
      compareVersions(version, minimum) >= 0
        ? { status: 'ok', detail: version }
        : { status: 'fail', detail: `${version} is older than the ${minimum} this tool needs` },
  };
}

/** `probe` is the sandbox's interpreter resolution; it throws when Python is missing or too old. */
export function pythonCheck(probe: () => Promise<{ executable: string; version: string }>): PreflightCheck {
  return {
    name: 'python',
    run: async () => {
      try {
        const python = await probe();
        return { status: 'ok', detail: `${python.version} (${python.executable})` };
      } catch (error) {
        return { status: 'fail', detail: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}

/** `detect` is the sandbox's isolation detection for the chosen `--isolation`. */
export function sandboxCheck(detect: () => Promise<IsolationLevel>): PreflightCheck {
  return {
    name: 'sandbox',
    run: async () => {
      const level = await detect();
      if (level === 'bwrap') return { status: 'ok', detail: 'bwrap (namespaces, no network, private filesystem)' };
      if (level === 'rlimit') {
        return { status: 'warn', detail: 'rlimit only (process limits, no namespaces): install bubblewrap for isolation' };
      }
      return { status: 'warn', detail: 'none: generated code runs unisolated (explicitly requested)' };
    },
  };
}

/** How judged code is kept from the user's other processes; a fail where it is not and the user has not opted in. */
export function containmentCheck(probe: () => Promise<JudgeEnvironment>, allowUncontained: boolean): PreflightCheck {
  return {
    name: 'containment',
    run: async () => {
      const judge = await probe();
      if (judge.containment === 'sandbox-uid') return { status: 'ok', detail: 'judged code runs as a uid of its own: it cannot signal your processes' };
      if (judge.containment === 'pid-namespace') {
        return { status: 'ok', detail: 'a user and pid namespace per program: it cannot signal the builder or your processes' };
      }
      const refusal = containmentRefusal(judge, allowUncontained);
      if (refusal) return { status: 'fail', detail: refusal };
      return { status: 'warn', detail: `judged code can signal your processes: ${judge.uncontainedReason ?? 'not contained'}` };
    },
  };
}

/** The interpreter judged code runs in and which common third-party modules it can import (labels depend on it). */
export function judgeImportsCheck(probe: () => Promise<JudgeEnvironment>): PreflightCheck {
  return {
    name: 'judge imports',
    run: async () => {
      const judge = await probe();
      return { status: 'ok', detail: `Python ${judge.version}: ${describeModules(judge.modules)}` };
    },
  };
}

export interface MachineFacts {
  cores: number;
  memoryBytes: number;
}

/** Cores and RAM: below the minimums the run still works, only slowly, so it warns. */
export function machineCheck(
  facts: MachineFacts = { cores: os.availableParallelism(), memoryBytes: os.totalmem() },
  minimum: MachineFacts = { cores: 2, memoryBytes: 4 * 1024 ** 3 },
): PreflightCheck {
  return {
    name: 'cpu/ram',
    run: () => {
      const detail = `${facts.cores} cores, ${formatGib(facts.memoryBytes)} RAM`;
      const short = facts.cores < minimum.cores || facts.memoryBytes < minimum.memoryBytes;
      return short
        ? { status: 'warn', detail: `${detail} (below ${minimum.cores} cores / ${formatGib(minimum.memoryBytes)})` }
        : { status: 'ok', detail };
    },
  };
}

/**
 * Disk bytes a run needs: per record the journal line (prompt, completion, verdicts as JSON: ~2 KiB), its line in the
 * JSON twin (as much), its Parquet row and its share of the autosaves (which share their parts), rounded up
 * generously; plus room for the checkpoints, the judging log and the last atomic rewrite. (At 200,000 records the
 * journal and the JSON twin are ~350 MiB each: 64 KiB a record asked for 12 GiB.)
 */
export function estimateRunDiskBytes(records: number): number {
  const perRecordBytes = 16 * 1024;
  const headroomBytes = 64 * 1024 * 1024;
  return records * perRecordBytes + headroomBytes;
}

type StatFs = (dir: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;

/**
 * Free space where the output will go, against `requiredBytes`. The output folder may not exist yet: its
 * nearest existing ancestor is asked. Less than needed fails; less than twice that warns.
 */
export function diskSpaceCheck(outputDir: string, requiredBytes: number, readStatfs: StatFs = statfs): PreflightCheck {
  return {
    name: 'disk',
    run: async () => {
      const dir = await nearestExistingDir(path.resolve(outputDir));
      const stats = await readStatfs(dir);
      const freeBytes = Number(stats.bavail) * Number(stats.bsize);
      const detail = `${formatGib(freeBytes)} free in ${dir}, run needs about ${formatGib(requiredBytes)}`;
      if (freeBytes < requiredBytes) return { status: 'fail', detail };
      if (freeBytes < 2 * requiredBytes) return { status: 'warn', detail };
      return { status: 'ok', detail };
    },
  };
}

export async function nearestExistingDir(dir: string): Promise<string> {
  for (let current = dir; ; current = path.dirname(current)) {
    try {
      if ((await stat(current)).isDirectory()) return current;
    } catch {
      // Not there yet: ask its parent.
    }
    if (current === path.dirname(current)) return current;
  }
}

/** GPUs found vs `--devices`: asking for a device that is not there fails. No devices requested: CPU run. */
export function gpuCheck(requestedDevices: readonly number[], readGpus: GpuReader): PreflightCheck {
  return {
    name: 'gpus',
    run: async () => {
      const readout = await readGpus();
      const found = readout.gpus.map((gpu) => gpu.index);
      const foundText = readout.available
        ? `${found.length} found${found.length ? ` (${readout.gpus.map((g) => `${g.index}: ${g.name}`).join(', ')})` : ''}`
        : readout.reason;
      if (requestedDevices.length === 0) return { status: 'ok', detail: `none requested; ${foundText}` };
      const missing = requestedDevices.filter((device) => !found.includes(device));
      if (missing.length > 0) {
        return {
          status: 'fail',
          detail: `--devices ${requestedDevices.join(',')} requested, but ${missing.join(',')} not present: ${foundText}`,
        };
      }
      return { status: 'ok', detail: `--devices ${requestedDevices.join(',')}: ${foundText}` };
    },
  };
}

/** `available` asks onnxruntime for its CUDA execution provider; only a run that wants CUDA needs it. */
export function cudaProviderCheck(wanted: boolean, available: () => boolean | Promise<boolean>): PreflightCheck {
  return {
    name: 'cuda',
    run: async () => {
      if (!wanted) return { status: 'ok', detail: 'not needed (CPU or remote backend)' };
      return (await available())
        ? { status: 'ok', detail: 'CUDA execution provider available' }
        : { status: 'fail', detail: 'CUDA execution provider not available in onnxruntime-node (reinstall it with ONNXRUNTIME_NODE_INSTALL=cuda12, or use --devices cpu)' };
    },
  };
}

/** The model or dataset a run names exists (file or folder); `label` is the row name and `flag` the option. */
export function pathFoundCheck(label: string, flag: string, target: string): PreflightCheck {
  return {
    name: label,
    run: async () => {
      try {
        const info = await stat(target);
        return { status: 'ok', detail: `${target} (${info.isDirectory() ? 'folder' : formatBytes(info.size)})` };
      } catch (error) {
        return { status: 'fail', detail: `${flag} ${target}: ${(error as NodeJS.ErrnoException).code ?? 'not readable'}` };
      }
    },
  };
}

/** Numeric dotted-version comparison: "20.9.0" < "20.19.0". */
export function compareVersions(a: string, b: string): number {
  const left = a.replace(/^v/, '').split('.').map(Number);
  const right = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}
