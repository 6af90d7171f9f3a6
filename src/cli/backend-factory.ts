import { InputError } from '../errors.js';
import type { InferenceBackend } from '../inference/backend.js';
import type { BackendCapture } from '../inference/onnx/onnx-backend.js';
import type { Generations } from '../io/generations-source.js';
import { activationCaptureOf } from './activation-flags.js';
import type { BuildArgs } from './build-options.js';

/** A backend, what it needs said before the run, and its memory-cleanup hook (if it has one). */
export interface OpenedBackend {
  backend: InferenceBackend;
  /** Lines to print and record in the metadata (e.g. that the tiny demo model stands in for a real one). */
  notices: string[];
  memoryCleanup?: () => Promise<unknown>;
  /** Task ids of the selection that the backend has nothing for (replay), to report before the run. */
  missingTaskIds: number[];
  /** --capture-activations: what each record's activations hold, and where the sessions leave them. */
  capture?: BackendCapture;
}

/** Stop sequences that end a completion where a new problem or test starts; extraction cuts there too. */
const STOP_SEQUENCES = ['\nassert ', '\n# Solution:', '\nif __name__'];

function stopSequences(args: BuildArgs): string[] {
  return [...STOP_SEQUENCES, ...(args.stop ?? [])];
}

/** Replays `generations`, saying which of the selected tasks it has nothing for. */
export async function openReplayBackend(generations: Generations, model: string | undefined, taskIds: readonly number[]): Promise<OpenedBackend> {
  const { createReplayBackend } = await import('../inference/replay-backend.js');
  return { backend: createReplayBackend(generations, model), notices: [], missingTaskIds: generations.missingTaskIds(taskIds) };
}

/**
 * Opens the backend `--backend` names. Heavy modules (onnxruntime) load only when asked for, so the other
 * backends start fast. Every flag problem is an `InputError` naming the flag.
 */
export async function openBackend(args: BuildArgs, taskIds: readonly number[]): Promise<OpenedBackend> {
  const capture = activationCaptureOf(args);
  switch (args.backend) {
    case 'reference': {
      const { createReferenceBackend } = await import('../inference/reference-backend.js');
      return { backend: createReferenceBackend(), notices: [], missingTaskIds: [] };
    }
    case 'replay': {
      if (!args.generations) throw new InputError('--backend replay needs --generations FILE (JSONL or Parquet)');
      const { loadGenerations } = await import('../io/generations-source.js');
      return openReplayBackend(await loadGenerations(args.generations), args.model, taskIds);
    }
    case 'openai': {
      if (!args.endpoint?.length) throw new InputError('--backend openai needs --endpoint URL (repeat it for several servers)');
      if (!args.model) throw new InputError('--backend openai needs --model NAME (the model the server serves)');
      const { createOpenAIBackend } = await import('../inference/openai/index.js');
      const backend = createOpenAIBackend({
        endpoints: args.endpoint,
        model: args.model,
        apiKeyEnv: args.apiKeyEnv,
        chat: args.chat,
        concurrency: args.concurrency ?? 8,
        maxTokens: args.maxNewTokens ?? 200,
        temperature: args.temperature ?? 0,
        topP: args.topP ?? 1,
        topK: args.topK,
        seed: args.seed,
        stop: stopSequences(args),
      });
      return { backend, notices: [], missingTaskIds: [] };
    }
    case 'onnx': {
      const { OnnxBackend } = await import('../inference/onnx/onnx-backend.js');
      const { tinyModelDir, TINY_MODEL_NAME, TINY_MODEL_NOTICE } = await import('../inference/onnx/tiny-model.js');
      const { createDownloadProgress, downloadProgressModeFor } = await import('../inference/hub/download-progress.js');
      if (!args.model && !args.testRun) {
        throw new InputError(
          '--model is required for --backend onnx (an ONNX export dir, or org/name from the Hugging Face cache or Hub); ' +
            'without a model, use --test-run (tiny demo model) or --backend reference|replay|openai',
        );
      }
      const demo = !args.model;
      const backend = await OnnxBackend.open({
        model: args.model ?? tinyModelDir(),
        modelsDir: args.modelsDir,
        dtype: args.dtype,
        downloadProgress: createDownloadProgress({ mode: downloadProgressModeFor({ quiet: args.quiet, isTTY: process.stderr.isTTY, columns: process.stderr.columns }), stream: process.stderr }),
        modelName: demo ? TINY_MODEL_NAME : undefined,
        devices: args.devices,
        sessions: args.sessions,
        batchSize: args.batchSize,
        generation: {
          maxNewTokens: args.maxNewTokens,
          temperature: args.temperature,
          topP: args.topP,
          topK: args.topK,
          seed: args.seed,
          stopSequences: stopSequences(args),
        },
        capture,
      });
      return {
        backend,
        notices: demo ? [TINY_MODEL_NOTICE] : [],
        memoryCleanup: () => backend.releaseIdleSessions(),
        missingTaskIds: [],
        ...(backend.capture && { capture: backend.capture }),
      };
    }
  }
}
