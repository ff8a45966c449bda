/**
 * Checks of the options every database core shares, so each core's constructor checks only
 * what is its own (a client, a prefix, a table). Messages name the core and the option,
 * never the value a user passed.
 */
import { MAX_TIMER_MS } from '../timeLimits.js';

/**
 * Throws unless `options` is an object whose keys are all in `names`.
 *
 * @example checkOptionNames('RedisCore', options, ['client', 'prefix'], 'new RedisCore({ client })');
 */
export function checkOptionNames(
  core: string,
  options: unknown,
  names: readonly string[],
  example: string,
): asserts options is object {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`cachier: ${core} needs an options object: ${example}`);
  }
  for (const option of Object.keys(options)) {
    if (!names.includes(option)) {
      throw new TypeError(
        `cachier: unknown ${core} option '${option}'. Valid ones are: ${names.join(', ')}`,
      );
    }
  }
}

/**
 * Throws unless `leaseMs` is a number from `minLeaseMs` and `operationTimeoutMs` a
 * positive number, both milliseconds at most {@link MAX_TIMER_MS}.
 *
 * @example checkTimings('MongoCore', 10_000, 200, 5_000);
 */
export function checkTimings(
  core: string,
  leaseMs: unknown,
  minLeaseMs: number,
  operationTimeoutMs: unknown,
): asserts leaseMs is number {
  if (
    typeof leaseMs !== 'number' ||
    !Number.isFinite(leaseMs) ||
    leaseMs < minLeaseMs ||
    leaseMs > MAX_TIMER_MS
  ) {
    throw new TypeError(
      `cachier: ${core} leaseMs must be a number >= ${minLeaseMs} and at most ${MAX_TIMER_MS} (milliseconds)`,
    );
  }
  if (
    typeof operationTimeoutMs !== 'number' ||
    !Number.isFinite(operationTimeoutMs) ||
    operationTimeoutMs <= 0
  ) {
    throw new TypeError(
      `cachier: ${core} operationTimeoutMs must be a positive number (milliseconds)`,
    );
  }
  if (operationTimeoutMs > MAX_TIMER_MS) {
    throw new TypeError(
      `cachier: ${core} operationTimeoutMs must be at most ${MAX_TIMER_MS} (about 24.8 days, the longest a Node timer waits)`,
    );
  }
}
