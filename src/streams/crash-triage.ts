/**
 * What a resumed run does about the crashes of earlier attempts (see src/io/run-store/crash-history.ts): a record
 * whose program brought the build down gets its label now, without running that program again, and the records
 * that were in the sandbox at a crash go first, to be judged one at a time (`judgeAlone` in the build pipeline).
 */
import { programKey, type SandboxedProgram } from '../io/run-store/judging-log.js';
import { recordKey, type GenerationResult, type Prompted, type TestResult } from '../records.js';
import { judgedRow } from './result-rows.js';

/** Every test's verdict for a program that brought the build down: it is not run again to get real ones. */
export const BROUGHT_THE_BUILD_DOWN: TestResult = {
  passed: false,
  error_type: 'Killed',
  message: 'the program brought the build down (it was being judged when the builder was killed, twice); not run again',
};

/** The judgings it took to find a culprit: the crash that made it a suspect, and the one that isolated it. */
const JUDGINGS_OF_A_CULPRIT = 2;

/** What the crashes of earlier attempts showed (from the run store). */
export interface CrashFindings {
  /** `recordKey`s of records in the sandbox at a crash and not cleared since. */
  suspects: ReadonlySet<string>;
  /** Records whose program brought the build down, with that program. */
  culprits: readonly SandboxedProgram[];
}

/** Whose name goes into a row's `model` and `backend` columns. */
export interface RowSource {
  model: string;
  name: string;
}

/** The row of a record whose program brought the build down: judged (`status: ok`), wrong, every test (and MBPP+ input) `Killed`. */
export function culpritRow(item: Prompted, program: SandboxedProgram, source: RowSource, challengeTests: boolean): GenerationResult {
  const killed = (count: number) => Array.from({ length: count }, (): TestResult => ({ ...BROUGHT_THE_BUILD_DOWN }));
  const { plus } = item.record;
  const executed = {
    ...item,
    completion: program.completion,
    generatedCode: program.generatedCode,
    generationTime: program.generationTime,
    testResults: killed(item.record.test_list.length),
    challengeResults: challengeTests ? killed(item.record.challenge_test_list.length) : undefined,
    plusResults: plus ? { base: killed(plus.base_count), plus: killed(plus.plus_count) } : undefined,
    executionTime: 0,
  };
  return judgedRow(executed, source.model, source.name, JUDGINGS_OF_A_CULPRIT);
}

/**
 * Splits the records left to run: culprits' rows, labelled now, and the rest in their order with the suspects
 * first, since the sandbox takes one program at a time until every suspect has been judged.
 */
export function triageAfterCrashes(
  items: readonly Prompted[],
  findings: CrashFindings,
  label: (item: Prompted, program: SandboxedProgram) => GenerationResult,
): { labelled: GenerationResult[]; toRun: Prompted[] } {
  const culprits = new Map(findings.culprits.map((program) => [programKey(program), program]));
  const labelled: GenerationResult[] = [];
  const suspects: Prompted[] = [];
  const others: Prompted[] = [];
  for (const item of items) {
    const key = recordKey(item.record.task_id, item.sampleIndex);
    const culprit = culprits.get(key);
    if (culprit) labelled.push(label(item, culprit));
    else (findings.suspects.has(key) ? suspects : others).push(item);
  }
  return { labelled, toRun: [...suspects, ...others] };
}
