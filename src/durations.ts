import type { Duration } from 'date-fns';
import { milliseconds } from 'date-fns/milliseconds';

/**
 * A span of time: milliseconds, or a date-fns `Duration` such as `{ days: 3 }`.
 *
 * @example
 * const week: DurationInput = { weeks: 1 };
 * const tenSeconds: DurationInput = 10_000;
 */
export type DurationInput = number | Duration;

const DURATION_FIELDS = new Set<string>([
  'years',
  'months',
  'weeks',
  'days',
  'hours',
  'minutes',
  'seconds',
]);

/**
 * Converts a duration option to milliseconds, or throws a TypeError naming `optionName`.
 * date-fns counts a month as 30.436875 days and a year as 365.2425 days.
 *
 * @example toMilliseconds({ hours: 1, minutes: 30 }, 'staleAfter') // 5_400_000
 */
export function toMilliseconds(input: unknown, optionName: string): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) && input !== Number.POSITIVE_INFINITY) {
      throw new TypeError(`cachier: ${optionName} must be a number of milliseconds, got ${input}`);
    }
    if (input < 0) {
      throw new TypeError(`cachier: ${optionName} must not be negative, got ${input}`);
    }
    return input;
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TypeError(
      `cachier: ${optionName} must be milliseconds or a date-fns Duration like { days: 3 }, got ${describe(input)}`,
    );
  }
  for (const [field, amount] of Object.entries(input)) {
    if (!DURATION_FIELDS.has(field)) {
      throw new TypeError(
        `cachier: ${optionName} has an unknown field '${field}'; a Duration takes ${[...DURATION_FIELDS].join(', ')}`,
      );
    }
    if (amount === undefined) continue;
    if (typeof amount !== 'number' || !Number.isFinite(amount)) {
      throw new TypeError(`cachier: ${optionName}.${field} must be a finite number`);
    }
    if (amount < 0) {
      throw new TypeError(`cachier: ${optionName}.${field} must not be negative, got ${amount}`);
    }
  }
  return milliseconds(input as Duration);
}

/** A short description of a bad option value for error messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object')
    return `an object (${value.constructor?.name ?? 'null prototype'})`;
  return `${typeof value} ${String(value)}`;
}
