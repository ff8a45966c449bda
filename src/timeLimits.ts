/**
 * Time limits every part of cachier shares (the call algorithm, the cores, cleanup).
 */

/**
 * The longest delay a Node timer can wait (2^31 − 1 ms, about 24.8 days): Node runs a
 * timer set for longer after 1 ms, so a longer wait, lease or timeout must never reach one.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * How far in the future a date written by another machine may lie (its clock running
 * ahead) before it counts as wrong: an entry dated further ahead is stale, a file claim
 * dated further ahead has lapsed. A planted or mis-dated record must not hold for ever.
 */
export const FUTURE_TOLERANCE_MS = 60_000;

/**
 * `promise`'s outcome, or a rejection with `timedOut()` when `ms` pass first. With
 * `unref`, the timer does not keep the program alive: the pending operation decides.
 *
 * @example
 * await withDeadline(client.connect(), 5_000, () => new Error('no answer within 5 s'));
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  timedOut: () => Error,
  { unref = false }: { unref?: boolean } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timedOut()), ms);
    if (unref) timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
