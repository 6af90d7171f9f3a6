/**
 * What the hardening operators are given. They know no files or models, only these interfaces; `src/io`
 * implements them over the run directory.
 */

/** A durable store of finished records (a journal) that can also write a compact snapshot. */
export interface CheckpointStore<T> {
  /** Makes one finished record durable before the stream moves on. */
  append(item: T): Promise<void>;
  /**
   * Makes several finished records durable together, in order, at the cost of one (one write, one sync): what
   * `checkpointEvery` uses for records that finish close together. Optional; without it each is appended alone.
   */
  appendAll?(items: readonly T[]): Promise<void>;
  /** Writes a compact snapshot (not a copy of all results); `count` is records finished so far. */
  checkpoint(count: number): Promise<void>;
}

/** Writes a partial dataset of what has finished so far. */
export interface AutosaveSink {
  autosave(count: number): Promise<void>;
}
