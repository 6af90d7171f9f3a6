import type { Completion } from '../../records.js';
import { SessionUnavailableError, type GenerateRequest, type InferenceSession } from '../backend.js';
import type { ActivationSpec } from './activation-spec.js';
import type { GenerationSettings, SequenceResult } from './batch-generation.js';
import type { CapturedActivations } from './captured-activations.js';
import type { DevicePlacement } from './device-spec.js';
import { recordSeed, type GenerationOptions } from './generation-options.js';
import { MicroBatcher } from './micro-batcher.js';
import type { ModelDir } from './model-dir.js';
import { SessionThread } from './session-thread.js';
import type { WorkerStart } from './worker-protocol.js';

/** --capture-activations: what the session's graph captures, and where each record's activations are left. */
export interface SessionCapture {
  spec: ActivationSpec;
  captured: CapturedActivations;
}

/** Thrown at requests that were still queued when the session closed. */
export class SessionClosedError extends Error {
  override readonly name = 'SessionClosedError';
}

interface QueuedPrompt {
  prompt: string;
  seed: number;
  signal: AbortSignal;
}

/**
 * One decoder graph on one device, run in its own worker thread (session-worker.ts): onnxruntime-node runs a
 * graph synchronously on the calling thread, so this is what lets N sessions (one per GPU, or N on the CPU) run
 * at the same time and keeps the main event loop free. Requests that arrive together are run as one batch of up
 * to `concurrency` (the batch size), so `loadBalance` sending `concurrency` records at a time fills the batch.
 * The worker tokenizes too: it needs the tokenizer to decode each step (stop sequences) anyway, and encoding a
 * prompt (~1 ms for an MBPP prompt) would otherwise run on the main thread for every session.
 */
export class OnnxInferenceSession implements InferenceSession {
  private readonly batcher: MicroBatcher<QueuedPrompt, SequenceResult>;
  private closed = false;

  private constructor(
    readonly id: string,
    readonly concurrency: number,
    private readonly options: GenerationOptions,
    /** What the worker is started with, to start it again after it dies. */
    private readonly start: WorkerStart,
    private thread: SessionThread,
    private readonly captured: CapturedActivations | undefined,
  ) {
    this.batcher = new MicroBatcher(concurrency, async (requests, settle) => (await this.liveThread()).generate(requests, settle));
  }

  static async open(
    id: string,
    batchSize: number,
    model: ModelDir,
    placement: DevicePlacement,
    options: GenerationOptions,
    capture?: SessionCapture,
  ): Promise<OnnxInferenceSession> {
    const settings: GenerationSettings = {
      temperature: options.temperature,
      topK: options.topK,
      topP: options.topP,
      maxNewTokens: options.maxNewTokens,
      stopSequences: options.stopSequences,
      eosTokenIds: model.config.eosTokenIds,
      padTokenId: model.config.padTokenId ?? model.config.eosTokenIds[0] ?? 0,
      useCache: true,
    };
    const start: WorkerStart = { model, placement, settings, ...(capture && { capture: capture.spec }) };
    return new OnnxInferenceSession(id, batchSize, options, start, await SessionThread.open(start), capture?.captured);
  }

  /** The id of the worker thread that runs this session's graph. */
  get threadId(): number {
    return this.thread.threadId;
  }

  async generate({ item, signal }: GenerateRequest): Promise<Completion> {
    signal.throwIfAborted();
    if (this.closed) throw new SessionClosedError(`session ${this.id} is closed`);
    const seed = recordSeed(this.options.seed, item.record.task_id, item.sampleIndex);
    const result = await this.batcher.submit({ prompt: item.prompt, seed, signal });
    if (result.activations) this.captured?.hold(item.record.task_id, item.sampleIndex, result.activations);
    return {
      text: result.text,
      promptTokens: result.promptTokens,
      completionTokens: result.tokenIds.length,
      finishReason: result.finishReason,
      sessionId: this.id,
    };
  }

  /**
   * Releases the graph and opens it again, between batches: drops the ORT arena, which only grows with the
   * longest batch seen (the counterpart of the original's `torch.cuda.empty_cache()`).
   */
  recycle(): Promise<void> {
    return this.batcher.between(async () => {
      if (this.closed) return;
      // A worker started afresh has a fresh arena too.
      if (this.thread.alive) await this.thread.recycle();
      else await this.liveThread();
    });
  }

  /**
   * The session's worker, started again if it died (its batch failed with a TransientError): a crashed worker
   * costs its batch a retry, not the session. Runs between batches, like every use of the thread. A worker that
   * cannot be started again is SessionUnavailableError: the session is down until a later try starts one.
   */
  private async liveThread(): Promise<SessionThread> {
    if (this.thread.alive) return this.thread;
    await this.thread.close();
    try {
      this.thread = await SessionThread.open(this.start);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new SessionUnavailableError(`session ${this.id}: its worker died and cannot be started again: ${why}`, undefined, { cause: error });
    }
    return this.thread;
  }

  /** Rejects queued requests, lets the running batch finish, then releases the graph and ends the worker. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.batcher.rejectQueued(new SessionClosedError(`session ${this.id} closed`));
    return this.batcher.between(() => this.thread.close());
  }
}
