/**
 * What --capture-activations costs, on the tiny model: `npx tsx bench/activations-bench.ts`. Measures tokens/s of
 * batch generation with capture (every layer; all three positions, or last-prompt alone) against the same graph
 * opened without it, at batch 8 and batch 1, 128 new tokens; and the activation store's durable appends (rows/s,
 * every row fdatasync'd) for the tiny model's layout and for a gemma-2-2b-sized one (26 layers x 3 positions x
 * 2304, float16: 359 KiB a row). Prompts come from $MBPP_STREAM_DATASET when set, else synthetic ones; comparisons
 * are interleaved pairs (bench/paired-rates.ts), $ONNX_BENCH_REPS of them (default 7).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTIVATION_POSITIONS, type ActivationSpec } from '../src/inference/onnx/activation-spec.js';
import { generateBatch, type GenerationSettings } from '../src/inference/onnx/batch-generation.js';
import { loadModelDir } from '../src/inference/onnx/model-dir.js';
import { openDecoderGraph, type DecoderGraph } from '../src/inference/onnx/ort-session-factory.js';
import { PromptTokenizer } from '../src/inference/onnx/prompt-tokenizer.js';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';
import { ActivationStore, type ActivationStoreLayout } from '../src/io/activation-store/activation-store.js';
import { promptTexts } from './mbpp-prompts.js';
import { compare, median, repetitions, tableRow, type Workload } from './paired-rates.js';

const NEW_TOKENS = 128;
const model = await loadModelDir(tinyModelDir());
const tokenizer = new PromptTokenizer(model);
const prompts = (await promptTexts(8)).map((p) => tokenizer.encode(p));
const settings: GenerationSettings = {
  temperature: 0, topK: 0, topP: 1, maxNewTokens: NEW_TOKENS, stopSequences: [], eosTokenIds: [], padTokenId: 0, useCache: true,
};
const everyLayer = Array.from({ length: model.config.numLayers }, (_, i) => i);
const open = (capture?: ActivationSpec): Promise<DecoderGraph> => openDecoderGraph(model, { kind: 'cpu', threads: 1 }, capture);
const plain = await open();
const allPositions = await open({ layers: everyLayer, positions: [...ACTIVATION_POSITIONS] });
const lastPrompt = await open({ layers: everyLayer, positions: ['last-prompt'] });

/** Generates `batch`-sized batches of the prompts until 16 sequences are done: the tokens generated. */
const generating = (graph: DecoderGraph, batch: number): Workload => async () => {
  for (let done = 0; done < 16; done += batch) {
    const ids = Array.from({ length: batch }, (_, i) => prompts[(done + i) % prompts.length] as number[]);
    await generateBatch(graph.session, graph.signature, (t) => tokenizer.decode(t), ids.map((promptIds) => ({ promptIds, seed: 0 })), settings);
  }
  return 16 * NEW_TOKENS;
};
for (const graph of [plain, allPositions, lastPrompt]) await generating(graph, 8)(); // warm-up

const reps = repetitions();
const rows: string[][] = [];
for (const batch of [8, 1]) {
  const all = await compare(generating(allPositions, batch), generating(plain, batch), reps);
  rows.push(tableRow(`capture, all ${everyLayer.length} layers x 3 positions vs none, batch ${batch}, ${reps} pairs`, all, 'tok/s', '>= 0.9x'));
}
const last = await compare(generating(lastPrompt, 8), generating(plain, 8), reps);
rows.push(tableRow(`capture, all layers at last-prompt vs none, batch 8, ${reps} pairs`, last, 'tok/s', '>= 0.9x'));
for (const graph of [plain, allPositions, lastPrompt]) await graph.session.release();

/** Median ms per durable append of one row of `layout`, over `count` rows. */
async function appendCost(layout: ActivationStoreLayout, count: number): Promise<{ ms: number; rowBytes: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'mbpp-act-bench-'));
  try {
    const store = await ActivationStore.open(dir, layout, () => true);
    const packed = Float32Array.from({ length: layout.layers.length * layout.positions.length * layout.hidden }, (_, i) => Math.sin(i));
    const times: number[] = [];
    for (let task = 0; task < count; task++) {
      const start = performance.now();
      await store.append({ task_id: task, sample_index: 0, is_correct: false }, packed);
      times.push(performance.now() - start);
    }
    await store.close();
    return { ms: median(times), rowBytes: packed.length * (layout.dtype === 'float16' ? 2 : 4) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const layouts: [string, ActivationStoreLayout][] = [
  ['tiny model: 2 layers x 3 positions x 64, float32', { layers: everyLayer, positions: [...ACTIVATION_POSITIONS], hidden: 64, dtype: 'float32' }],
  ['gemma-2-2b size: 26 layers x 3 positions x 2304, float16', { layers: Array.from({ length: 26 }, (_, i) => i), positions: [...ACTIVATION_POSITIONS], hidden: 2304, dtype: 'float16' }],
];
for (const [name, layout] of layouts) {
  const { ms, rowBytes } = await appendCost(layout, 200);
  rows.push([`store append, ${name}, 200 rows`, `${ms.toFixed(2)} ms a row (median)`, `${(1000 / ms).toFixed(0)} rows/s`, `${(rowBytes / 1024).toFixed(1)} KiB a row`, '']);
}

console.log('| measure | value | ratio (median) | range | target |\n|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
