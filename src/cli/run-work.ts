import type { PromptTemplate } from '../prompt/prompt-template.js';
import { recordKey, type Prompted, type SourcedRecord } from '../records.js';

/** One sample of one problem that a run must finish. */
export interface PlannedSample {
  record: SourcedRecord;
  sampleIndex: number;
}

/** What a run covers: its problems, and which samples of each it must finish. */
export interface RunWork {
  /** The selected problems, in task order. */
  records: readonly SourcedRecord[];
  /** Every (problem, sample) of the run, in task then sample order. */
  samples: readonly PlannedSample[];
  /** Samples per problem as the run's identity, disk estimate and pass@k see it: the most any problem has. */
  samplesPerProblem: number;
}

/** Samples 0..n-1 of each problem: what `build` and `retry-failed` run. */
export function everySample(records: readonly SourcedRecord[], samplesPerProblem: number): RunWork {
  return {
    records,
    samples: records.flatMap((record) => Array.from({ length: samplesPerProblem }, (_, sampleIndex) => ({ record, sampleIndex }))),
    samplesPerProblem,
  };
}

/** The samples still to do, with their prompts (rendered once per problem). */
export function promptsToDo(work: RunWork, template: PromptTemplate, done: ReadonlySet<string>): Prompted[] {
  const prompts = new Map<SourcedRecord, string>();
  const promptOf = (record: SourcedRecord): string => {
    let prompt = prompts.get(record);
    if (prompt === undefined) prompts.set(record, (prompt = template.render(record)));
    return prompt;
  };
  return work.samples
    .filter(({ record, sampleIndex }) => !done.has(recordKey(record.task_id, sampleIndex)))
    .map(({ record, sampleIndex }) => ({ record, sampleIndex, prompt: promptOf(record) }));
}
