/**
 * When this core's synchronous file-system calls average more than this (ms), its writes
 * and claims move to the thread pool for good: on a slow or network disk creating a file
 * can take milliseconds, and the event loop must not wait for that.
 */
const SLOW_SYNC_MS = 0.5;
/**
 * The average is over about the last 32 calls, each counted as at most 2 ms, so a call
 * that the OS scheduler happened to pause on a busy machine does not make a fast disk
 * look slow, while a disk that is slow call after call is noticed within a few misses.
 */
const SYNC_COST_WEIGHT = 1 / 32;
const SYNC_COST_CLIP_MS = 2;

/**
 * Whether the file core's small writes and claim operations run synchronously: they do
 * while the disk proves fast (microseconds on a local disk, where a thread-pool round
 * trip costs more than the call), and stop for good once it proves slow.
 *
 * @example
 * const budget = new SyncBudget();
 * if (budget.sync) budget.timed(() => renameSync(temp, target));
 * else await rename(temp, target);
 */
export class SyncBudget {
  /** Whether synchronous calls are still allowed. */
  sync = true;
  /** Recent average duration of the synchronous calls (ms). */
  private costMs = 0;

  /** Runs a synchronous file-system call and accounts for its duration. */
  timed<T>(call: () => T): T {
    const started = performance.now();
    try {
      return call();
    } finally {
      this.note(performance.now() - started);
    }
  }

  private note(ms: number): void {
    this.costMs += (Math.min(ms, SYNC_COST_CLIP_MS) - this.costMs) * SYNC_COST_WEIGHT;
    if (this.costMs > SLOW_SYNC_MS) this.sync = false;
  }
}
