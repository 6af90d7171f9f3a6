/**
 * The judging log, `runs/<id>/judging.log`: which programs are in the sandbox, for one attempt at the run (one
 * command's life). It starts with an `attempt` line, gets an `enter` line before each program goes into the
 * sandbox and a `leave` line when it comes out, and an `end` line when the attempt ends in any way that runs
 * JavaScript (the store closed, `process.exit`, an uncaught error). So a log with no `end` line is an attempt that
 * was killed outright (SIGKILL, the OOM killer, a power loss), and its `enter`s without a `leave` are the programs
 * that were being judged at that moment. The next attempt reads it (`readAttempt`) before starting its own.
 *
 * Lines are written with a plain, synchronous write(2) and no fsync. What the log must survive is the builder's
 * process being killed, and the bytes are in the kernel's page cache once write returns, which outlives the
 * process; being synchronous, the `enter` line is there before the program can run. fsync would add only survival
 * of a kernel crash or power loss, at the cost of a disk flush per program; losing the log's tail there costs at
 * most one more crash before a program that brings the build down is caught.
 */
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { recordKey, type Completion } from '../../records.js';
import { CheckpointJournal } from './checkpoint-journal.js';
import { encodeJournalLine } from './journal-line.js';

/** A record's program as it went into the sandbox: enough to label it later without generating it again. */
export interface SandboxedProgram {
  task_id: number;
  sample_index: number;
  /** What the backend returned: a model may answer differently next time, and a label must be of this program. */
  completion: Completion;
  generatedCode: string;
  generationTime: number;
}

/** How an attempt ended without being killed: its store was closed, or the process exited first. */
export type AttemptEnd = 'closed' | 'exited';

type JudgingLine =
  | { kind: 'attempt'; id: string; startedAt: string }
  | { kind: 'enter'; program: SandboxedProgram }
  | { kind: 'leave'; task_id: number; sample_index: number }
  | { kind: 'end'; how: AttemptEnd };

/** One attempt's log, read back. */
export interface AttemptRecord {
  id: string;
  /** True when the log has no `end` line: the process was killed outright. */
  crashed: boolean;
  /** Programs that went in and did not come out, in the order they went in. */
  inFlight: SandboxedProgram[];
  /** `recordKey`s of programs that came out (judged, or cancelled by a timeout or a stop) and did not go in again. */
  judged: Set<string>;
}

export function programKey(program: Pick<SandboxedProgram, 'task_id' | 'sample_index'>): string {
  return recordKey(program.task_id, program.sample_index);
}

/** Logs not ended yet. A second Ctrl+C or an uncaught error exits without closing the store: that is no crash. */
const openLogs = new Set<JudgingLog>();
process.on('exit', () => {
  for (const log of openLogs) log.end('exited');
});

/**
 * Bytes after which the log starts over with what still matters (the attempt, the suspects that came out, the
 * programs in the sandbox now), so it stays small however long the run, and a resume reads it in no time.
 */
const ROTATE_BYTES = 4 << 20;

/** The log of the attempt now running. `start` one per attempt; `end` it when the attempt ends. */
export class JudgingLog {
  private fd: number | null;
  private bytes = 0;
  /** Programs in the sandbox now, by `programKey`. */
  private readonly inSandbox = new Map<string, SandboxedProgram>();
  /** Suspects of earlier crashes that came out of the sandbox in this attempt: what clears them. */
  private readonly clearedSuspects = new Set<string>();

  private constructor(
    private readonly path: string,
    private readonly attempt: Extract<JudgingLine, { kind: 'attempt' }>,
    private readonly suspects: ReadonlySet<string>,
  ) {
    this.fd = openSync(path, 'w');
    openLogs.add(this);
    this.write(attempt);
  }

  /**
   * Replaces the log at `path` with a fresh one for a new attempt. `suspects` (`programKey`s) are the earlier crashes'
   * suspects: that one of them came out of the sandbox is kept however long the log grows.
   */
  static start(path: string, now: Date, suspects: Iterable<string> = []): JudgingLog {
    return new JudgingLog(path, { kind: 'attempt', id: randomBytes(8).toString('hex'), startedAt: now.toISOString() }, new Set(suspects));
  }

  /** Notes that `program` goes into the sandbox now; returns once the note would survive this process being killed. */
  enter(program: SandboxedProgram): void {
    this.inSandbox.set(programKey(program), program);
    this.write({ kind: 'enter', program });
  }

  /** Notes that the program of this record came out of the sandbox (judged, failed or cancelled). */
  leave(taskId: number, sampleIndex: number): void {
    const key = recordKey(taskId, sampleIndex);
    this.inSandbox.delete(key);
    if (this.suspects.has(key)) this.clearedSuspects.add(key);
    // Best effort: called from stream teardown, where a throw would surface as an uncaught error. A lost line can
    // only make an innocent record a suspect after a crash, which costs it one run on its own.
    try {
      this.write({ kind: 'leave', task_id: taskId, sample_index: sampleIndex });
    } catch {
      // see above
    }
  }

  /** Writes the `end` line and closes the file; later calls do nothing. */
  end(how: AttemptEnd): void {
    const fd = this.fd;
    if (fd === null) return;
    this.fd = null;
    openLogs.delete(this);
    try {
      writeSync(fd, encodeJournalLine({ kind: 'end', how } satisfies JudgingLine));
    } catch {
      // Best effort, so closing the store goes on: without the line this attempt reads as killed, which makes
      // suspects only of programs still in the sandbox, and at a close there are none.
    } finally {
      closeSync(fd);
    }
  }

  private write(line: JudgingLine): void {
    if (this.fd === null) throw new Error('the judging log is closed');
    if (this.bytes >= ROTATE_BYTES) this.rotate();
    this.bytes += this.append(this.fd, line);
  }

  /**
   * Starts the file over with the lines a reader needs to reach the same conclusions (see `readAttempt`): written
   * beside it and renamed over it, so a kill at any moment leaves one whole log or the other.
   */
  private rotate(): void {
    const next = `${this.path}.next`;
    const fd = openSync(next, 'w');
    try {
      this.bytes = this.append(fd, this.attempt);
      for (const key of this.clearedSuspects) {
        const [taskId, sampleIndex] = key.split(':').map(Number) as [number, number];
        this.bytes += this.append(fd, { kind: 'leave', task_id: taskId, sample_index: sampleIndex });
      }
      for (const program of this.inSandbox.values()) this.bytes += this.append(fd, { kind: 'enter', program });
      renameSync(next, this.path);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    closeSync(this.fd!);
    this.fd = fd;
  }

  /** One line, whole; resolves to its bytes. A failure names the file (a full disk says where). */
  private append(fd: number, line: JudgingLine): number {
    const bytes = encodeJournalLine(line);
    try {
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
    } catch (error) {
      const cause = error as NodeJS.ErrnoException;
      throw Object.assign(new Error(`cannot write the judging log ${this.path}: ${cause.message}`, { cause }), { code: cause.code });
    }
    return bytes.length;
  }
}

function isProgram(value: unknown): value is SandboxedProgram {
  const program = value as Partial<SandboxedProgram> | null;
  return (
    program !== null &&
    typeof program === 'object' &&
    Number.isSafeInteger(program.task_id) &&
    Number.isSafeInteger(program.sample_index) &&
    typeof program.generatedCode === 'string' &&
    typeof program.completion === 'object' &&
    program.completion !== null
  );
}

/**
 * Reads the log at `path`: null when it has no `attempt` line (there was no attempt, or it was killed before writing).
 * A line torn by a crash mid-write fails its checksum and is skipped.
 */
export async function readAttempt(path: string): Promise<AttemptRecord | null> {
  // Opening creates a missing file (empty, so null): harmless, as the next attempt replaces it anyway.
  const file = await CheckpointJournal.open(path);
  let id: string | undefined;
  let ended = false;
  const inFlight = new Map<string, SandboxedProgram>();
  const judged = new Set<string>();
  try {
    await file.read((entry) => {
      const line = entry as Partial<JudgingLine> & Record<string, unknown>;
      if (line.kind === 'attempt' && typeof line.id === 'string') {
        id = line.id;
      } else if (line.kind === 'enter' && isProgram(line.program)) {
        const key = programKey(line.program);
        inFlight.set(key, line.program);
        judged.delete(key);
      } else if (line.kind === 'leave' && Number.isSafeInteger(line.task_id) && Number.isSafeInteger(line.sample_index)) {
        const key = recordKey(line.task_id as number, line.sample_index as number);
        inFlight.delete(key);
        judged.add(key);
      } else if (line.kind === 'end') {
        ended = true;
      }
    });
  } finally {
    await file.close();
  }
  return id === undefined ? null : { id, crashed: !ended, inFlight: [...inFlight.values()], judged };
}
