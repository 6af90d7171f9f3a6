import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

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

const NOT_FOUND = 'nvidia-smi not found on PATH';

/**
 * PATHs nvidia-smi is not on. Each ask forks the builder through a shell (~10 ms of CPU), and the resource monitor
 * asks every few seconds, so a machine without it is told so once per PATH: looked up in the PATH's directories
 * first, before node-nvidia-smi is loaded or a shell started.
 */
const pathsWithoutSmi = new Set<string>();

/**
 * Asks nvidia-smi (`-q -x`, through node-nvidia-smi and the PATH) for every GPU's memory and utilisation.
 * nvidia-smi can hang on a wedged driver, and node-nvidia-smi has no timeout: after `timeoutMs` the readout
 * says unavailable (the child is left to finish on its own).
 */
export function readNvidiaGpus(timeoutMs = 10_000): Promise<GpuReadout> {
  const path = process.env.PATH ?? '';
  if (pathsWithoutSmi.has(path) || !onPath('nvidia-smi', path)) {
    pathsWithoutSmi.add(path);
    return Promise.resolve({ available: false, gpus: [], reason: NOT_FOUND });
  }
  return import('node-nvidia-smi').then(({ default: nvidiaSmi }) => askSmi(nvidiaSmi, path, timeoutMs));
}

/** Whether an executable `name` is in one of `path`'s directories (a shell would find it there). */
function onPath(name: string, path: string): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** node-nvidia-smi (and its XML parser, ~20 ms to load) is loaded on the first ask, not with the CLI. */
function askSmi(nvidiaSmi: typeof import('node-nvidia-smi').default, path: string, timeoutMs: number): Promise<GpuReadout> {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve({ available: false, gpus: [], reason: `nvidia-smi did not answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    timer.unref();
    nvidiaSmi((error, data) => {
      clearTimeout(timer);
      if (error) {
        const reason = describeSmiError(error);
        if (reason === NOT_FOUND) pathsWithoutSmi.add(path);
        resolve({ available: false, gpus: [], reason });
        return;
      }
      try {
        resolve({ available: true, gpus: parseNvidiaSmiLog(data) });
      } catch (parseError) {
        resolve({ available: false, gpus: [], reason: `nvidia-smi -q -x: ${(parseError as Error).message}` });
      }
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

function describeSmiError(error: unknown): string {
  if (typeof error === 'string') return `nvidia-smi: ${error.trim()}`;
  const exec = error as { code?: unknown; message?: string };
  if (exec.code === 127 || exec.code === 'ENOENT') return NOT_FOUND;
  const firstUsefulLine = (exec.message ?? String(error)).split('\n').find((line, i) => i > 0 && line.trim());
  return `nvidia-smi failed (exit ${String(exec.code)}): ${firstUsefulLine?.trim() ?? exec.message ?? ''}`;
}
