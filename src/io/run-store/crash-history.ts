/**
 * What the run's crashes have shown, `runs/<id>/crashes.json`, folded from each attempt's judging log when the next
 * attempt opens the run.
 *
 * Programs in the sandbox when the builder was killed become suspects. With N sandbox workers N programs are in
 * flight at any crash, and a resume schedules records in the same order, so the culprit's innocent neighbours
 * would be in flight beside it again: instead, the next attempt judges the suspects first, one at a time. A
 * suspect that is in the sandbox alone at the next crash brought the build down (it was in flight at two
 * consecutive crashes, the second one isolating it): it becomes a culprit, labelled without being run again. A
 * suspect that comes out of the sandbox is cleared. One kill of the builder for another reason (the OOM killer, a
 * user's `kill -9`) thus never labels a record; it only costs its suspects a turn on their own.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-file.js';
import { programKey, type AttemptRecord, type SandboxedProgram } from './judging-log.js';

export const CRASH_HISTORY_FORMAT = 1;

export interface CrashHistory {
  format: number;
  /** The attempt whose log was folded last, so a crash between folding and starting a new log never counts twice. */
  foldedAttempt: string | null;
  /** In the sandbox at a crash and not cleared since: judged first, one at a time. */
  suspects: SandboxedProgram[];
  /** Brought the build down: labelled, never run again. */
  culprits: SandboxedProgram[];
}

export const NO_CRASHES: CrashHistory = { format: CRASH_HISTORY_FORMAT, foldedAttempt: null, suspects: [], culprits: [] };

/** What folding one attempt changed. */
export interface CrashFolding {
  history: CrashHistory;
  /** Whether the attempt was killed outright. */
  crashed: boolean;
  /** What was in the sandbox when it was (empty when it was not). */
  inFlight: SandboxedProgram[];
  /** The suspect it found guilty, if any. */
  culprit: SandboxedProgram | null;
}

/** Folds the attempt that ran after `history` was written. Pure. */
export function foldAttempt(history: CrashHistory, attempt: AttemptRecord): CrashFolding {
  const uncleared = history.suspects.filter((program) => !attempt.judged.has(programKey(program)));
  const next = { ...history, foldedAttempt: attempt.id, suspects: uncleared };
  if (!attempt.crashed) return { history: next, crashed: false, inFlight: [], culprit: null };
  const { inFlight } = attempt;
  const [alone] = inFlight;
  if (inFlight.length === 1 && alone && uncleared.some((program) => programKey(program) === programKey(alone))) {
    const suspects = uncleared.filter((program) => programKey(program) !== programKey(alone));
    return { history: { ...next, suspects, culprits: [...history.culprits, alone] }, crashed: true, inFlight, culprit: alone };
  }
  // The newest program of a record replaces the older one: it is the one that was running.
  const inFlightKeys = new Set(inFlight.map(programKey));
  const suspects = [...uncleared.filter((program) => !inFlightKeys.has(programKey(program))), ...inFlight];
  return { history: { ...next, suspects }, crashed: true, inFlight, culprit: null };
}

/** The history at `path`: none yet when missing; when unreadable, none plus why (the caller warns). */
export async function readCrashHistory(path: string): Promise<{ history: CrashHistory; problem?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return { history: NO_CRASHES };
    return { history: NO_CRASHES, problem: `unreadable (${(error as Error).message})` };
  }
  try {
    const parsed = JSON.parse(text) as Partial<CrashHistory> | null;
    if (
      parsed !== null &&
      parsed.format === CRASH_HISTORY_FORMAT &&
      Array.isArray(parsed.suspects) &&
      Array.isArray(parsed.culprits) &&
      (parsed.foldedAttempt === null || typeof parsed.foldedAttempt === 'string')
    ) {
      return { history: parsed as CrashHistory };
    }
  } catch {
    // reported below
  }
  return { history: NO_CRASHES, problem: 'not a crash history this version reads' };
}

export async function writeCrashHistory(path: string, history: CrashHistory): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(history)}\n`);
}

function describe(programs: readonly SandboxedProgram[]): string {
  return programs.map((program) => `task ${program.task_id} sample ${program.sample_index}`).join(', ');
}

/** Lines for the log: what the last attempt's crash showed, and what this attempt does about it. */
export function describeCrashes(folding: CrashFolding | null, history: CrashHistory): string[] {
  const lines: string[] = [];
  if (folding?.crashed) {
    const count = folding.inFlight.length;
    const what = count === 0 ? 'no program' : `${count === 1 ? 'one program' : `${count} programs`} (${describe(folding.inFlight)})`;
    lines.push(`the previous attempt was killed outright with ${what} in the sandbox`);
  }
  if (folding?.culprit) {
    lines.push(`${describe([folding.culprit])} was alone in the sandbox when the build was killed again: its program brings the build down`);
  }
  if (history.suspects.length > 0) {
    lines.push(`judging the records in the sandbox at a crash first, one at a time: ${describe(history.suspects)}`);
  }
  return lines;
}
