/**
 * What names a run: every setting that defines its output. Two commands with the same identity build the
 * same dataset, so the second resumes the first; a command whose identity differs must not append to it.
 */
import { createHash } from 'node:crypto';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The settings that define a run's output. Secrets (API keys) never belong here: the identity is written to disk. */
export interface RunIdentity {
  /** sha256 (hex) of the dataset file's bytes. */
  datasetSha256: string;
  /** `mbppplus` for MBPP+ data; absent for MBPP, so MBPP runs keep the ids they had before MBPP+ was read. */
  datasetFormat?: string;
  /** sha256 of the original MBPP file joined to MBPP+ (`--original-dataset`), when one is. */
  originalDatasetSha256?: string;
  /** The split selected ('all' for every split). */
  split: string;
  /** The selected range of records within the split (e.g. `{ start: 0, end: 974 }`), or null for all of it. */
  range: JsonValue;
  /** Backend name ('reference' | 'replay' | 'onnx' | 'openai'). */
  backend: string;
  /** Model name as written into the dataset. */
  model: string;
  /** The prompt template's text (not its file name: editing the file changes the output). */
  promptTemplate: string;
  /** Generation settings: temperature, topP, topK, seed, maxTokens, samples, ... (camelCase keys name their flags). */
  generation: { [setting: string]: JsonValue };
}

/** Serializes with object keys sorted at every depth, so equal identities give equal text. */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as JsonValue)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A run id: the first 12 hex digits of the sha256 of the identity's canonical JSON. */
export function runIdOf(identity: RunIdentity): string {
  return createHash('sha256').update(canonicalJson(identity as unknown as JsonValue)).digest('hex').slice(0, 12);
}

/** One setting that differs between a stored run and the current command. */
export interface IdentityDifference {
  /** Path of the setting in the identity, e.g. `generation.temperature`. */
  path: string;
  /** The command-line flag that sets it, e.g. `--temperature`. */
  flag: string;
  stored: JsonValue | undefined;
  current: JsonValue | undefined;
}

/** Labels for the settings whose flag is not the kebab-case of their key. */
const FLAG_LABELS: Readonly<Record<string, string>> = {
  datasetSha256: '--dataset (sha256)',
  originalDatasetSha256: '--original-dataset (sha256)',
  promptTemplate: '--prompt-template (text)',
};

function flagOf(key: string): string {
  return FLAG_LABELS[key] ?? `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

/** Lists every leaf setting that differs, naming it by flag. Nested objects other than `generation` compare whole. */
export function diffIdentities(stored: RunIdentity, current: RunIdentity): IdentityDifference[] {
  const differences: IdentityDifference[] = [];
  const compare = (path: string, key: string, a: JsonValue | undefined, b: JsonValue | undefined): void => {
    const left = a === undefined ? undefined : canonicalJson(a);
    const right = b === undefined ? undefined : canonicalJson(b);
    if (left !== right) differences.push({ path, flag: flagOf(key), stored: a, current: b });
  };
  const storedRecord = stored as unknown as Record<string, JsonValue | undefined>;
  const currentRecord = current as unknown as Record<string, JsonValue | undefined>;
  const topKeys = new Set([...Object.keys(storedRecord), ...Object.keys(currentRecord)]);
  for (const key of [...topKeys].sort()) {
    if (key === 'generation') continue;
    compare(key, key, storedRecord[key], currentRecord[key]);
  }
  const storedGeneration = stored.generation ?? {};
  const currentGeneration = current.generation ?? {};
  const generationKeys = new Set([...Object.keys(storedGeneration), ...Object.keys(currentGeneration)]);
  for (const key of [...generationKeys].sort()) {
    compare(`generation.${key}`, key, storedGeneration[key], currentGeneration[key]);
  }
  return differences;
}

/** A value as a message shows it: long text by length and digest, so a prompt template never floods the line. */
function showValue(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  const text = canonicalJson(value);
  if (text.length <= 40) return text;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return `${text.length} chars (sha256 ${digest}…)`;
}

/** `--temperature: run 3f9c… used 0, this command 0.8`, one per difference, joined with '; '. */
export function describeDifferences(runId: string, differences: readonly IdentityDifference[]): string {
  return differences
    .map((d) => `${d.flag}: run ${runId} used ${showValue(d.stored)}, this command ${showValue(d.current)}`)
    .join('; ');
}
