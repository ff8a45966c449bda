import type { AnyCore } from '../cores/contract.js';
import { onLocalChange } from './localSignals.js';

/**
 * The one polling schedule, the fallback for every core: brisk at first (most awaited
 * calculations end within seconds: 25 ms, 50 ms, then every 60 ms for about 5 s), then
 * backing off to once a second so long calculations do not load the store. Polling is
 * also how a dead owner's lapsed claim is noticed when no signal arrives.
 */
export function pollDelayMs(attempt: number): number {
  if (attempt < 2) return 25 * 2 ** attempt;
  if (attempt < 82) return 60;
  return Math.min(60 * 2 ** (attempt - 81), 1000);
}

/**
 * ±25 % of random jitter, so that waiters in many processes woken by one event do not
 * poll (and try to take over a lapsed claim) in lockstep.
 */
function jittered(ms: number, random: () => number): number {
  return ms * (0.75 + random() / 2);
}

/** A pause after a push signal before looking again: spreads the waiters that one event woke. */
const SIGNAL_JITTER_MS = 2;

/**
 * Resolves when the key may have changed (a same-process signal, the core's push signal),
 * when the poll delay for `attempt` elapses, or when `signal` aborts: the caller then
 * looks again. Never rejects: a failing push subscription only leaves the poll.
 */
export function waitForChange(
  core: AnyCore,
  name: string,
  key: string,
  attempt: number,
  signal: AbortSignal,
  random: () => number = Math.random,
): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let stopLocal: (() => void) | undefined;
    let stopRemote: (() => void) | undefined;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      stopLocal?.();
      try {
        stopRemote?.();
      } catch {
        // An unsubscribe that fails leaves nothing of ours to clean up.
      }
      resolve();
    };
    const woken = () => {
      if (settled) return;
      clearTimeout(timer);
      timer = setTimeout(done, random() * SIGNAL_JITTER_MS);
    };
    // Ref'd: a pending call depends on this wait (it is the user's work).
    timer = setTimeout(done, jittered(pollDelayMs(attempt), random));
    stopLocal = onLocalChange(core, name, key, done);
    if (core.subscribe) {
      try {
        stopRemote = core.subscribe(name, key, woken);
      } catch {
        // No push signal this time: the poll carries on alone.
      }
    }
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}
