import type { CodeExecutor, ExecutionOutcome, ExecutionRequest, JudgedSuite } from './executor.js';

/**
 * An executor that also judges a request's MBPP+ suites (`plusSuites`): the base and the plus inputs each as a
 * program of their own, beside the asserts when the record has any, all in parallel on the executor's workers. The
 * outcome's `testResults` stay the asserts'; a record without asserts gets its base then plus verdicts there, so
 * its headline label is EvalPlus's plus label. Requests without `plusSuites` go straight through.
 *
 * @example
 * const judge = withPlusSuites(await createExecutor());
 * const outcome = await judge.execute({ code, setupCode: '', tests: [], plusSuites });
 * outcome.plusResults?.plus.every((result) => result.passed);
 */
export function withPlusSuites(executor: CodeExecutor): CodeExecutor {
  return {
    get isolation() {
      return executor.isolation;
    },
    get parallelism() {
      return executor.parallelism;
    },
    close: () => executor.close(),
    async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
      const { plusSuites, ...asserts } = request;
      if (!plusSuites) return executor.execute(request);
      const started = performance.now();
      // The suites run the solution alone, as EvalPlus does: no setup code, no asserts.
      const suite = (judged: JudgedSuite) =>
        executor.execute({ code: request.code, setupCode: '', tests: [], calls: judged.calls, cpuLimits: judged.cpuLimits, hashSeed: request.hashSeed, signal: request.signal });
      const [own, base, plus] = await Promise.all([
        asserts.tests.length > 0 ? executor.execute(asserts) : undefined,
        suite(plusSuites.base),
        suite(plusSuites.plus),
      ]);
      return {
        testResults: own?.testResults ?? [...base.testResults, ...plus.testResults],
        testCpuSeconds: own ? (own.testCpuSeconds ?? []) : [...(base.testCpuSeconds ?? []), ...(plus.testCpuSeconds ?? [])],
        ...(own?.challengeResults ? { challengeResults: own.challengeResults } : {}),
        plusResults: { base: base.testResults, plus: plus.testResults },
        executionTime: (performance.now() - started) / 1000,
      };
    },
  };
}
