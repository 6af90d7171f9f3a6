/** Messages between the autosave writer and its thread. */
import type { SavedAutosave } from './autosave-series.js';

/** Save the journal's first `end` bytes. Requests are answered one at a time, in order. */
export interface AutosaveRequest {
  seq: number;
  end: number;
}

export type AutosaveReply =
  | { kind: 'saved'; seq: number; saved: SavedAutosave | null }
  | { kind: 'failed'; seq: number; error: { message: string; stack?: string; code?: string } };
