import { spawn } from 'node:child_process';
import { parseString } from 'xml2js';

/** One GPU as nvidia-smi reports it. Memory in bytes. */
export interface GpuReading {
  /** nvidia-smi's minor number: the index CUDA_VISIBLE_DEVICES and `--devices` use. */
  index: number;
  name: string;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  /** GPU utilisation in percent; null when the driver reports N/A. */
  utilizationPercent: number | null;
}

/**
 * What a GPU query found. `available: false` means nvidia-smi could not be asked (not installed, driver gone,
 * hung); a machine without GPUs is a normal case for the CPU backends, so it is a reading, never an error.
 */
export type GpuReadout = { available: true; gpus: GpuReading[] } | { available: false; gpus: []; reason: string };

/** Reads GPUs now. Injected into the monitor and preflight so tests can feed fake readings. */
export type GpuReader = () => Promise<GpuReadout>;

const MIB = 1024 * 1024;

/**
 * Asks nvidia-smi (`-q -x`, on the PATH) for every GPU's memory and utilisation. It runs in a process group of
 * its own, like every child of a run: a terminal's Ctrl+C is for the builder and must not cut a sample short.
 * nvidia-smi can hang on a wedged driver: after `timeoutMs` it is killed and the readout says unavailable.
 */
export function readNvidiaGpus(timeoutMs = 10_000): Promise<GpuReadout> {
  return new Promise((resolve) => {
    const unavailable = (reason: string): void => resolve({ available: false, gpus: [], reason });
    // spawn, not execFile: execFile does not pass `detached` on.
    const child = spawn('nvidia-smi', ['-q', '-x'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group it leads, so nothing it started outlives it.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      unavailable(error.code === 'ENOENT' ? 'nvidia-smi not found on PATH' : `nvidia-smi: ${error.message}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return unavailable(`nvidia-smi did not answer within ${timeoutMs} ms`);
      if (code !== 0) return unavailable(`nvidia-smi failed (exit ${code ?? signal}): ${stderr.trim().split('\n')[0] ?? ''}`);
      parseString(stdout, { explicitArray: false, trim: true }, (parseError, data) => {
        try {
          if (parseError) throw parseError;
          resolve({ available: true, gpus: parseNvidiaSmiLog(data) });
        } catch (invalid) {
          unavailable(`nvidia-smi -q -x: ${(invalid as Error).message}`);
        }
      });
    });
  });
}

/** The GPUs of a parsed `nvidia-smi -q -x` document (xml2js, `explicitArray: false`). */
export function parseNvidiaSmiLog(data: unknown): GpuReading[] {
  const log = field(data, 'nvidia_smi_log');
  if (log === undefined) throw new Error('no <nvidia_smi_log> element');
  const gpuNodes = field(log, 'gpu');
  const list = gpuNodes === undefined ? [] : Array.isArray(gpuNodes) ? gpuNodes : [gpuNodes];
  return list.map((gpu, position) => {
    const memory = field(gpu, 'fb_memory_usage');
    const minor = Number(text(field(gpu, 'minor_number')));
    return {
      index: Number.isInteger(minor) ? minor : position,
      name: text(field(gpu, 'product_name')) ?? `GPU ${position}`,
      memoryUsedBytes: mebibytes(field(memory, 'used'), `gpu ${position} fb_memory_usage.used`) * MIB,
      memoryTotalBytes: mebibytes(field(memory, 'total'), `gpu ${position} fb_memory_usage.total`) * MIB,
      utilizationPercent: percentOrNull(field(field(gpu, 'utilization'), 'gpu_util')),
    };
  });
}

function field(node: unknown, name: string): unknown {
  return node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[name] : undefined;
}

function text(node: unknown): string | undefined {
  return typeof node === 'string' ? node : undefined;
}

/** "39012 MiB" -> 39012. */
function mebibytes(node: unknown, where: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*MiB$/.exec(text(node) ?? '');
  if (!match) throw new Error(`${where}: expected "<n> MiB", got ${JSON.stringify(node)}`);
  return Number(match[1]);
}

/** "95 %" -> 95; "N/A" -> null. */
function percentOrNull(node: unknown): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*%$/.exec(text(node) ?? '');
  return match ? Number(match[1]) : null;
}
