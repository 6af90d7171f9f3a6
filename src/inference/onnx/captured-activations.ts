import { recordKey } from '../../records.js';

/**
 * Activations the sessions captured, waiting for their record to be journaled. A record's activations leave the
 * backend beside its completion, not in it: the completion is logged as JSON (the judging log), and the
 * activations go to their own files when the record's row is made durable. A record generated again (a retry)
 * replaces what its earlier attempt left.
 */
export class CapturedActivations {
  private readonly held = new Map<string, Float32Array>();

  hold(taskId: number, sampleIndex: number, packed: Float32Array): void {
    this.held.set(recordKey(taskId, sampleIndex), packed);
  }

  /** The record's activations, packed [layer][position][hidden], and forgets them; undefined when none were captured. */
  take(taskId: number, sampleIndex: number): Float32Array | undefined {
    const key = recordKey(taskId, sampleIndex);
    const packed = this.held.get(key);
    this.held.delete(key);
    return packed;
  }
}
