import { readFile } from 'node:fs/promises';

/** `count` prompts for the inference benchmarks: MBPP's from $MBPP_STREAM_DATASET when set, else synthetic ones. */
export async function promptTexts(count: number): Promise<string[]> {
  const file = process.env['MBPP_STREAM_DATASET'];
  const texts = file
    ? (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as { text: string }).text)
    : Array.from({ length: 974 }, (_, i) => `Write a python function number ${i} to find the sum of a list of integers.`);
  return Array.from({ length: count }, (_, i) => `You are an expert Python programmer.\n${texts[i % texts.length]}\n`);
}
