/** The committed tiny model, loaded once per test file. */
import { fileURLToPath } from 'node:url';
import { loadModelDir, type ModelDir } from '../src/inference/onnx/model-dir.js';
import { openDecoderGraph, type DecoderGraph } from '../src/inference/onnx/ort-session-factory.js';
import { PromptTokenizer } from '../src/inference/onnx/prompt-tokenizer.js';

export const TINY_MODEL_DIR = fileURLToPath(new URL('../fixtures/tiny-model', import.meta.url));

export interface TinyFixture {
  model: ModelDir;
  tokenizer: PromptTokenizer;
  graph: DecoderGraph;
}

export async function openTinyFixture(): Promise<TinyFixture> {
  const model = await loadModelDir(TINY_MODEL_DIR);
  return { model, tokenizer: new PromptTokenizer(model), graph: await openDecoderGraph(model, { kind: 'cpu', threads: 1 }) };
}
