import assert from 'node:assert/strict';
import { setImmediate as nextTurn, setTimeout as sleepFor } from 'node:timers/promises';

/** The longest the kit waits for something that should happen at once (a push signal). */
export const EVENTUAL_TIMEOUT_MS = 5000;

/** Waits `ms` milliseconds. The kit sleeps only where a lease must lapse. */
export function sleep(ms: number): Promise<void> {
  return sleepFor(ms).then(() => undefined);
}

/** Yields one turn of the event loop (timers and I/O run), so concurrent loops interleave. */
export function yieldTurn(): Promise<void> {
  return nextTurn().then(() => undefined);
}

/**
 * A little more than `leaseMs`, so a lease given at the start of the sleep has surely
 * lapsed at its end: a store judges expiry on its own clock, which may read a few ms
 * behind the timer.
 */
export function pastLease(leaseMs: number): number {
  return leaseMs + Math.max(25, Math.ceil(leaseMs / 20));
}

/** Resolves when `condition` holds, checking every few ms; fails naming `what` after 5 s. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + EVENTUAL_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline)
      assert.fail(`${what} did not happen within ${EVENTUAL_TIMEOUT_MS} ms`);
    await sleep(5);
  }
}
