import type { Clock } from '../algorithm/clock.js';
import { CachierError } from '../errors.js';
import { MAX_TIMER_MS } from '../timeLimits.js';
import type { OncePerCodeWarner } from '../warnings.js';

/** `cleanupInterval`'s default: one hour (Python cachier's is one day). */
export const DEFAULT_CLEANUP_INTERVAL_MS = 3_600_000;

// Longer intervals than MAX_TIMER_MS (what `setInterval` takes) run on calls.
/** A timer never fires more often than this, however short the interval. */
const MIN_TIMER_MS = 1_000;

/** What one wrapper's cleanup needs from its algorithm. */
export interface CleanupTarget {
  readonly clock: Clock;
  readonly warner: OncePerCodeWarner;
  /** The current `cleanupStale` / `cleanupInterval` (they follow `setDefaultParams`). */
  settings(): { cleanupStale: boolean; cleanupIntervalMs: number };
  /** Deletes the wrapper's entries older than `staleAfter`. */
  deleteStale(): Promise<void>;
  /** Lets `settle()` wait for the cleanup. */
  keepPending(work: Promise<unknown>): void;
}

/**
 * `cleanupStale`: deletes one wrapper's stale entries in the background, at most once per
 * `cleanupInterval` (on cachier's clock), one run at a time. Runs are started by calls and
 * by a timer, so an idle wrapper is cleaned too. The timer is unref'd (it never keeps a
 * finished program alive) and holds the cleanup weakly (it never keeps a dropped wrapper
 * alive). A failed run is one `CACHIER_CLEANUP_FAILED` warning per wrapper, never a failed
 * call.
 */
export class StaleCleanup {
  private lastStart = Number.NEGATIVE_INFINITY;
  private running = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly target: CleanupTarget) {}

  /** Starts a run when one is due; returns at once. */
  poke(intervalMs: number): void {
    const now = this.target.clock.now();
    if (this.running || now - this.lastStart < intervalMs) return;
    this.lastStart = now;
    this.running = true;
    const work = this.target
      .deleteStale()
      .catch((error: unknown) => {
        this.target.warner.warn(
          'CACHIER_CLEANUP_FAILED',
          'a background cleanup of stale entries failed; calls go on, the next cleanup tries again',
          error instanceof CachierError && error.cause !== undefined ? error.cause : error,
        );
      })
      .finally(() => {
        this.running = false;
      });
    this.target.keepPending(work);
    this.startTimer(intervalMs);
  }

  private startTimer(intervalMs: number): void {
    if (this.timer !== undefined || intervalMs > MAX_TIMER_MS) return;
    const self = new WeakRef(this);
    const timer = setInterval(
      () => {
        const cleanup = self.deref();
        const settings = cleanup?.target.settings();
        if (!cleanup || !settings?.cleanupStale) {
          clearInterval(timer);
          if (cleanup) cleanup.timer = undefined;
          return;
        }
        cleanup.poke(settings.cleanupIntervalMs);
      },
      Math.max(MIN_TIMER_MS, intervalMs),
    );
    timer.unref();
    this.timer = timer;
  }
}
