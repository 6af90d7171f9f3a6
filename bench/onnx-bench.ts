/**
 * Inference benchmark on the tiny model: `npx tsx bench/onnx-bench.ts`. Measures, in one run:
 * tokens/s with the KV cache vs without at 128 new tokens, batch 8 vs batch 1, 2 CPU sessions vs 1, and RSS
 * over a 974-record run. Prompts come from $MBPP_STREAM_DATASET when set, else synthetic ones.
 * The numbers depend on how busy the machine's cores are; run it alone.
 */
import { readFile } from 'node:fs/promises';
import type { Prompted } from '../src/records.js';
import { generateBatch, type GenerationSettings } from '../src/inference/onnx/batch-generation.js';
import { loadModelDir } from '../src/inference/onnx/model-dir.js';
import { OnnxBackend } from '../src/inference/onnx/onnx-backend.js';
import { openDecoderGraph } from '../src/inference/onnx/ort-session-factory.js';
import { PromptTokenizer } from '../src/inference/onnx/prompt-tokenizer.js';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';

async function promptTexts(count: number): Promise<string[]> {
  const file = process.env['MBPP_STREAM_DATASET'];
  const texts = file
    ? (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as { text: string }).text)
    : Array.from({ length: 974 }, (_, i) => `Write a python function number ${i} to find the sum of a list of integers.`);
  return Array.from({ length: count }, (_, i) => `You are an expert Python programmer.\n${texts[i % texts.length]}\n`);
}

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
const rate = (tokens: number, seconds: number): number => tokens / seconds;

const cached = await timed(() => run([prompts[0]!], fixed(true)));
const uncached = await timed(() => run([prompts[0]!], fixed(false)));
const cacheRate = rate(128, cached.seconds);
const noCacheRate = rate(128, uncached.seconds);
rows.push(['KV cache vs none, 128 new tokens, batch 1', `${cacheRate.toFixed(0)} vs ${noCacheRate.toFixed(0)} tok/s`, `${(cacheRate / noCacheRate).toFixed(2)}x`, '>= 3x']);

const batch8 = await timed(() => run(prompts, fixed(true)));
const singles = await timed(async () => {
  for (const p of prompts) await run([p], fixed(true));
});
const batchRate = rate(8 * 128, batch8.seconds);
const singleRate = rate(8 * 128, singles.seconds);
rows.push(['batch 8 vs batch 1, 128 new tokens', `${batchRate.toFixed(0)} vs ${singleRate.toFixed(0)} tok/s`, `${(batchRate / singleRate).toFixed(2)}x`, '>= 3x']);
await graph.session.release();

/** Tokens/s of a backend with `sessions` CPU sessions (batch 1 each), records spread over them. */
async function poolRate(sessions: number, records: number): Promise<number> {
  const backend = await OnnxBackend.open({ model: tinyModelDir(), sessions, batchSize: 1, generation: { maxNewTokens: 64 } });
  const texts = await promptTexts(records);
  const signal = new AbortController().signal;
  const pool = backend.sessions;
  await pool[0]!.generate({ item: item(0, texts[0]!), signal });
  const { value, seconds } = await timed(() =>
    Promise.all(pool.map(async (session, s) => {
      let tokens = 0;
      for (let i = s; i < records; i += pool.length) tokens += (await session.generate({ item: item(i, texts[i]!), signal })).completionTokens ?? 0;
      return tokens;
    })),
  );
  await backend.close();
  return rate(value.reduce((a, b) => a + b, 0), seconds);
}
const oneSession = await poolRate(1, 16);
const twoSessions = await poolRate(2, 16);
rows.push(['2 CPU sessions vs 1 (batch 1, 16 records)', `${twoSessions.toFixed(0)} vs ${oneSession.toFixed(0)} tok/s`, `${(twoSessions / oneSession).toFixed(2)}x`, '>= 1.6x']);

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
  'flat',
]);

console.log('| measure | value | ratio | target |\n|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
