/**
 * How a database core's {@link Breaker} is set up: which failures open it, for how long,
 * and the error an operation skipped meanwhile rejects with.
 *
 * @example
 * const options: BreakerOptions = {
 *   opensOn: isConnectionFailure,
 *   pauseMs: breakerPauseMs(operationTimeoutMs),
 *   skipped: (what, cause) =>
 *     new CachierError('CACHIER_MONGODB_UNAVAILABLE', `skipped ${what}: ...`, { cause }),
 * };
 */
export interface BreakerOptions {
  /** True for a failure that says the database cannot be used now: it opens the breaker. */
  opensOn: (error: unknown) => boolean;
  /** How long the breaker stays open before one operation may probe (ms). */
  pauseMs: number;
  /**
   * The error for an operation skipped while the breaker is open; `what` names the
   * operation ("a read"), `openedBy` is the failure that opened it (its `cause`).
   */
  skipped: (what: string, openedBy: unknown) => Error;
  /** Called each time a failure opens (or reopens) the breaker, e.g. to drop a cached client. */
  onOpen?: (error: unknown) => void;
  /**
   * A monotonic clock in ms: a wall clock stepping back must not stretch the pause.
   * @default performance.now
   */
  now?: () => number;
}

/** The pause of every database core: its operation timeout, and at least a second. */
export function breakerPauseMs(operationTimeoutMs: number): number {
  return Math.max(1000, operationTimeoutMs);
}

/**
 * Spares callers a database that cannot be used now. Closed, every operation runs. A
 * failure that `opensOn` accepts opens it: for `pauseMs`, operations reject at once with
 * the `skipped` error. Then it is half-open: the next operation probes the database while
 * the others keep failing fast; if the probe fails in a way that opens the breaker, it
 * opens again for `pauseMs`, otherwise (success, or a failure that proves the database
 * reachable) it closes. Any operation that succeeds closes it.
 *
 * @example
 * const breaker = new Breaker({ opensOn, pauseMs: 1000, skipped });
 * const doc = await breaker.run('a read', () => collection.findOne({ name, key }));
 */
export class Breaker {
  private readonly options: BreakerOptions;
  private readonly now: () => number;
  /** Set while open: operations are skipped until this time, then one probes. */
  private openUntil: number | undefined;
  /** The failure that opened the breaker (the skipped errors' cause). */
  private openedBy: unknown;
  /** A probe is in flight: the others keep failing fast until it settles. */
  private probing = false;

  constructor(options: BreakerOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Runs `operation` unless the breaker is open, in which case it rejects at once with the
   * `skipped` error. The operation must settle by itself (bounded by the core's timeout):
   * while a probe is pending, every other operation is skipped.
   */
  async run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    let probe = false;
    if (this.openUntil !== undefined) {
      if (this.probing || this.now() < this.openUntil) {
        throw this.options.skipped(what, this.openedBy);
      }
      this.probing = probe = true;
    }
    try {
      const result = await operation();
      this.openUntil = undefined;
      return result;
    } catch (error) {
      if (this.options.opensOn(error)) {
        this.openUntil = this.now() + this.options.pauseMs;
        this.openedBy = error;
        this.options.onOpen?.(error);
      } else if (probe) {
        this.openUntil = undefined; // failed, but the database answered
      }
      throw error;
    } finally {
      if (probe) this.probing = false;
    }
  }
}
