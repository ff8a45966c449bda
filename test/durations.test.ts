import { describe, expect, it } from 'vitest';
import { describe as describeValue, toMilliseconds } from '../src/durations.js';

describe('toMilliseconds', () => {
  it('takes plain milliseconds as they are', () => {
    expect(toMilliseconds(0, 'staleAfter')).toBe(0);
    expect(toMilliseconds(1500, 'staleAfter')).toBe(1500);
    expect(toMilliseconds(0.5, 'staleAfter')).toBe(0.5);
  });

  it('accepts Infinity as "never"', () => {
    expect(toMilliseconds(Number.POSITIVE_INFINITY, 'staleAfter')).toBe(Number.POSITIVE_INFINITY);
  });

  it('converts date-fns Durations', () => {
    expect(toMilliseconds({ seconds: 30 }, 'staleAfter')).toBe(30_000);
    expect(toMilliseconds({ minutes: 2 }, 'staleAfter')).toBe(120_000);
    expect(toMilliseconds({ hours: 1, minutes: 30 }, 'staleAfter')).toBe(5_400_000);
    expect(toMilliseconds({ days: 3 }, 'staleAfter')).toBe(3 * 86_400_000);
    expect(toMilliseconds({ weeks: 1 }, 'staleAfter')).toBe(7 * 86_400_000);
    expect(toMilliseconds({}, 'staleAfter')).toBe(0);
  });

  it('counts months and years as date-fns does (30.436875 and 365.2425 days)', () => {
    // date-fns truncates a float product, so allow the last millisecond either way.
    const day = 86_400_000;
    expect(
      Math.abs(toMilliseconds({ years: 1 }, 'staleAfter') - 365.2425 * day),
    ).toBeLessThanOrEqual(1);
    expect(
      Math.abs(toMilliseconds({ months: 1 }, 'staleAfter') - 30.436875 * day),
    ).toBeLessThanOrEqual(1);
  });

  it('skips fields given as undefined', () => {
    expect(toMilliseconds({ hours: 1, minutes: undefined }, 'staleAfter')).toBe(3_600_000);
  });

  it('rejects negative milliseconds, naming the option', () => {
    expect(() => toMilliseconds(-1, 'waitForCalcTimeout')).toThrow(TypeError);
    expect(() => toMilliseconds(-1, 'waitForCalcTimeout')).toThrow(
      /waitForCalcTimeout must not be negative, got -1/,
    );
    expect(() => toMilliseconds(Number.NEGATIVE_INFINITY, 'maxAge')).toThrow(/maxAge/);
  });

  it('rejects NaN, naming the option', () => {
    expect(() => toMilliseconds(Number.NaN, 'staleAfter')).toThrow(TypeError);
    expect(() => toMilliseconds(Number.NaN, 'staleAfter')).toThrow(/staleAfter .*NaN/);
  });

  it('rejects a negative Duration field, naming the option and the field', () => {
    expect(() => toMilliseconds({ hours: -2 }, 'staleAfter')).toThrow(TypeError);
    expect(() => toMilliseconds({ hours: -2 }, 'staleAfter')).toThrow(
      /staleAfter\.hours must not be negative/,
    );
  });

  it('rejects a non-finite Duration field', () => {
    expect(() => toMilliseconds({ days: Number.NaN }, 'maxAge')).toThrow(
      /maxAge\.days must be a finite number/,
    );
    expect(() => toMilliseconds({ days: Number.POSITIVE_INFINITY }, 'maxAge')).toThrow(
      /maxAge\.days/,
    );
    expect(() => toMilliseconds({ days: '3' }, 'maxAge')).toThrow(/maxAge\.days/);
  });

  it('rejects an unknown Duration field and lists the valid ones', () => {
    // `hour` instead of `hours` would otherwise silently mean "0 ms".
    const attempt = () => toMilliseconds({ hour: 1 }, 'staleAfter');
    expect(attempt).toThrow(TypeError);
    expect(attempt).toThrow(/staleAfter has an unknown field 'hour'/);
    expect(attempt).toThrow(/years, months, weeks, days, hours, minutes, seconds/);
    expect(() => toMilliseconds({ milliseconds: 5 }, 'staleAfter')).toThrow(/'milliseconds'/);
  });

  it.each([
    ['a string', '3 days', /"3 days"/],
    ['null', null, /null/],
    ['an array', [1, 2], /an array/],
    ['a boolean', true, /boolean true/],
    ['a function', () => 1, /a function/],
    ['undefined', undefined, /undefined/],
  ])('rejects %s, naming the option and the value', (_label, input, shown) => {
    expect(() => toMilliseconds(input, 'staleAfter')).toThrow(TypeError);
    expect(() => toMilliseconds(input, 'staleAfter')).toThrow(
      /staleAfter must be milliseconds or a date-fns Duration/,
    );
    expect(() => toMilliseconds(input, 'staleAfter')).toThrow(shown);
  });
});

describe('describe (bad values in messages)', () => {
  it('names what was given', () => {
    expect(describeValue(null)).toBe('null');
    expect(describeValue([])).toBe('an array');
    expect(describeValue('x')).toBe('"x"');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue(new Date(0))).toBe('an object (Date)');
    expect(describeValue(Object.create(null))).toBe('an object (null prototype)');
    expect(describeValue(42)).toBe('number 42');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(true)).toBe('boolean true');
  });
});
