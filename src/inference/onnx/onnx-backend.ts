import { InputError } from '../../errors.js';
import type { InferenceBackend } from '../backend.js';
import type { DownloadProgress } from '../hub/download-progress.js';
import type { HubEnvironment } from '../hub/hub-environment.js';
import { resolveLayers, type ActivationPosition, type LayerSelection } from './activation-spec.js';
import { CapturedActivations } from './captured-activations.js';
import { parseDevices } from './device-spec.js';
import { resolveGenerationOptions, type GenerationOptions } from './generation-options.js';
import { loadModelDir, type ModelDir } from './model-dir.js';
import { resolveModel } from './model-resolution.js';
import { OnnxInferenceSession } from './onnx-session.js';
import { placementName, residualWidth } from './ort-session-factory.js';

export interface OnnxBackendOptions {
  /** [--model] a model directory, or `org/name[@revision]`: the models dir, the Hugging Face cache, the Hub. */
  model: string;
  /** [--models-dir] where model ids are looked up first; default `defaultModelsCacheDir()`. */
  modelsDir?: string;
  /** [--dtype] which ONNX export of the model (fp32, fp16, q8, …) where it has several. */
  dtype?: string;
  /** The Hub and its cache; default from the environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HOME…). */
  hub?: HubEnvironment;
  /** Shows a model download; none: silent. */
  downloadProgress?: DownloadProgress;
  /** Overrides the dataset's `model` column (e.g. the tiny demo model's name). */
  modelName?: string;
  /** [--devices] `cpu` (default) or `cuda:0,cuda:1,...`. */
  devices?: string;
  /** [--sessions] CPU sessions (ignored for CUDA: one per GPU). Default 1. */
  sessions?: number;
  /** [--batch-size] records per batched graph run, per session. Default 8. */
  batchSize?: number;
  generation?: Partial<GenerationOptions>;
  /** [--capture-activations] capture these layers' residual stream at these positions for every record. */
  capture?: { layers: LayerSelection; positions: ActivationPosition[] };
}

/** What the backend captures for every record (resolved layers, the stream's width) and where it leaves it. */
export interface BackendCapture {
  layers: number[];
  positions: ActivationPosition[];
  hidden: number;
  captured: CapturedActivations;
}

export const DEFAULT_BATCH_SIZE = 8;

/** The onnx backend: one model, one session per device (or N on the CPU), each batching its records. */
export class OnnxBackend implements InferenceBackend {
  readonly name = 'onnx';

  private constructor(
    readonly model: string,
    readonly sessions: readonly OnnxInferenceSession[],
    private readonly settings: Record<string, unknown>,
    /** Set with --capture-activations. */
    readonly capture: BackendCapture | null,
  ) {}

  /** Opens every session; if one fails, those already open are released and the error is thrown. */
  static async open(options: OnnxBackendOptions): Promise<OnnxBackend> {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`--batch-size must be a positive integer, got ${batchSize}`);
    const devices = options.devices ?? 'cpu';
    const placements = parseDevices(devices, options.sessions ?? 1);
    const generation = resolveGenerationOptions(options.generation);
    const resolved = await resolveModel(options.model, {
      modelsDir: options.modelsDir,
      dtype: options.dtype,
      hub: options.hub,
      progress: options.downloadProgress,
    });
    const modelDir = await loadModelDir(resolved.dir, resolved.onnxFile);
    const capture = options.capture && captureFor(options.capture, modelDir);
    // Each session starts in its own worker thread, so they open side by side.
    const opened = await Promise.allSettled(
      placements.map((placement, index) => OnnxInferenceSession.open(placementName(placement, index), batchSize, modelDir, placement, generation, capture && { spec: capture, captured: capture.captured })),
    );
    const sessions = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(sessions.map((s) => s.close()));
      throw failed.reason;
    }
    const name = options.modelName ?? resolved.name;
    return new OnnxBackend(name, sessions, {
      backend: 'onnx',
      model: name,
      modelSource: resolved.source,
      ...(resolved.commit === undefined ? {} : { modelCommit: resolved.commit }),
      dtype: resolved.dtype ?? null,
      modelType: modelDir.config.modelType,
      devices,
      sessions: sessions.length,
      batchSize,
      ...generation,
      ...(capture && { activations: { layers: capture.layers, positions: capture.positions } }),
    }, capture ?? null);
  }

  describe(): Record<string, unknown> {
    return { ...this.settings };
  }

  /** The memory-cleanup hook: each session releases and re-creates its graph between batches. */
  async releaseIdleSessions(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.recycle()));
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close()));
  }
}

function captureFor(request: NonNullable<OnnxBackendOptions['capture']>, model: ModelDir): BackendCapture {
  const layers = resolveLayers(request.layers, model.config.numLayers);
  return { layers, positions: request.positions, hidden: residualWidth(model), captured: new CapturedActivations() };
}
