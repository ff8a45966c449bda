/** Where a progress bar draws: stderr, or a stand-in in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/** Entries walked before the bar appears: a short walk draws nothing. */
const SHOW_AFTER_ENTRIES = 1000;
/** Or time spent walking before it appears (ms). */
const SHOW_AFTER_MS = 500;
/** Redraws at most this often (ms). */
const REDRAW_MS = 100;
const BAR_WIDTH = 20;

/**
 * A one-line progress bar on a terminal for commands that walk many entries: caches done
 * out of all, and entries walked. Draws nothing unless the stream is a TTY (so pipes,
 * files and `--json` output never get one), and nothing for short walks. `done()` erases it.
 *
 * @example
 * const progress = new Progress(process.stderr, { enabled: !json, caches: names.length });
 * for (const name of names) { for await (const e of core.list(name)) progress.entry(); progress.cacheDone(); }
 * progress.done();
 */
export class Progress {
  private readonly enabled: boolean;
  private readonly started: number;
  private readonly caches: number;
  private cachesDone = 0;
  private entries = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    options: { enabled: boolean; caches: number; now?: () => number },
  ) {
    this.now = options.now ?? Date.now;
    this.enabled = options.enabled && stream.isTTY === true;
    this.caches = options.caches;
    this.started = this.now();
  }

  private readonly now: () => number;

  /** One more entry walked. */
  entry(): void {
    this.entries++;
    if (this.enabled && this.entries % 50 === 0) this.maybeDraw();
  }

  /** One more cache finished. */
  cacheDone(): void {
    this.cachesDone++;
    if (this.enabled) this.maybeDraw();
  }

  /** Erases the bar, if one was drawn, so that the command's output starts on a clean line. */
  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }

  private maybeDraw(): void {
    const now = this.now();
    if (!this.drawn && this.entries < SHOW_AFTER_ENTRIES && now - this.started < SHOW_AFTER_MS) {
      return;
    }
    if (this.drawn && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.drawn = true;
    const share = this.caches === 0 ? 1 : this.cachesDone / this.caches;
    const filled = Math.round(share * BAR_WIDTH);
    const line =
      `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ` +
      `${this.cachesDone}/${this.caches} caches, ${this.entries.toLocaleString('en-US')} entries`;
    // A terminal that does not say its width (0 or undefined) gets 80 columns.
    const width = Math.max(10, (this.stream.columns || 80) - 1);
    this.stream.write(`\r\x1b[2K${line.slice(0, width)}`);
  }
}
