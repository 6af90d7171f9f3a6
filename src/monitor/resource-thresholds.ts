import { formatGib } from './byte-format.js';
import type { GpuReadout } from './gpu-reader.js';
import type { MemoryReading } from './memory-reader.js';

/** Limits above which the run warns (it never stops on them: the operator decides). Bytes. */
export interface ResourceLimits {
  /** Against this process's RSS. */
  maxMemoryBytes: number;
  /** Against each GPU's used memory, separately. */
  maxGpuMemoryBytes: number;
}

const GIB = 1024 ** 3;

/** `--max-memory` and `--max-gpu-memory` in GiB; the defaults are the original pipeline's 100 and 30. */
export function resourceLimitsFromGib(maxMemoryGib = 100, maxGpuMemoryGib = 30): ResourceLimits {
  return { maxMemoryBytes: maxMemoryGib * GIB, maxGpuMemoryBytes: maxGpuMemoryGib * GIB };
}

/** Memory and GPUs read at one moment. */
export interface ResourceSample {
  memory: MemoryReading;
  gpu: GpuReadout;
}

export interface ResourceWarning {
  kind: 'memory' | 'gpu-memory';
  /** Set for `gpu-memory`. */
  gpuIndex?: number;
  usedBytes: number;
  limitBytes: number;
  /** One line for the console and the log. */
  message: string;
}

/** Which limits are crossed right now, by key ('memory', 'gpu:<index>'); a warning fires only on entry. */
export type CrossedLimits = ReadonlySet<string>;

/**
 * Compares a sample with the limits. A limit warns once when crossed, stays quiet while it stays over, and
 * re-arms when the reading goes back under: an 8-hour run near its limit must not print a warning per sample.
 */
export function checkThresholds(
  crossed: CrossedLimits,
  sample: ResourceSample,
  limits: ResourceLimits,
): { crossed: Set<string>; warnings: ResourceWarning[] } {
  const nowCrossed = new Set<string>();
  const warnings: ResourceWarning[] = [];
  const { rssBytes } = sample.memory;
  if (rssBytes > limits.maxMemoryBytes) {
    nowCrossed.add('memory');
    if (!crossed.has('memory')) {
      warnings.push({
        kind: 'memory',
        usedBytes: rssBytes,
        limitBytes: limits.maxMemoryBytes,
        message: `process memory ${formatGib(rssBytes)} is above --max-memory ${formatGib(limits.maxMemoryBytes)}`,
      });
    }
  }
  for (const gpu of sample.gpu.gpus) {
    const key = `gpu:${gpu.index}`;
    if (gpu.memoryUsedBytes <= limits.maxGpuMemoryBytes) continue;
    nowCrossed.add(key);
    if (crossed.has(key)) continue;
    warnings.push({
      kind: 'gpu-memory',
      gpuIndex: gpu.index,
      usedBytes: gpu.memoryUsedBytes,
      limitBytes: limits.maxGpuMemoryBytes,
      message:
        `GPU ${gpu.index} memory ${formatGib(gpu.memoryUsedBytes)} is above ` +
        `--max-gpu-memory ${formatGib(limits.maxGpuMemoryBytes)}`,
    });
  }
  return { crossed: nowCrossed, warnings };
}
