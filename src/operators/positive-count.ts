/**
 * Checks an operator's "every n items" argument when the operator is built, so a wrong value is a programming
 * error at the call site rather than an operator that never (or always) fires. User input is validated earlier,
 * in `src/config.ts`, as an `InputError`.
 */
export function assertPositiveCount(operator: string, name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${operator}: ${name} must be a positive integer, got ${String(value)}`);
  }
}
