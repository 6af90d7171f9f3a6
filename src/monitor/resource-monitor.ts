import { readNvidiaGpus, type GpuReader } from './gpu-reader.js';
import { readSystemMemory, type MemoryReader } from './memory-reader.js';
import {
  checkThresholds,
  resourceLimitsFromGib,
  type ResourceLimits,
  type ResourceSample,
  type ResourceWarning,
} from './resource-thresholds.js';

/** The highest readings of a run, for the extended metadata. Bytes; utilisation in percent. */
export interface ResourcePeaks {
  peakRssBytes: number;
  /** The least memory the system had available (its "peak" pressure). */
  minAvailableBytes: number | null;
  gpus: { index: number; name: string; peakMemoryUsedBytes: number; memoryTotalBytes: number; peakUtilizationPercent: number | null }[];
}

export interface ResourceMonitorOptions {
  limits?: ResourceLimits;
  readMemory?: MemoryReader;
  readGpus?: GpuReader;
  /** Called once per threshold crossing (the logger and the progress display listen). */
  onWarning?: (warning: ResourceWarning) => void;
}

/**
 * Samples memory and GPUs, keeps the latest reading for the progress line, the peaks for the run statistics,
 * and warns on threshold crossings. Sampling never overlaps itself and its timer never keeps the process alive.
 */
export class ResourceMonitor {
  private readonly limits: ResourceLimits;
  private readonly readMemory: MemoryReader;
  private readonly readGpus: GpuReader;
  private readonly onWarning: (warning: ResourceWarning) => void;
  private crossed: ReadonlySet<string> = new Set();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<ResourceSample> | undefined;
  private latestSample: ResourceSample | undefined;
  private readonly peakReadings: ResourcePeaks = { peakRssBytes: 0, minAvailableBytes: null, gpus: [] };

  constructor(options: ResourceMonitorOptions = {}) {
    this.limits = options.limits ?? resourceLimitsFromGib();
    this.readMemory = options.readMemory ?? readSystemMemory;
    this.readGpus = options.readGpus ?? (() => readNvidiaGpus());
    this.onWarning = options.onWarning ?? (() => {});
  }

  /** The most recent sample, if any was taken. */
  get latest(): ResourceSample | undefined {
    return this.latestSample;
  }

  get peaks(): ResourcePeaks {
    return structuredClone(this.peakReadings);
  }

  /** Takes one sample now (or joins the one in flight), updating peaks and firing warnings. */
  sample(): Promise<ResourceSample> {
    this.inFlight ??= this.takeSample().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Samples every `intervalMs` until `stop()`. */
  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sample().catch(() => {});
    }, intervalMs);
    this.timer.unref();
    this.sample().catch(() => {});
  }

  /** Stops sampling and waits for a sample in flight, so peaks are final. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight?.catch(() => {});
  }

  private async takeSample(): Promise<ResourceSample> {
    const [memory, gpu] = await Promise.all([this.readMemory(), this.readGpus()]);
    const sample: ResourceSample = { memory, gpu };
    this.latestSample = sample;
    this.recordPeaks(sample);
    const result = checkThresholds(this.crossed, sample, this.limits);
    this.crossed = result.crossed;
    for (const warning of result.warnings) this.onWarning(warning);
    return sample;
  }

  private recordPeaks({ memory, gpu }: ResourceSample): void {
    const peaks = this.peakReadings;
    peaks.peakRssBytes = Math.max(peaks.peakRssBytes, memory.rssBytes);
    peaks.minAvailableBytes = Math.min(peaks.minAvailableBytes ?? Infinity, memory.availableBytes);
    for (const reading of gpu.gpus) {
      let peak = peaks.gpus.find((g) => g.index === reading.index);
      if (!peak) {
        peak = { index: reading.index, name: reading.name, peakMemoryUsedBytes: 0, memoryTotalBytes: 0, peakUtilizationPercent: null };
        peaks.gpus.push(peak);
      }
      peak.peakMemoryUsedBytes = Math.max(peak.peakMemoryUsedBytes, reading.memoryUsedBytes);
      peak.memoryTotalBytes = reading.memoryTotalBytes;
      if (reading.utilizationPercent !== null) {
        peak.peakUtilizationPercent = Math.max(peak.peakUtilizationPercent ?? 0, reading.utilizationPercent);
      }
    }
  }
}
