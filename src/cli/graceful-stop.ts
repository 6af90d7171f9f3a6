/**
 * Ctrl+C and SIGTERM for a long run. The first signal stops new records from starting and lets those in flight
 * finish for `graceMs`; after that they are abandoned (a resume redoes them). A second signal exits at once:
 * every finished record is already fsync'd in the journal, so the state on disk stays consistent.
 *
 * Only the builder hears a signal. A terminal sends Ctrl+C to its whole foreground process group, so every child
 * a run starts (sandbox workers, nvidia-smi) leads a group of its own: the records in flight finish on live
 * workers, which the run then closes itself. On an exit at once they go with the builder (their stdin closes,
 * and they die with their parent).
 */
export class GracefulStop {
  private signal: NodeJS.Signals | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly handler = (signal: NodeJS.Signals) => this.receive(signal);

  constructor(
    private readonly options: {
      graceMs: number;
      /** Told on the first signal (what is happening, how to force). */
      onStopping: (signal: NodeJS.Signals) => void;
      /** The grace period ran out: cancel what is still in flight. */
      onAbandon: () => void;
      /** A second signal: leave now. */
      exitNow?: (code: number) => never;
    },
  ) {}

  /** Whether a stop was asked for; no new record may start once it is true. */
  get stopping(): boolean {
    return this.signal !== undefined;
  }

  get receivedSignal(): NodeJS.Signals | undefined {
    return this.signal;
  }

  install(): this {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
    return this;
  }

  uninstall(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
    clearTimeout(this.graceTimer);
  }

  private receive(signal: NodeJS.Signals): void {
    if (this.signal !== undefined) {
      (this.options.exitNow ?? process.exit)(130);
      return;
    }
    this.signal = signal;
    this.options.onStopping(signal);
    this.graceTimer = setTimeout(() => this.options.onAbandon(), this.options.graceMs);
    this.graceTimer.unref();
  }
}
