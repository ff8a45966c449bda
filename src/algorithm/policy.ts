import { debuglog } from 'node:util';
import { currentDefaults } from '../defaults.js';
import { toMilliseconds } from '../durations.js';
import { DEFAULT_CLEANUP_INTERVAL_MS } from '../ops/cleanup.js';
import type { ResolvedCallOptions } from '../options.js';
import { processState } from '../processState.js';
import { parseSize } from '../sizes.js';
import { FUTURE_TOLERANCE_MS } from '../timeLimits.js';

/** Re-exported for the tests of the staleness rule. */
export { FUTURE_TOLERANCE_MS };

/** The options of a wrapper that follow `setDefaultParams` when the wrapper left them out. */
export interface LivePolicyOptions {
  staleAfter?: unknown;
  nextTime?: boolean | undefined;
  waitForCalcTimeout?: unknown;
  allowNone?: boolean | undefined;
  entrySizeLimit?: unknown;
  verboseCache?: boolean | undefined;
  enableMetrics?: boolean | undefined;
  cleanupStale?: boolean | undefined;
  cleanupInterval?: unknown;
}

/** `NODE_DEBUG=cachier` turns verbose lines on without code changes (the Node convention). */
const DEBUG_FROM_ENVIRONMENT = debuglog('cachier').enabled;

/** The policy of one call: durations and sizes already converted. */
export interface Policy {
  staleAfterMs: number | undefined;
  nextTime: boolean;
  waitMs: number;
  allowNone: boolean;
  entrySizeLimit: number | undefined;
  /** The call's `maxAge`; negative means "always recalculate". */
  maxAgeMs: number | undefined;
  /** Print one line per decision (stderr). */
  verbose: boolean;
  /** Count and time this wrapper's decisions (`fn.metrics()`). */
  metrics: boolean;
  /** Delete stale entries in the background (`cleanupStale`), at most once per interval. */
  cleanupStale: boolean;
  cleanupIntervalMs: number;
}

/** The wrapper's policy from its own options and the defaults (pure). */
export function resolvePolicy(own: LivePolicyOptions, defaults: LivePolicyOptions): Policy {
  const staleAfter = own.staleAfter ?? defaults.staleAfter;
  const wait = own.waitForCalcTimeout ?? defaults.waitForCalcTimeout;
  const sizeLimit = own.entrySizeLimit ?? defaults.entrySizeLimit;
  return {
    staleAfterMs: staleAfter === undefined ? undefined : toMilliseconds(staleAfter, 'staleAfter'),
    nextTime: own.nextTime ?? defaults.nextTime ?? false,
    waitMs: wait === undefined ? 0 : toMilliseconds(wait, 'waitForCalcTimeout'),
    allowNone: own.allowNone ?? defaults.allowNone ?? false,
    entrySizeLimit: sizeLimit === undefined ? undefined : parseSize(sizeLimit, 'entrySizeLimit'),
    maxAgeMs: undefined,
    verbose: own.verboseCache ?? defaults.verboseCache ?? DEBUG_FROM_ENVIRONMENT,
    metrics: own.enableMetrics ?? defaults.enableMetrics ?? false,
    cleanupStale: own.cleanupStale ?? defaults.cleanupStale ?? false,
    cleanupIntervalMs: toMilliseconds(
      own.cleanupInterval ?? defaults.cleanupInterval ?? DEFAULT_CLEANUP_INTERVAL_MS,
      'cleanupInterval',
    ),
  };
}

/** A call's policy: the wrapper's, with that call's `withOptions` overrides (pure). */
export function withCallOverrides(base: Policy, call: ResolvedCallOptions): Policy {
  if (!call.overridesPolicy) return base;
  return {
    ...base,
    staleAfterMs: call.staleAfterMs === undefined ? base.staleAfterMs : call.staleAfterMs,
    nextTime: call.nextTime ?? base.nextTime,
    allowNone: call.allowNone ?? base.allowNone,
    maxAgeMs: call.maxAgeMs,
    verbose: base.verbose,
    metrics: base.metrics,
  };
}

/**
 * Whether an entry calculated at `calculatedAt` is stale at `now`: older than the smaller
 * of `staleAfter` and the call's `maxAge` (a negative `maxAge` makes every entry stale,
 * as in Python cachier), or dated more than {@link FUTURE_TOLERANCE_MS} in the future.
 *
 * @example isStale(0, 5_000, { staleAfterMs: 1_000, maxAgeMs: undefined }) // true
 */
export function isStale(
  calculatedAt: number,
  now: number,
  policy: Pick<Policy, 'staleAfterMs' | 'maxAgeMs'>,
): boolean {
  const age = now - calculatedAt;
  if (age < -FUTURE_TOLERANCE_MS) return true;
  const { staleAfterMs, maxAgeMs } = policy;
  if (staleAfterMs !== undefined && age >= staleAfterMs) return true;
  return maxAgeMs !== undefined && (maxAgeMs < 0 || age >= maxAgeMs);
}

/**
 * The wrapper's policy, re-resolved only when `setDefaultParams` changed something
 * (defaults carry a version), so a hit costs one comparison.
 */
export class LivePolicy {
  private policy: Policy | undefined;
  private version = -1;

  constructor(private readonly own: LivePolicyOptions) {}

  current(): Policy {
    if (this.policy !== undefined && processState().defaultsVersion === this.version) {
      return this.policy;
    }
    const { params, version } = currentDefaults();
    this.policy = resolvePolicy(this.own, params);
    this.version = version;
    return this.policy;
  }
}
