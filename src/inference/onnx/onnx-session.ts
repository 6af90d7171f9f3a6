import type { Completion } from '../../records.js';
import type { GenerateRequest, InferenceSession } from '../backend.js';
import { generateBatch, type GenerationSettings, type SequenceRequest, type SequenceResult } from './batch-generation.js';
import type { DevicePlacement } from './device-spec.js';
import { recordSeed, type GenerationOptions } from './generation-options.js';
import { MicroBatcher } from './micro-batcher.js';
import type { ModelDir } from './model-dir.js';
import { openDecoderGraph, type DecoderGraph } from './ort-session-factory.js';
import type { PromptTokenizer } from './prompt-tokenizer.js';

/** Thrown at requests that were still queued when the session closed. */
export class SessionClosedError extends Error {
  override readonly name = 'SessionClosedError';
}

/**
 * One decoder graph on one device. Requests that arrive together are run as one batch of up to `concurrency`
 * (the batch size), so `loadBalance` sending `concurrency` records at a time fills the batch.
 */
export class OnnxInferenceSession implements InferenceSession {
  private readonly batcher: MicroBatcher<SequenceRequest, SequenceResult>;
  private closed = false;

  private constructor(
    readonly id: string,
    readonly concurrency: number,
    private readonly model: ModelDir,
    private readonly tokenizer: PromptTokenizer,
    private readonly placement: DevicePlacement,
    private readonly options: GenerationOptions,
    private graph: DecoderGraph,
  ) {
    const settings: GenerationSettings = {
      ...options,
      eosTokenIds: model.config.eosTokenIds,
      padTokenId: model.config.padTokenId ?? model.config.eosTokenIds[0] ?? 0,
      useCache: true,
    };
    this.batcher = new MicroBatcher(concurrency, async (requests, settle) => {
      await generateBatch(this.graph.session, this.graph.signature, (ids) => tokenizer.decode(ids), requests, settings, settle);
    });
  }

  static async open(
    id: string,
    batchSize: number,
    model: ModelDir,
    tokenizer: PromptTokenizer,
    placement: DevicePlacement,
    options: GenerationOptions,
  ): Promise<OnnxInferenceSession> {
    const graph = await openDecoderGraph(model, placement);
    return new OnnxInferenceSession(id, batchSize, model, tokenizer, placement, options, graph);
  }

  async generate({ item, signal }: GenerateRequest): Promise<Completion> {
    signal.throwIfAborted();
    if (this.closed) throw new SessionClosedError(`session ${this.id} is closed`);
    const promptIds = this.tokenizer.encode(item.prompt);
    const seed = recordSeed(this.options.seed, item.record.task_id, item.sampleIndex);
    const result = await this.batcher.submit({ promptIds, seed, signal });
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
      await this.graph.session.release();
      this.graph = await openDecoderGraph(this.model, this.placement);
    });
  }

  /** Rejects queued requests, lets the running batch finish, then releases the graph. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.batcher.rejectQueued(new SessionClosedError(`session ${this.id} closed`));
    return this.batcher.between(() => this.graph.session.release());
  }
}
