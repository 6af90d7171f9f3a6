import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One plain Python process exec-ing every reference solution and its tests in turn: no isolation, no pipeline. */
const FLOOR_SCRIPT = `
import json, sys
failures = 0
for line in open(sys.argv[1]):
    record = json.loads(line)
    namespace = {"__name__": "solution"}
    try:
        exec(record["code"], namespace)
        exec(record["test_setup_code"], namespace)
    except BaseException:
        failures += len(record["test_list"])
        continue
    for test in record["test_list"]:
        try:
            exec(test, namespace)
        except BaseException:
            failures += 1
print(failures)
`;

/** The unsafe floor's wall seconds and failed test count. */
export async function runUnsafeFloor(python: string, dataset: string): Promise<{ seconds: number; failedTests: number }> {
  const started = performance.now();
  const { stdout } = await run(python, ['-c', FLOOR_SCRIPT, dataset], { maxBuffer: 1 << 20 });
  return { seconds: (performance.now() - started) / 1000, failedTests: Number(stdout.trim()) };
}
