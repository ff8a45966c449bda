import { describe, expect, it } from 'vitest';
import { isStale } from '../src/staleness.js';

const T = 1_700_000_000_000;

describe('isStale', () => {
  it('is fresh just before staleAfter and stale from exactly staleAfter on', () => {
    expect(isStale(T, T + 999, 1000, undefined)).toBe(false);
    expect(isStale(T, T + 1000, 1000, undefined)).toBe(true);
    expect(isStale(T, T + 1001, 1000, undefined)).toBe(true);
  });

  it('uses maxAge alone when staleAfter is absent', () => {
    expect(isStale(T, T + 499, undefined, 500)).toBe(false);
    expect(isStale(T, T + 500, undefined, 500)).toBe(true);
  });

  it('uses the smaller of staleAfter and maxAge', () => {
    // maxAge tighter than staleAfter
    expect(isStale(T, T + 600, 1000, 500)).toBe(true);
    expect(isStale(T, T + 400, 1000, 500)).toBe(false);
    // staleAfter tighter than maxAge: a longer maxAge never makes a stale value fresh
    expect(isStale(T, T + 600, 500, 1000)).toBe(true);
    expect(isStale(T, T + 400, 500, 1000)).toBe(false);
  });

  it('never goes stale when both limits are undefined', () => {
    expect(isStale(T, T, undefined, undefined)).toBe(false);
    expect(isStale(0, Number.MAX_SAFE_INTEGER, undefined, undefined)).toBe(false);
  });

  it('treats Infinity like no limit', () => {
    expect(isStale(0, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY, undefined)).toBe(false);
  });

  it('a zero limit makes every value stale', () => {
    expect(isStale(T, T, 0, undefined)).toBe(true);
    expect(isStale(T, T, undefined, 0)).toBe(true);
    expect(isStale(T, T, 10_000, 0)).toBe(true);
  });

  it('a value from the future (clock skew) is fresh', () => {
    expect(isStale(T + 5000, T, 1000, undefined)).toBe(false);
  });
});
