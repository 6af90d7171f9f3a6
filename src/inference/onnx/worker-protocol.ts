import { InputError } from '../../errors.js';
import { RecordError, TransientError } from '../backend.js';
import type { ActivationSpec } from './activation-spec.js';
import type { GenerationSettings, SequenceResult } from './batch-generation.js';
import type { DevicePlacement } from './device-spec.js';
import type { ModelDir } from './model-dir.js';

/**
 * The messages between an OnnxInferenceSession (main thread) and its worker (session-worker.ts). The worker owns
 * the ORT session, the tokenizer, the decoding loop and its KV cache; the main thread sends whole batches and
 * hears back one `settled` per row as it finishes, so a graph run never blocks the main thread's event loop and
 * N sessions run their graphs at the same time.
 */

export interface WorkerStart {
  model: ModelDir;
  placement: DevicePlacement;
  settings: GenerationSettings;
  /** --capture-activations: the graph is extended to return these layers' residual stream at these positions. */
  capture?: ActivationSpec;
}

export interface WorkerSequence {
  prompt: string;
  seed: number;
  /** Already aborted when the batch was sent: the worker drops it before the first step. */
  aborted: boolean;
}

export type ToWorker =
  | { kind: 'generate'; job: number; sequences: WorkerSequence[] }
  | { kind: 'abort'; job: number; index: number }
  | { kind: 'recycle'; job: number }
  | { kind: 'close'; job: number };

export type WorkerOutcome = { ok: true; result: SequenceResult } | { ok: false; error: SerializedError };

export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'failed'; error: SerializedError }
  | { kind: 'settled'; job: number; index: number; outcome: WorkerOutcome }
  | { kind: 'done'; job: number; error?: SerializedError };

/** An error as it crosses the thread boundary: the classes callers tell apart are rebuilt as themselves. */
export interface SerializedError {
  name: string;
  message: string;
  exitCode?: number;
  retryAfterMs?: number;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof InputError) return { name: error.name, message: error.message, exitCode: error.exitCode };
  if (error instanceof TransientError) {
    return error.retryAfterMs === undefined ? { name: error.name, message: error.message } : { name: error.name, message: error.message, retryAfterMs: error.retryAfterMs };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

export function rebuildError(error: SerializedError): Error {
  if (error.name === 'InputError') return new InputError(error.message, error.exitCode);
  if (error.name === 'TransientError') return new TransientError(error.message, error.retryAfterMs);
  if (error.name === 'RecordError') return new RecordError(error.message);
  if (error.name === 'AbortError') return new DOMException(error.message, 'AbortError');
  const rebuilt = new Error(error.message);
  if (error.name !== 'Error') Object.defineProperty(rebuilt, 'name', { value: error.name, configurable: true, writable: true });
  return rebuilt;
}
