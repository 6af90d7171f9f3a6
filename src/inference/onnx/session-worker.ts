/**
 * The worker thread of one OnnxInferenceSession (see worker-protocol.ts). onnxruntime-node runs a graph
 * synchronously on the calling thread, so each session's graph, decoding loop, KV cache and tokenizer live here:
 * sessions run side by side, and the main thread's event loop stays free during every step.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RecordError } from '../backend.js';
import { generateBatch, type SequenceRequest } from './batch-generation.js';
import { openDecoderGraph, type DecoderGraph } from './ort-session-factory.js';
import { PromptTokenizer } from './prompt-tokenizer.js';
import { serializeError, type FromWorker, type ToWorker, type WorkerStart } from './worker-protocol.js';

if (parentPort === null) throw new Error('session-worker.ts runs as a worker thread only');
const port = parentPort;
const start = workerData as WorkerStart;
const send = (message: FromWorker): void => port.postMessage(message);

/** Per running job, the abort controller of each of its rows. */
const aborts = new Map<number, AbortController[]>();
let graph: DecoderGraph | null = null;
let tokenizer: PromptTokenizer;

async function generate(job: number, sequences: Extract<ToWorker, { kind: 'generate' }>['sequences']): Promise<void> {
  const current = graph;
  if (current === null) throw new Error('the session is closed');
  const controllers = sequences.map((s) => {
    const controller = new AbortController();
    if (s.aborted) controller.abort();
    return controller;
  });
  aborts.set(job, controllers);
  const requests: SequenceRequest[] = [];
  const indexOf: number[] = [];
  sequences.forEach((s, index) => {
    try {
      const promptIds = tokenizer.encode(s.prompt);
      checkContext(promptIds.length);
      requests.push({ promptIds, seed: s.seed, signal: controllers[index]?.signal });
      indexOf.push(index);
    } catch (error) {
      send({ kind: 'settled', job, index, outcome: { ok: false, error: serializeError(error) } });
    }
  });
  try {
    await generateBatch(current.session, current.signature, (ids) => tokenizer.decode(ids), requests, start.settings, (i, outcome) => {
      const index = indexOf[i] as number;
      send({ kind: 'settled', job, index, outcome: outcome.ok ? outcome : { ok: false, error: serializeError(outcome.error) } });
    });
  } finally {
    aborts.delete(job);
  }
}

/** A prompt that, with the tokens to generate, would run past the context window fails its own row, before the batch runs. */
function checkContext(promptTokens: number): void {
  const context = start.model.config.maxPositions;
  const needed = promptTokens + start.settings.maxNewTokens;
  if (context !== null && needed > context) {
    throw new RecordError(
      `the prompt is ${promptTokens} tokens: with ${start.settings.maxNewTokens} new tokens that is ${needed}, over the model's context of ${context} (max_position_embeddings)`,
    );
  }
}

async function handle(message: ToWorker): Promise<void> {
  if (message.kind === 'abort') {
    aborts.get(message.job)?.[message.index]?.abort();
    return;
  }
  try {
    if (message.kind === 'generate') await generate(message.job, message.sequences);
    else if (message.kind === 'recycle') {
      if (graph !== null) {
        await graph.session.release();
        graph = null;
        graph = await openDecoderGraph(start.model, start.placement, start.capture);
      }
    } else {
      const closing = graph;
      graph = null;
      await closing?.session.release();
      port.close();
    }
    send({ kind: 'done', job: message.job });
  } catch (error) {
    send({ kind: 'done', job: message.job, error: serializeError(error) });
  }
}

try {
  tokenizer = new PromptTokenizer(start.model);
  graph = await openDecoderGraph(start.model, start.placement, start.capture);
  port.on('message', (message: ToWorker) => void handle(message));
  send({ kind: 'ready' });
} catch (error) {
  send({ kind: 'failed', error: serializeError(error) });
  port.close();
}
