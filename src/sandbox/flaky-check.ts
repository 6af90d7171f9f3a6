import type { FlakyCheck, SeedOutcome } from '../records.js';
import type { CodeExecutor, ExecutionOutcome, ExecutionRequest } from './executor.js';

/** `--flaky-check K`: the run's own seed, then the K-1 seeds after it (PYTHONHASHSEED wraps at 2^32). */
export function flakyCheckSeeds(hashSeed: number, count: number): number[] {
  return Array.from({ length: count }, (_, offset) => (hashSeed + offset) % 2 ** 32);
}

/**
 * Judges one program under each hash seed (the first is the run's own, whose verdicts are the label), in
 * parallel on the executor's workers. The program is flaky when some test's verdict differs between seeds:
 * string-hash order (set iteration, `max(set(s), key=s.count)`) and `random` without a seed are the usual causes.
 */
export async function judgeWithFlakyCheck(executor: CodeExecutor, request: ExecutionRequest, seeds: readonly number[]): Promise<ExecutionOutcome> {
  const outcomes = await Promise.all(seeds.map((hashSeed) => executor.execute({ ...request, hashSeed })));
  const own = outcomes[0]!;
  const verdicts = (outcome: ExecutionOutcome) => outcome.testResults.map((result) => result.passed).join();
  const seedOutcomes: SeedOutcome[] = outcomes.map((outcome, index) => {
    const passed = outcome.testResults.filter((result) => result.passed).length;
    return { hash_seed: seeds[index]!, passed_tests: passed, is_correct: passed > 0 && passed === outcome.testResults.length };
  });
  const flakyCheck: FlakyCheck = { flaky: outcomes.some((outcome) => verdicts(outcome) !== verdicts(own)), seeds: seedOutcomes };
  return { ...own, flakyCheck };
}
