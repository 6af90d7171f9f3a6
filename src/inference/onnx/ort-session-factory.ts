import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { InputError } from '../../errors.js';
import { withActivationTaps, type LayerTaps } from './activation-graph.js';
import type { ActivationSpec } from './activation-spec.js';
import type { DevicePlacement } from './device-spec.js';
import { readGraphSignature, type GraphSignature } from './graph-signature.js';
import type { ModelDir } from './model-dir.js';

const CUDA_HINT =
  'onnxruntime-node has no CUDA execution provider installed; reinstall it with ' +
  '`ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node` (CUDA 12 + cuDNN 9), or use --devices cpu';

/** Whether the CUDA provider library ships beside the onnxruntime-node binding (it is an optional download). */
export function cudaProviderInstalled(): boolean {
  const require = createRequire(import.meta.url);
  const binDir = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(binDir, 'libonnxruntime_providers_cuda.so')) || existsSync(join(binDir, 'onnxruntime_providers_cuda.dll'));
}

/**
 * The ORT options of one session. CPU: `placement.threads` intra-op threads (parseDevices splits the cores between
 * the sessions), no inter-op pool (the graph runs its nodes in order), and pool threads that sleep rather than
 * spin when they run out of work. ORT's default lets idle pool threads spin, which keeps a core busy between
 * graph runs (while the session's JS thread samples the next token, and between records); here that core is
 * wanted by other sessions, the main thread and the sandbox that judges programs while the model generates.
 * Measured on 2 cores with the tiny model: a 2-thread session that spins burns ~2 cores for no more tokens/s than
 * 1 thread, and with the other core busy it runs ~2x slower per step; without spinning it uses ~1.1 cores and
 * keeps close to the 1-thread speed. CUDA: the graph runs on the GPU and the CPU pool only gets the few shape
 * ops ORT places on the CPU, so its threads have even less reason to spin, and N GPU sessions would otherwise
 * each keep a pool of busy-waiting threads beside the JS threads that drive them.
 */
export function sessionOptions(placement: DevicePlacement): ort.InferenceSession.SessionOptions {
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  if (placement.kind === 'cpu') return { ...base, executionProviders: ['cpu'], intraOpNumThreads: placement.threads, interOpNumThreads: 1 };
  return { ...base, executionProviders: [{ name: 'cuda', deviceId: placement.deviceId }] };
}

/** A graph to open: its file, or its bytes (a graph extended in memory) and the file they came from. */
export type GraphSource = string | { bytes: Uint8Array; file: string };

/**
 * Opens the graph on one device. A file ORT cannot parse, or a provider that is missing, becomes an InputError
 * naming the file or the fix, not a stack trace. A graph given as bytes finds its external data (optimum's
 * `model.onnx_data`) beside the file it came from, as it would have loaded from the file.
 */
export async function createOrtSession(source: GraphSource, placement: DevicePlacement): Promise<ort.InferenceSession> {
  if (placement.kind === 'cuda' && !cudaProviderInstalled()) throw new InputError(`--devices cuda:${placement.deviceId}: ${CUDA_HINT}`);
  const file = typeof source === 'string' ? source : source.file;
  try {
    if (typeof source === 'string') return await ort.InferenceSession.create(source, sessionOptions(placement));
    const options = sessionOptions(placement);
    const extra = options.extra as { session: Record<string, unknown> };
    const session = { ...extra.session, model_external_initializers_file_folder_path: dirname(source.file) };
    return await ort.InferenceSession.create(source.bytes, { ...options, extra: { ...extra, session } });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? String(error);
    if (placement.kind === 'cuda' && /cuda|provider/i.test(message)) {
      throw new InputError(`--devices cuda:${placement.deviceId}: cannot start the CUDA provider (${message}); ${CUDA_HINT}`);
    }
    throw new InputError(`${file}: not a loadable ONNX model (${message})`);
  }
}

/** A short name for logs and the `sessionId` column. */
export function placementName(placement: DevicePlacement, index: number): string {
  return placement.kind === 'cpu' ? `onnx-cpu-${index}` : `onnx-cuda:${placement.deviceId}`;
}

/** A decoder graph open on one device, with its KV interface read and checked. */
export interface DecoderGraph {
  session: ort.InferenceSession;
  signature: GraphSignature;
}

/**
 * Opens the model's decoder graph. With `capture`, the graph is first extended in memory to also return the
 * residual stream of the chosen layers (activation-graph.ts); without it, the file is opened as it is.
 */
export async function openDecoderGraph(model: ModelDir, placement: DevicePlacement, capture?: ActivationSpec): Promise<DecoderGraph> {
  const extended = capture === undefined ? undefined : withActivationTaps(await readFile(model.onnxFile), capture, model.config.numLayers, model.onnxFile);
  const session = await createOrtSession(extended === undefined ? model.onnxFile : { bytes: extended.model, file: model.onnxFile }, placement);
  try {
    const signature = readGraphSignature(session, model.config, model.onnxFile);
    if (capture === undefined || extended === undefined) return { session, signature };
    const hidden = capturedWidth(session, extended.taps, model);
    return { session, signature: { ...signature, activations: { ...capture, hidden, taps: extended.taps } } };
  } catch (error) {
    await session.release();
    throw error;
  }
}

/** The residual stream's width, config.json's `hidden_size`: what activation files are sized by. */
export function residualWidth(model: ModelDir): number {
  const width = model.config.hiddenSize;
  if (width === null) throw new InputError(`${join(model.root, 'config.json')}: --capture-activations needs hidden_size, the residual stream's width`);
  return width;
}

/** `residualWidth`, checked against the added outputs' shape where ORT's shape inference fixed it. */
function capturedWidth(session: ort.InferenceSession, taps: readonly LayerTaps[], model: ModelDir): number {
  const width = residualWidth(model);
  const name = taps[0]?.sum ?? taps[0]?.last;
  const meta = session.outputMetadata.find((m) => m.name === name);
  const inferred = meta?.isTensor ? meta.shape[meta.shape.length - 1] : undefined;
  if (typeof inferred === 'number' && inferred > 0 && inferred !== width) {
    throw new InputError(`${model.onnxFile}: the residual stream is ${inferred} wide but config.json says hidden_size=${width}`);
  }
  return width;
}
