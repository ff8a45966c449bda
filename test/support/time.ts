/**
 * The one sleep and the one wait-until of the tests. Sleep only where real concurrency or
 * a real lease needs time to pass; a test about ages or staleness uses the `clock` option.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { withDeadline } from '../../src/timeLimits.js';

/** Waits `ms` milliseconds of real time. */
export function sleep(ms: number): Promise<void> {
  return sleepFor(ms).then(() => undefined);
}

/**
 * Resolves once `predicate` holds (checked every 5 ms; it may be async); throws naming
 * `what` when it still does not after `timeoutMs`, a bound for a stuck test, not a timing
 * assertion.
 *
 * @example await until(() => events.length === 2, 5000, 'the two events');
 */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'the condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`${what} was not reached within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/**
 * `promise`, or a clear failure naming `what` when it is still pending after `ms`: a
 * bound for a call that must not hang (liveness), not a timing assertion.
 *
 * @example expect(await settlesWithin(cached('x'), 20_000, 'a claim that never lapses')).toBe(1);
 */
export function settlesWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(promise, ms, () => new Error(`still waiting after ${ms} ms: ${what}`));
}
