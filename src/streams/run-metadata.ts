import type { HardeningConfig } from '../config.js';
import type { InferenceBackend } from '../inference/backend.js';
import type { DatasetLocation } from '../io/dataset-location.js';
import type { RunIdentity } from '../io/run-store/run-identity.js';
import type { FailedRecord } from '../io/run-store/run-progress.js';
import { meanPassAtK, passAtKByProblem } from '../metrics/pass-at-k.js';
import { computeRunStatistics, type RunStatistics } from '../monitor/run-statistics.js';
import type { ResourcePeaks } from '../monitor/resource-monitor.js';
import type { RunVersions } from '../monitor/run-versions.js';
import type { PromptTemplate } from '../prompt/prompt-template.js';
import type { GenerationResult } from '../records.js';
import type { SandboxExecutor } from '../sandbox/sandbox-executor.js';
import type { RunOutages } from './session-health.js';

export interface RunMetadataInput {
  mode: string;
  runId: string;
  identity: RunIdentity;
  location: DatasetLocation;
  selection: Record<string, unknown>;
  samples: number;
  backend: InferenceBackend;
  executor: SandboxExecutor;
  /** Each task's CPU limits per test and how they were set (`TaskTimeLimits.describe`). */
  timeLimits: Record<string, unknown>;
  hardening: HardeningConfig;
  template: PromptTemplate;
  /** The final rows, one per record, from the journal. */
  results: readonly GenerationResult[];
  failed: readonly FailedRecord[];
  /** Records whose program brought the build down (killed the builder): labelled `Killed` without running it again. */
  broughtTheBuildDown: ReadonlyArray<{ task_id: number; sample_index: number }>;
  missingTaskIds: readonly number[];
  notices: readonly string[];
  versions: RunVersions;
  /** Times this run was resumed. */
  resumes: number;
  peaks?: ResourcePeaks;
  /** Inference sessions out of rotation, and times with none up (this attempt's). */
  outages?: RunOutages;
  elapsedSeconds: number;
}

/** The `_extended_metadata.json` object: what was run, on what, how it went. */
export function runMetadata(input: RunMetadataInput) {
  const { results } = input;
  const ok = results.filter((row) => row.status === 'ok');
  const correct = ok.filter((row) => row.is_correct).length;
  const statistics: RunStatistics = computeRunStatistics(results, {
    sandboxLevel: input.executor.isolation,
    versions: input.versions,
    resumes: input.resumes,
    peaks: input.peaks,
    wallSeconds: input.elapsedSeconds,
  });
  const perProblem = input.samples > 1 ? passAtKByProblem(results) : undefined;
  return {
    run_id: input.runId,
    mode: input.mode,
    created_at: new Date().toISOString(),
    notices: input.notices,
    dataset: {
      path: input.location.path,
      origin: input.location.origin,
      sha256: input.location.sha256,
      bundled_sample: input.location.bundledSample,
    },
    selection: input.selection,
    samples_per_problem: input.samples,
    backend: input.backend.describe(),
    model: input.backend.model,
    prompt_template: { origin: input.template.origin, text: input.template.text },
    sandbox: input.executor.describe(),
    time_limits: input.timeLimits,
    config: input.hardening,
    identity: input.identity,
    counts: {
      total_records: results.length,
      judged: ok.length,
      correct,
      wrong: ok.length - correct,
      failed: results.length - ok.length,
      brought_the_build_down: input.broughtTheBuildDown.length,
      pass_rate: results.length === 0 ? 0 : correct / results.length,
    },
    failed_records: input.failed.map((failed) => ({ ...failed })),
    brought_the_build_down: input.broughtTheBuildDown.map(({ task_id, sample_index }) => ({ task_id, sample_index })),
    missing_generations: input.missingTaskIds,
    outages: input.outages ?? { sessions: [], whole_pool: [] },
    ...flakyTasks(results),
    ...(perProblem ? { pass_at_k: meanPassAtK(perProblem), pass_at_k_by_problem: perProblem } : {}),
    statistics,
    versions: input.versions,
  };
}

/** With a flaky check: the records whose verdicts differed between hash seeds, by task. */
function flakyTasks(results: readonly GenerationResult[]) {
  const checked = results.filter((row) => row.flaky !== null);
  if (checked.length === 0) return {};
  const byTask = new Map<number, number[]>();
  for (const row of checked) if (row.flaky) byTask.set(row.task_id, [...(byTask.get(row.task_id) ?? []), row.sample_index]);
  return {
    flaky_check: {
      hash_seeds: checked[0]!.flaky_check!.map((outcome) => outcome.hash_seed),
      records_checked: checked.length,
      flaky_records: [...byTask.values()].reduce((sum, samples) => sum + samples.length, 0),
      flaky_tasks: [...byTask].sort(([a], [b]) => a - b).map(([task_id, samples]) => ({ task_id, sample_indices: samples.sort((a, b) => a - b) })),
    },
  };
}
