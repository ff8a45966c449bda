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

/** How long the kit waits for a push signal before it makes the change again. */
const SIGNAL_RETRY_MS = 200;

/**
 * Makes `change` until `seen()` holds, waiting a little after each: a push signal may
 * start a moment after `subscribe` returned (a `LISTEN` still on its way), and a change
 * made before it started may be missed (the contract allows that: it costs the waiter
 * one poll). Fails naming `what` after {@link EVENTUAL_TIMEOUT_MS}.
 */
export async function changeUntilSeen(
  change: () => Promise<void>,
  seen: () => boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + EVENTUAL_TIMEOUT_MS;
  for (;;) {
    await change();
    const retryAt = Math.min(Date.now() + SIGNAL_RETRY_MS, deadline);
    while (!seen() && Date.now() < retryAt) await sleep(5);
    if (seen()) return;
    if (Date.now() >= deadline)
      assert.fail(`${what} did not happen within ${EVENTUAL_TIMEOUT_MS} ms`);
  }
}
