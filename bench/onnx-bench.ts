/**
 * Inference benchmark on the tiny model: `npx tsx bench/onnx-bench.ts`. Measures, in one run: tokens/s with the
 * KV cache vs without at 128 new tokens, batch 8 vs batch 1, 2 CPU sessions vs 1, and RSS over a 974-record run.
 * Prompts come from $MBPP_STREAM_DATASET when set, else synthetic ones.
 *
 * Each comparison runs its two workloads as interleaved repetitions of about a second each (bench/paired-rates.ts)
 * and reports the median of the per-pair ratios with their min-max. $ONNX_BENCH_REPS sets the pairs per comparison
 * (default 7).
 */
import type { Prompted } from '../src/records.js';
import { generateBatch, type GenerationSettings } from '../src/inference/onnx/batch-generation.js';
import { parseDevices } from '../src/inference/onnx/device-spec.js';
import { loadModelDir } from '../src/inference/onnx/model-dir.js';
import { OnnxBackend } from '../src/inference/onnx/onnx-backend.js';
import { openDecoderGraph } from '../src/inference/onnx/ort-session-factory.js';
import { PromptTokenizer } from '../src/inference/onnx/prompt-tokenizer.js';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';
import { promptTexts } from './mbpp-prompts.js';
import { compare as comparePaired, repetitions, tableRow, type Workload } from './paired-rates.js';

const item = (taskId: number, prompt: string): Prompted => ({
  record: { task_id: taskId, text: prompt, code: '', test_setup_code: '', test_list: [], challenge_test_list: [], split: 'test' },
  sampleIndex: 0,
  prompt,
});

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - start) / 1000 };
}

const model = await loadModelDir(tinyModelDir());
const tokenizer = new PromptTokenizer(model);
const decode = (ids: number[]): string => tokenizer.decode(ids);
const fixed = (useCache: boolean, maxNewTokens = 128): GenerationSettings => ({
  temperature: 0, topK: 0, topP: 1, maxNewTokens, stopSequences: [], eosTokenIds: [], padTokenId: 0, useCache,
});
const prompts = (await promptTexts(8)).map((p) => tokenizer.encode(p));
const graph = await openDecoderGraph(model, { kind: 'cpu', threads: 1 });
const run = (ids: number[][], settings: GenerationSettings) =>
  generateBatch(graph.session, graph.signature, decode, ids.map((promptIds) => ({ promptIds, seed: 0 })), settings);
await run([prompts[0]!], fixed(true, 8)); // warm-up

const rows: string[][] = [];
const reps = repetitions();
const compare = (a: Workload, b: Workload) => comparePaired(a, b, reps);
const row = (measure: string, result: Awaited<ReturnType<typeof compare>>, target: string): string[] =>
  tableRow(`${measure}, ${reps} pairs`, result, 'tok/s', target);

/** Each prompt alone (batch 1), one after another: the tokens generated. */
const oneByOne = (ids: number[][], settings: GenerationSettings): Workload => async () => {
  for (const p of ids) await run([p], settings);
  return ids.length * settings.maxNewTokens;
};

const cache = await compare(oneByOne(prompts, fixed(true)), oneByOne(prompts.slice(0, 2), fixed(false)));
rows.push(row('KV cache vs none, 128 new tokens, batch 1', cache, '>= 3x'));

const batches = await compare(async () => {
  for (let i = 0; i < 4; i++) await run(prompts, fixed(true));
  return 4 * 8 * 128;
}, oneByOne([...prompts, ...prompts], fixed(true)));
rows.push(row('batch 8 vs batch 1, 128 new tokens', batches, '>= 3x'));
await graph.session.release();

/** Generates `records` records (batch 1 per session, 64 new tokens) spread over the backend's sessions. */
async function poolWorkload(sessions: number, records: number): Promise<{ workload: Workload; close: () => Promise<void> }> {
  const backend = await OnnxBackend.open({ model: tinyModelDir(), sessions, batchSize: 1, generation: { maxNewTokens: 64 } });
  const texts = await promptTexts(records);
  const signal = new AbortController().signal;
  const pool = backend.sessions;
  await Promise.all(pool.map((session) => session.generate({ item: item(0, texts[0]!), signal }))); // warm-up
  const workload: Workload = async () => {
    const counts = await Promise.all(
      pool.map(async (session, s) => {
        let tokens = 0;
        for (let i = s; i < records; i += pool.length) tokens += (await session.generate({ item: item(i, texts[i]!), signal })).completionTokens ?? 0;
        return tokens;
      }),
    );
    return counts.reduce((x, y) => x + y, 0);
  };
  return { workload, close: () => backend.close() };
}
const one = await poolWorkload(1, 24);
const two = await poolWorkload(2, 24);
const threads = (sessions: number): number => {
  const placement = parseDevices('cpu', sessions)[0];
  return placement?.kind === 'cpu' ? placement.threads : 0;
};
rows.push(row(`2 CPU sessions (${threads(2)} thread each) vs 1 (${threads(1)} threads), batch 1, 24 records`, await compare(two.workload, one.workload), '>= 1.6x'));
await Promise.all([one.close(), two.close()]);

const rssBackend = await OnnxBackend.open({ model: tinyModelDir(), batchSize: 8, generation: { maxNewTokens: 32 } });
const texts = await promptTexts(974);
const signal = new AbortController().signal;
const rss: number[] = [];
const session = rssBackend.sessions[0]!;
const rssRun = await timed(async () => {
  for (let start = 0; start < texts.length; start += 8) {
    await Promise.all(texts.slice(start, start + 8).map((t, i) => session.generate({ item: item(start + i, t), signal })));
    if (start % 96 === 0) {
      if (start > 0 && start % 192 === 0) await rssBackend.releaseIdleSessions();
      rss.push(process.memoryUsage().rss / 2 ** 20);
    }
  }
});
await rssBackend.close();
rows.push([
  `RSS over 974 records (batch 8, 32 new tokens, cleanup every 192), ${rssRun.seconds.toFixed(1)} s`,
  `${rss.map((r) => r.toFixed(0)).join(' ')} MiB`,
  `first ${rss[0]?.toFixed(0)} -> last ${rss[rss.length - 1]?.toFixed(0)} MiB`,
  `${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)} MiB`,
  'flat',
]);

console.log('| measure | value | ratio (median) | range | target |\n|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
