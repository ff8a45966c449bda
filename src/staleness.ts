/**
 * Whether an entry calculated at `calculatedAt` is stale at `now`: older than the
 * smaller of the wrapper's `staleAfter` and the call's `maxAge` (either may be absent).
 * Pure, so the clock stays in the caller's hands.
 *
 * @example isStale(0, 5_000, 1_000, undefined) // true
 */
export function isStale(
  calculatedAt: number,
  now: number,
  staleAfterMs: number | undefined,
  maxAgeMs: number | undefined,
): boolean {
  const limit = Math.min(
    staleAfterMs ?? Number.POSITIVE_INFINITY,
    maxAgeMs ?? Number.POSITIVE_INFINITY,
  );
  return now - calculatedAt >= limit;
}
