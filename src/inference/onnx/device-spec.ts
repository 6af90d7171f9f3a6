import { availableParallelism } from 'node:os';
import { InputError } from '../../errors.js';

/** Where one session runs: the CPU with some intra-op threads, or one GPU through the CUDA provider. */
export type DevicePlacement = { kind: 'cpu'; threads: number } | { kind: 'cuda'; deviceId: number };

/**
 * Turns `--devices` and `--sessions` into one placement per session: `cuda:0,cuda:1` -> one session per GPU;
 * `cpu` with N sessions -> N CPU sessions that split the cores between them (so they do not oversubscribe).
 */
export function parseDevices(devices: string, sessions: number, cpuCount = availableParallelism()): DevicePlacement[] {
  if (!Number.isInteger(sessions) || sessions < 1) throw new InputError(`--sessions must be a positive integer, got ${sessions}`);
  const parts = devices.split(',').map((part) => part.trim()).filter((part) => part.length > 0);
  if (parts.length === 1 && parts[0] === 'cpu') {
    const threads = Math.max(1, Math.floor(cpuCount / sessions));
    return Array.from({ length: sessions }, () => ({ kind: 'cpu', threads }));
  }
  if (parts.length === 0) throw new InputError('--devices is empty; use cpu or cuda:0,cuda:1,...');
  const seen = new Set<number>();
  return parts.map((part) => {
    const match = /^cuda:(\d+)$/.exec(part);
    if (match === null) throw new InputError(`--devices: "${part}" is not cpu or cuda:<id> (e.g. cuda:0,cuda:1)`);
    const deviceId = Number(match[1]);
    if (seen.has(deviceId)) throw new InputError(`--devices: cuda:${deviceId} is listed twice`);
    seen.add(deviceId);
    return { kind: 'cuda', deviceId };
  });
}
