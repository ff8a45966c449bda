/**
 * The one source of time for the call algorithm: calculation times, staleness, wait
 * deadlines. Injectable (the `clock` option) so tests can move time instead of sleeping.
 *
 * @example
 * let now = 0;
 * const fake: Clock = { now: () => now };
 * const cached = cachier(fn, { backend: 'memory', staleAfter: 1000, clock: fake });
 * now += 2000; // every entry is stale now
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
