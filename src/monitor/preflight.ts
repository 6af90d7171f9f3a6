import { InputError } from '../errors.js';

/**
 * Preflight: a list of checks run before a build (and by `mbpp-stream preflight`), shown as one table. A
 * `fail` stops the build with its reason before any model loads; a `warn` is shown and the build goes on.
 */

export type PreflightStatus = 'ok' | 'warn' | 'fail';

export interface PreflightOutcome {
  status: PreflightStatus;
  /** What was found, and for warn/fail what to do about it. One line. */
  detail: string;
}

export interface PreflightCheck {
  /** The row's label: "python", "disk", "gpus". */
  name: string;
  run(): PreflightOutcome | Promise<PreflightOutcome>;
}

export interface PreflightRow extends PreflightOutcome {
  name: string;
}

export interface PreflightResult {
  rows: PreflightRow[];
  /** False when any row failed. */
  ok: boolean;
}

/** Runs the checks concurrently; a check that throws is a failed row carrying the error, never a crash. */
export async function runPreflight(checks: readonly PreflightCheck[]): Promise<PreflightResult> {
  const rows = await Promise.all(
    checks.map(async (check): Promise<PreflightRow> => {
      try {
        return { name: check.name, ...(await check.run()) };
      } catch (error) {
        return { name: check.name, status: 'fail', detail: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  return { rows, ok: rows.every((row) => row.status !== 'fail') };
}

/** A plain-text table: `ok    python   3.11.7 (/root/.pyenv/versions/3.11.7/bin/python3)`. */
export function renderPreflightTable(rows: readonly PreflightRow[]): string {
  const nameWidth = Math.max(5, ...rows.map((row) => row.name.length));
  const header = `${'status'.padEnd(6)} ${'check'.padEnd(nameWidth)} detail`;
  const lines = rows.map((row) => `${row.status.padEnd(6)} ${row.name.padEnd(nameWidth)} ${row.detail}`);
  return [header, ...lines].join('\n');
}

/**
 * Thrown by a build whose preflight failed; the message lists every failed check. An `InputError`: the CLI
 * prints it as one line and exits non-zero before anything is written, as for a bad flag.
 */
export class PreflightError extends InputError {
  constructor(readonly rows: readonly PreflightRow[]) {
    super(
      `preflight failed: ${rows
        .filter((row) => row.status === 'fail')
        .map((row) => `${row.name}: ${row.detail}`)
        .join('; ')}`,
    );
  }
}

/** Throws a `PreflightError` when any check failed; a build calls this after showing the table. */
export function assertPreflight(result: PreflightResult): void {
  if (!result.ok) throw new PreflightError(result.rows);
}
