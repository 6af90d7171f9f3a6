import type { HardeningConfig } from '../config.js';
import type { InferenceBackend } from '../inference/backend.js';
import type { DatasetLocation } from '../io/dataset-location.js';
import type { RunIdentity } from '../io/run-store/run-identity.js';
import type { FailedRecord } from '../io/run-store/run-progress.js';
import type { ResourcePeaks } from '../monitor/resource-monitor.js';
import type { RunVersions } from '../monitor/run-versions.js';
import type { PromptTemplate } from '../prompt/prompt-template.js';
import type { SandboxExecutor } from '../sandbox/sandbox-executor.js';
import type { Throughput } from '../monitor/throughput-meter.js';
import type { DatasetSummary } from './dataset-summary.js';
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
  /** The final rows (one per record, from the journal), summed up as they were written. */
  summary: DatasetSummary;
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
  /** This attempt's throughput over wall time. */
  throughput?: Throughput;
}

/** The `_extended_metadata.json` object: what was run, on what, how it went. */
export function runMetadata(input: RunMetadataInput) {
  const { summary } = input;
  const statistics = summary.runStatistics({
    sandboxLevel: input.executor.isolation,
    versions: input.versions,
    resumes: input.resumes,
    peaks: input.peaks,
    throughput: input.throughput,
  });
  const flaky = summary.flaky();
  const mbppPlus = summary.mbppPlus(input.samples > 1);
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
    counts: { ...summary.counts(), brought_the_build_down: input.broughtTheBuildDown.length },
    labels: summary.labels(),
    ...(mbppPlus ? { mbpp_plus: mbppPlus } : {}),
    failed_records: input.failed.map((failed) => ({ ...failed })),
    brought_the_build_down: input.broughtTheBuildDown.map(({ task_id, sample_index }) => ({ task_id, sample_index })),
    missing_generations: input.missingTaskIds,
    outages: input.outages ?? { sessions: [], whole_pool: [] },
    ...(flaky ? { flaky_check: flaky } : {}),
    ...(input.samples > 1 ? summary.passAtKByProblem() : {}),
    statistics,
    versions: input.versions,
  };
}
