import type { InferenceBackend } from '../inference/backend.js';
import type { DatasetDescription } from '../io/dataset-format.js';
import type { JsonValue, RunIdentity } from '../io/run-store/run-identity.js';
import type { TimeLimitPolicy } from '../sandbox/time-limits.js';
import type { BuildArgs } from './build-options.js';

/**
 * What defines this command's output, so that re-running it finds (and resumes) the same run, and a command
 * that would change the output is told which setting differs. Where the data is read from, where results go,
 * endpoints, devices and worker counts do not change the output and are left out.
 */
export function runIdentityOf(
  args: BuildArgs,
  datasetSha256: string,
  dataset: DatasetDescription,
  promptTemplate: string,
  backend: InferenceBackend,
  timeLimits: TimeLimitPolicy,
): RunIdentity {
  const described = backend.describe();
  const generation: Record<string, JsonValue> = {
    samples: args.samples,
    challengeTests: args.challengeTests,
    hashSeed: args.hashSeed,
    flakyCheck: args.flakyCheck,
    cpuLimitFloor: timeLimits.floorSeconds,
    cpuLimitFactor: timeLimits.factor,
    maxNewTokens: args.maxNewTokens ?? null,
    temperature: args.temperature ?? null,
    topP: args.topP ?? null,
    topK: args.topK ?? null,
    seed: args.seed ?? null,
    stop: args.stop ?? [],
  };
  // MBPP+ judging in detail gives other per-input verdicts than fast_check; MBPP runs keep their ids.
  if (dataset.datasetFormat === 'mbppplus' && args.testDetails) generation.testDetails = true;
  if (args.backend === 'openai') generation.chat = args.chat;
  if (typeof described.generations_sha256 === 'string') generation.generations = described.generations_sha256;
  // Captured activations are part of the output: a run resumed with other capture flags would mix files.
  const captured = described.activations as { layers: number[]; positions: string[] } | undefined;
  if (captured !== undefined) {
    generation.activationLayers = captured.layers.join(',');
    generation.activationPositions = captured.positions.join(',');
    generation.activationDtype = args.activationDtype;
  }
  return {
    datasetSha256,
    ...(dataset.datasetFormat === 'mbpp' ? {} : { datasetFormat: dataset.datasetFormat }),
    ...(dataset.original === undefined ? {} : { originalDatasetSha256: dataset.original.sha256 }),
    split: args.split,
    range: { start: args.start ?? null, end: args.end ?? null, testRun: args.testRun },
    backend: backend.name,
    model: backend.model,
    promptTemplate,
    generation,
  };
}
