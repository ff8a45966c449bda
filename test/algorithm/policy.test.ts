import { describe, expect, it } from 'vitest';
import {
  FUTURE_TOLERANCE_MS,
  isStale,
  resolvePolicy,
  withCallOverrides,
} from '../../src/algorithm/policy.js';
import { pollDelayMs } from '../../src/algorithm/waiting.js';
import { NO_CALL_OPTIONS, resolveCallOptions } from '../../src/options.js';

const never = { staleAfterMs: undefined, maxAgeMs: undefined };

describe('isStale', () => {
  it('is fresh without limits, stale at exactly staleAfter', () => {
    expect(isStale(0, 1e12, never)).toBe(false);
    expect(isStale(0, 999, { staleAfterMs: 1000, maxAgeMs: undefined })).toBe(false);
    expect(isStale(0, 1000, { staleAfterMs: 1000, maxAgeMs: undefined })).toBe(true);
  });

  it('takes the smaller of staleAfter and maxAge', () => {
    expect(isStale(0, 600, { staleAfterMs: 1000, maxAgeMs: 500 })).toBe(true);
    expect(isStale(0, 600, { staleAfterMs: 500, maxAgeMs: 1000 })).toBe(true);
    expect(isStale(0, 400, { staleAfterMs: 500, maxAgeMs: 1000 })).toBe(false);
  });

  it('a negative maxAge makes every entry stale (Python cachier)', () => {
    expect(isStale(1000, 1000, { staleAfterMs: undefined, maxAgeMs: -1 })).toBe(true);
  });

  it('an entry dated far in the future is stale; a little skew is tolerated', () => {
    expect(isStale(10_000, 9_000, never)).toBe(false);
    expect(isStale(FUTURE_TOLERANCE_MS + 1001, 1000, never)).toBe(true);
  });
});

describe('policy', () => {
  it('own options win over defaults, defaults over built-ins', () => {
    const policy = resolvePolicy(
      { staleAfter: { seconds: 2 } },
      { staleAfter: 5, nextTime: true, waitForCalcTimeout: { seconds: 1 }, entrySizeLimit: '1KB' },
    );
    expect(policy).toMatchObject({
      staleAfterMs: 2000,
      nextTime: true,
      waitMs: 1000,
      allowNone: false,
      entrySizeLimit: 1024,
    });
  });

  it('per-call overrides replace staleAfter, nextTime and allowNone for one call only', () => {
    const base = resolvePolicy({ staleAfter: 1000, nextTime: true, allowNone: false }, {});
    expect(withCallOverrides(base, NO_CALL_OPTIONS)).toBe(base);
    const call = withCallOverrides(
      base,
      resolveCallOptions({ staleAfter: { minutes: 1 }, nextTime: false, allowNone: true }),
    );
    expect(call).toMatchObject({ staleAfterMs: 60_000, nextTime: false, allowNone: true });
    expect(base).toMatchObject({ staleAfterMs: 1000, nextTime: true, allowNone: false });
  });

  it('a negative maxAge is accepted per call; a negative staleAfter is not', () => {
    expect(resolveCallOptions({ maxAge: -5 }).maxAgeMs).toBe(-1);
    expect(() => resolveCallOptions({ staleAfter: -5 })).toThrow(/staleAfter must not be negative/);
    expect(() => resolveCallOptions({ signal: 'x' })).toThrow(/signal must be an AbortSignal/);
    expect(() => resolveCallOptions({ nextTim: true })).toThrow(
      /unknown per-call option 'nextTim'/,
    );
  });
});

describe('the one polling schedule', () => {
  it('is brisk for about five seconds, then backs off to one second', () => {
    expect([0, 1, 2].map(pollDelayMs)).toEqual([25, 50, 60]);
    let elapsed = 0;
    let attempt = 0;
    while (pollDelayMs(attempt) === 60 || attempt < 2) elapsed += pollDelayMs(attempt++);
    expect(elapsed).toBeGreaterThan(4500);
    expect(elapsed).toBeLessThan(5500);
    expect(pollDelayMs(200)).toBe(1000);
    for (let a = 1; a < 300; a++) expect(pollDelayMs(a)).toBeGreaterThanOrEqual(pollDelayMs(a - 1));
  });
});
