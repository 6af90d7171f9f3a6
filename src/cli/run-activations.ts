import { join } from 'node:path';
import type { BackendCapture } from '../inference/onnx/onnx-backend.js';
import { ActivationStore, type ActivationDtype } from '../io/activation-store/activation-store.js';
import type { OutputLayout } from '../io/output-layout.js';
import type { RunStore } from '../io/run-store/run-store.js';
import { recordKey, type GenerationResult } from '../records.js';

/**
 * A run's captured activations (--capture-activations): the backend leaves each record's vectors in its
 * `captured` holder; `record` moves them into the run's activation store just before the record is journaled.
 */
export class RunActivations {
  private constructor(
    private readonly store: ActivationStore,
    private readonly capture: BackendCapture,
    private readonly run: RunStore,
  ) {}

  /**
   * Opens `runs/<id>/activations/`: inside the run's directory, so `--fresh` sets it aside with the journal. A
   * resumed run's store keeps the rows of records its journal has as judged (see ActivationStore.open).
   */
  static async open(layout: Pick<OutputLayout, 'datasetsDir'>, run: RunStore, capture: BackendCapture, dtype: ActivationDtype): Promise<RunActivations> {
    const dir = join(layout.datasetsDir, 'runs', run.runId, 'activations');
    const store = await ActivationStore.open(dir, { layers: capture.layers, positions: capture.positions, hidden: capture.hidden, dtype }, judgedIn(run));
    return new RunActivations(store, capture, run);
  }

  /** What opening repaired (rows of records the journal lost in a crash, torn bytes). */
  get warnings(): readonly string[] {
    return this.store.opening.warnings;
  }

  /**
   * Writes a judged record's activations; called before its journal line, so a journaled record always has its
   * row. A failed record has none (nothing to label them with): `retry-failed` writes them when it judges it.
   */
  async record(row: GenerationResult): Promise<void> {
    const packed = this.capture.captured.take(row.task_id, row.sample_index);
    if (packed !== undefined && row.status === 'ok') await this.store.append(row, packed);
  }

  /** The metadata's `activations`: the files with shapes and dtypes, and judged records that have no row. */
  describe(): Record<string, unknown> {
    const judged = judgedIn(this.run);
    const without = [...this.run.completedKeys()]
      .map((key) => key.split(':').map(Number) as [number, number])
      .filter(([taskId, sampleIndex]) => judged(taskId, sampleIndex) && !this.store.has(taskId, sampleIndex))
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map(([task_id, sample_index]) => ({ task_id, sample_index }));
    return {
      ...this.store.describe(),
      row_order: 'the order records were journaled; rows.npy names each row, join on (task_id, sample_index)',
      judged_without_activations: without,
    };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** Whether the run's journal has the record as judged (its latest result ok, not failed). */
function judgedIn(run: RunStore): (taskId: number, sampleIndex: number) => boolean {
  const failed = new Set(run.failedRecords().map((record) => recordKey(record.task_id, record.sample_index)));
  return (taskId, sampleIndex) => run.isCompleted(taskId, sampleIndex) && !failed.has(recordKey(taskId, sampleIndex));
}
