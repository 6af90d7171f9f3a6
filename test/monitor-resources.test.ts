import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readNvidiaGpus, type GpuReadout } from '../src/monitor/gpu-reader.js';
import type { MemoryReading } from '../src/monitor/memory-reader.js';
import { readSystemMemory } from '../src/monitor/memory-reader.js';
import { ResourceMonitor } from '../src/monitor/resource-monitor.js';
import { resourceLimitsFromGib, type ResourceWarning } from '../src/monitor/resource-thresholds.js';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const fakeSmiDir = fileURLToPath(new URL('../fixtures/nvidia-smi/', import.meta.url));
const noGpus: GpuReadout = { available: false, gpus: [], reason: 'nvidia-smi not found on PATH' };

/** A memory reader that returns the given RSS values (GiB) in turn. */
function rssSequence(...gib: number[]): () => Promise<MemoryReading> {
  let i = 0;
  return async () => ({ rssBytes: gib[Math.min(i++, gib.length - 1)]! * GIB, availableBytes: 8 * GIB, totalBytes: 64 * GIB });
}

describe('resource monitor thresholds (fake memory readings)', () => {
  it('warns once per crossing and re-arms when memory goes back under', async () => {
    const warnings: ResourceWarning[] = [];
    const monitor = new ResourceMonitor({
      limits: resourceLimitsFromGib(10, 30),
      readMemory: rssSequence(4, 11, 12, 13, 9, 10, 10.5, 2),
      readGpus: async () => noGpus,
      onWarning: (warning) => warnings.push(warning),
    });
    for (let i = 0; i < 8; i++) await monitor.sample();
    assert.deepEqual(
      warnings.map((w) => w.message),
      [
        'process memory 11.0 GiB is above --max-memory 10.0 GiB',
        'process memory 10.5 GiB is above --max-memory 10.0 GiB',
      ],
    );
    assert.equal(warnings[0]!.kind, 'memory');
    assert.equal(monitor.peaks.peakRssBytes, 13 * GIB);
    assert.equal(monitor.peaks.minAvailableBytes, 8 * GIB);
  });

  it('watches each GPU separately', async () => {
    let used = [10, 31, 10];
    const warnings: ResourceWarning[] = [];
    const monitor = new ResourceMonitor({
      limits: resourceLimitsFromGib(100, 30),
      readMemory: rssSequence(1),
      readGpus: async () => ({
        available: true,
        gpus: used.map((gib, index) => ({
          index, name: 'H100', memoryUsedBytes: gib * GIB, memoryTotalBytes: 80 * GIB, utilizationPercent: 10 * index,
        })),
      }),
      onWarning: (warning) => warnings.push(warning),
    });
    await monitor.sample();
    used = [32, 33, 10];
    await monitor.sample();
    used = [5, 5, 5];
    await monitor.sample();
    used = [5, 31, 5];
    await monitor.sample();
    assert.deepEqual(warnings.map((w) => w.gpuIndex), [1, 0, 1]);
    assert.deepEqual(
      monitor.peaks.gpus.map((g) => [g.index, g.peakMemoryUsedBytes / GIB, g.peakUtilizationPercent]),
      [[0, 32, 0], [1, 33, 10], [2, 10, 20]],
    );
  });

  it('samples on a timer until stopped, and keeps the latest sample for the progress line', async () => {
    const readings = rssSequence(1, 2, 3);
    let calls = 0;
    let thirdSample: () => void = () => {};
    const sampledThrice = new Promise<void>((resolve) => (thirdSample = resolve));
    const monitor = new ResourceMonitor({
      readMemory: async () => {
        if (++calls === 3) thirdSample();
        return readings();
      },
      readGpus: async () => noGpus,
    });
    const beforeStart = monitor.latest;
    assert.equal(beforeStart, undefined);
    // The monitor's timer is unref'd (it must never keep a finished run alive); this test keeps the loop up.
    const keepAlive = setInterval(() => {}, 1000);
    monitor.start(5);
    await sampledThrice;
    await monitor.stop();
    clearInterval(keepAlive);
    const callsAtStop = calls;
    assert.equal(monitor.latest?.memory.rssBytes, 3 * GIB);
    assert.equal(monitor.peaks.peakRssBytes, 3 * GIB);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(calls, callsAtStop, 'no sampling after stop()');
  });

  it('reads real process and system memory', async () => {
    const memory = await readSystemMemory();
    assert.ok(memory.rssBytes > 0 && memory.availableBytes > 0 && memory.totalBytes >= memory.availableBytes);
  });
});

describe('GPU reader with the fake nvidia-smi on PATH', () => {
  const originalPath = process.env['PATH'];
  let tmp = '';
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mbpp-monitor-'));
    process.env['PATH'] = `${fakeSmiDir}${path.delimiter}${originalPath}`;
  });
  after(async () => {
    process.env['PATH'] = originalPath;
    delete process.env['NVIDIA_SMI_FIXTURE'];
    delete process.env['NVIDIA_SMI_FAIL'];
    await rm(tmp, { recursive: true, force: true });
  });

  it('reads the four GPUs of the recorded box', async () => {
    const readout = await readNvidiaGpus();
    assert.equal(readout.available, true);
    assert.deepEqual(
      readout.gpus.map((g) => [g.index, g.name, g.memoryUsedBytes / MIB, g.memoryTotalBytes / MIB, g.utilizationPercent]),
      [
        [0, 'NVIDIA A100-SXM4-80GB', 22314, 81920, 87],
        [1, 'NVIDIA A100-SXM4-80GB', 21902, 81920, 84],
        [2, 'NVIDIA A100-SXM4-80GB', 39012, 81920, 95],
        [3, 'NVIDIA A100-SXM4-80GB', 4, 81920, 0],
      ],
    );
  });

  it('warns for the one GPU above the default 30 GiB, once', async () => {
    const warnings: ResourceWarning[] = [];
    const monitor = new ResourceMonitor({ readMemory: rssSequence(1), onWarning: (w) => warnings.push(w) });
    await monitor.sample();
    await monitor.sample();
    assert.deepEqual(warnings.map((w) => w.message), ['GPU 2 memory 38.1 GiB is above --max-gpu-memory 30.0 GiB']);
    assert.equal(monitor.latest?.gpu.gpus.length, 4);
  });

  it('reads a single-GPU box (xml2js gives an object, not an array) with N/A utilisation', async () => {
    const xml = `<?xml version="1.0" ?>
<nvidia_smi_log><attached_gpus>1</attached_gpus><gpu id="00000000:01:00.0">
<product_name>NVIDIA L4</product_name><minor_number>0</minor_number>
<fb_memory_usage><total>23034 MiB</total><used>10 MiB</used><free>23024 MiB</free></fb_memory_usage>
<utilization><gpu_util>N/A</gpu_util></utilization></gpu></nvidia_smi_log>`;
    const file = path.join(tmp, 'one-l4.xml');
    await writeFile(file, xml);
    process.env['NVIDIA_SMI_FIXTURE'] = file;
    try {
      const readout = await readNvidiaGpus();
      assert.deepEqual(readout, {
        available: true,
        gpus: [{ index: 0, name: 'NVIDIA L4', memoryUsedBytes: 10 * MIB, memoryTotalBytes: 23034 * MIB, utilizationPercent: null }],
      });
    } finally {
      delete process.env['NVIDIA_SMI_FIXTURE'];
    }
  });

  it('says unavailable, without throwing, when the driver fails', async () => {
    process.env['NVIDIA_SMI_FAIL'] = '1';
    try {
      const readout = await readNvidiaGpus();
      assert.equal(readout.available, false);
      assert.match(readout.available ? '' : readout.reason, /exit 9.*couldn't communicate with the NVIDIA driver/);
    } finally {
      delete process.env['NVIDIA_SMI_FAIL'];
    }
  });
});

describe('GPU reader without nvidia-smi', () => {
  it('says unavailable when nvidia-smi is not on PATH', async () => {
    const originalPath = process.env['PATH'];
    process.env['PATH'] = path.join(os.tmpdir(), 'no-such-dir-for-nvidia-smi');
    try {
      const readout = await readNvidiaGpus();
      assert.deepEqual(readout, { available: false, gpus: [], reason: 'nvidia-smi not found on PATH' });
    } finally {
      process.env['PATH'] = originalPath;
    }
  });
});
