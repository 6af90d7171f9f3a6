import type { Completion, Prompted } from '../records.js';

/** One request to a session: a prompt, and a signal that cancels it for real. */
export interface GenerateRequest {
  item: Prompted;
  signal: AbortSignal;
}

/**
 * One unit of inference capacity: a model on a device, an HTTP endpoint, or an in-process reference.
 * `loadBalance` spreads records over sessions, at most `concurrency` at a time on each.
 */
export interface InferenceSession {
  readonly id: string;
  /** How many requests this session runs at once. */
  readonly concurrency: number;
  generate(request: GenerateRequest): Promise<Completion>;
}

/** A backend: a named pool of sessions for one model. */
export interface InferenceBackend {
  /** 'reference' | 'replay' | 'onnx' | 'openai' */
  readonly name: string;
  /** Model name as written into the dataset's `model` column. */
  readonly model: string;
  readonly sessions: readonly InferenceSession[];
  /** Settings that define this backend's output, for run identity and metadata (never secrets). */
  describe(): Record<string, unknown>;
  /** Releases sessions, files and connections. */
  close(): Promise<void>;
}

/**
 * An error a retry may fix (a transient inference, network or I/O failure). Anything else thrown by a
 * backend fails the record at once. A wrong answer is never an error: it is a label.
 */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
  constructor(
    message: string,
    /** Server-suggested wait before the next try, in ms (e.g. from Retry-After). */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The session could not take the request at all: nothing reached it (connection refused, no route to the host,
 * the name does not resolve, its worker could not be started). A retry is transparent: it never spends the
 * record's retry budget, since the record was never tried; it still counts against the session.
 */
export class SessionUnavailableError extends TransientError {
  override readonly name: string = 'SessionUnavailableError';
}

/**
 * A problem with one record itself, not with the session that met it: no generation for it in the replay file,
 * a prompt the model rejects (over its context, a 4xx for the request), a problem with no reference solution.
 * It fails that record at once and only that record: no retry, no strike against the session, never the run.
 */
export class RecordError extends Error {
  override readonly name = 'RecordError';
}
