import type { Prompted } from '../records.js';
import { createDownloadProgress, downloadProgressModeFor } from '../inference/hub/download-progress.js';
import type { GenerationOptions } from '../inference/onnx/generation-options.js';
import { OnnxBackend } from '../inference/onnx/onnx-backend.js';

/** `mbpp-stream generate --model DIR --prompt TEXT [generation flags]`: one completion, to check a model by hand. */
export interface GenerateArgs {
  model: string;
  prompt: string;
  modelsDir?: string;
  dtype?: string;
  devices?: string;
  maxNewTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop?: string[];
}

/** Prints the completion to stdout and its token counts and finish reason to stderr; resolves to the exit code. */
export async function runGenerate(
  args: GenerateArgs,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const generation: Partial<GenerationOptions> = {
    maxNewTokens: args.maxNewTokens,
    temperature: args.temperature,
    topP: args.topP,
    topK: args.topK,
    seed: args.seed,
    stopSequences: args.stop,
  };
  const backend = await OnnxBackend.open({
    model: args.model,
    modelsDir: args.modelsDir,
    dtype: args.dtype,
    downloadProgress: createDownloadProgress({ mode: downloadProgressModeFor(err as { isTTY?: boolean; columns?: number }), stream: err }),
    devices: args.devices === undefined ? 'cpu' : args.devices.split(',')[0],
    batchSize: 1,
    generation,
  });
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  try {
    const item: Prompted = {
      record: { task_id: 0, text: args.prompt, code: '', test_setup_code: '', test_list: [], challenge_test_list: [], split: 'test' },
      sampleIndex: 0,
      prompt: args.prompt,
    };
    const session = backend.sessions[0];
    if (session === undefined) throw new Error('onnx backend opened no session');
    const started = performance.now();
    const completion = await session.generate({ item, signal: controller.signal });
    const seconds = (performance.now() - started) / 1000;
    out.write(`${completion.text}\n`);
    err.write(
      `[${backend.model} on ${completion.sessionId}] prompt ${completion.promptTokens} tokens, ` +
        `completion ${completion.completionTokens} tokens, finish ${completion.finishReason}, ${seconds.toFixed(2)} s\n`,
    );
    return 0;
  } finally {
    process.off('SIGINT', stop);
    await backend.close();
  }
}
