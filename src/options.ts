import type { Clock } from './algorithm/clock.js';
import type { AnyCore } from './cores/contract.js';
import type { MongoGetter } from './cores/mongoCollection.js';
import type { PgPoolSource } from './cores/postgres.js';
import type { RedisClientSource } from './cores/redisClient.js';
import { BACKEND_NAMES, type BackendName } from './cores/registry.js';
import { type DurationInput, describe, toMilliseconds } from './durations.js';
import type { CachierEventListener } from './events.js';
import { parseSize } from './sizes.js';
import type { Serializer } from './valueCodec.js';

/**
 * Which store a wrapper uses: a built-in core by name, or any {@link Core} object.
 *
 * @example
 * const backend: Backend = process.env.CI ? 'memory' : new FileCore({ cacheDir: '/var/cache/app' });
 */
export type Backend = BackendName | AnyCore;

/**
 * Options of {@link cachier}. Every option may be omitted; `setDefaultParams` changes
 * the defaults of all wrappers. `Args` and `This` are the wrapped function's parameters
 * and `this`: they type `hashArgs`.
 *
 * @example
 * const options: CachierOptions<[id: string]> = {
 *   staleAfter: { hours: 1 },
 *   hashArgs: ([id]) => id.toLowerCase(),
 * };
 * const byId = cachier(async (id: string) => load(id), { name: 'byId', ...options });
 */
export interface CachierOptions<
  Args extends unknown[] = unknown[],
  This = unknown,
  Result = unknown,
> {
  /**
   * The cache's identity: the file core's folder name, the MongoDB core's `name` field.
   * Used exactly as given: two wrappers with one name and one store share their entries
   * (that is how two programs share on purpose).
   * @default `<package>:<module>:<function name>` (`ClassName.methodName` for decorated
   * methods): the `name` in the nearest package.json of the wrapping file, and that file's
   * path in its package without extension
   * @example cachier(fetchReport, { name: 'reports-v2' })
   */
  name?: string;
  /**
   * Where entries live: `'file'` (one file per entry under `cacheDir`), `'memory'` (this
   * process and thread), `'mongo'` (needs `mongetter`), or a core object such as
   * `new FileCore({ cacheDir })`.
   * @default 'file'
   * @example cachier(fn, { backend: 'memory' })
   */
  backend?: Backend;
  /**
   * The file core's root folder; a leading `~` is the home folder.
   * @default '~/.cachier'
   * @example cachier(fn, { cacheDir: '/var/cache/myapp' })
   */
  cacheDir?: string;
  /**
   * Returns the `mongodb` Collection to cache in; selects the MongoDB core.
   * @example cachier(fn, { mongetter: () => client.db('app').collection('cache') })
   */
  mongetter?: MongoGetter;
  /**
   * A connected node-redis client (from `createClient()`), or a function returning one or
   * a promise of one; selects the Redis core. cachier never closes it.
   * @example cachier(fn, { redisClient: await createClient({ url }).connect() })
   */
  redisClient?: RedisClientSource;
  /**
   * A `pg` Pool, or a function returning one; selects the PostgreSQL core. cachier never
   * ends it.
   * @example cachier(fn, { pgPool: new pg.Pool({ connectionString }) })
   */
  pgPool?: PgPoolSource;
  /**
   * Age after which a stored value is stale: milliseconds or a date-fns `Duration`.
   * @default never stale
   * @example cachier(fn, { staleAfter: { days: 3 } })
   */
  staleAfter?: DurationInput;
  /**
   * On a stale hit, return the stale value at once and refresh it in the background
   * (one refresh per key across processes).
   * @default false
   * @example cachier(fn, { staleAfter: { hours: 1 }, nextTime: true })
   */
  nextTime?: boolean;
  /**
   * How long a call waits for another caller's calculation before calculating itself;
   * `0` waits as long as the calculating owner is alive.
   * @default 0
   * @example cachier(fn, { waitForCalcTimeout: { seconds: 30 } })
   */
  waitForCalcTimeout?: DurationInput;
  /**
   * Store `null` and `undefined` results too (otherwise they are returned, not stored).
   * @default false
   * @example cachier(findUser, { allowNone: true })
   */
  allowNone?: boolean;
  /**
   * Builds the key yourself; its string is hashed before it names a file or document.
   * Receives the argument list and, for methods, the instance (`this`).
   * @default a canonical encoding of the arguments, SHA-256 hashed
   * @example cachier(fn, { hashArgs: ([user]) => user.id })
   */
  hashArgs?: (args: Args, self: This) => string;
  /**
   * Results whose serialized size exceeds this are returned but not stored: bytes, or
   * a string such as `'10KB'`, `'10MB'`, `'1GB'` (powers of 1024).
   * @default no limit
   * @example cachier(fn, { entrySizeLimit: '10MB' })
   */
  entrySizeLimit?: number | string;
  /**
   * Print one line per cache decision of every call to stderr (as `withOptions({
   * verboseCache })` does for one call). `NODE_DEBUG=cachier` turns it on everywhere.
   * @default false
   * @example setDefaultParams({ verboseCache: true })
   */
  verboseCache?: boolean;
  /**
   * Count this wrapper's hits, misses, calculations, waits and failures and time them;
   * read with `fn.metrics()`, expose with `cachier/prometheus`. Off, calls pay nothing.
   * @default false
   * @example setDefaultParams({ enableMetrics: true })
   */
  enableMetrics?: boolean;
  // Stale-entry cleanup (src/ops/cleanup.ts).
  /**
   * Delete this wrapper's entries older than `staleAfter` in the background, at most once
   * per `cleanupInterval`, as Python cachier's `cleanup_stale` does: started by calls and
   * by an unref'd timer (it never keeps the process alive). Needs `staleAfter`. A failed
   * cleanup is one `CACHIER_CLEANUP_FAILED` warning, never a failed call.
   * @default false
   * @example cachier(fn, { staleAfter: { hours: 1 }, cleanupStale: true })
   */
  cleanupStale?: boolean;
  /**
   * How often `cleanupStale` runs at most: milliseconds or a date-fns `Duration`.
   * @default { hours: 1 }
   * @example setDefaultParams({ cleanupStale: true, cleanupInterval: { minutes: 10 } })
   */
  cleanupInterval?: DurationInput;
  /**
   * Decides whether a result is stored (it is returned either way), e.g. to keep empty
   * search results out of the cache. A value kept out is a `not-stored` event with the
   * reason `'should-cache'`, not a warning. A predicate that throws keeps the value out.
   * @default every result is stored (but `null`/`undefined` only with `allowNone`)
   * @example cachier(search, { shouldCache: (hits) => hits.length > 0 })
   */
  shouldCache?: (value: Awaited<Result>, args: Args) => boolean;
  /**
   * The clock for calculation times, staleness and wait deadlines: inject a fake one in
   * tests to move time instead of sleeping. Claim leases stay on the store's own clock.
   * @default `Date.now`
   * @example cachier(fn, { backend: 'memory', staleAfter: 1000, clock: { now: () => fakeNow } })
   */
  clock?: Clock;
  /**
   * Turns results into bytes and back instead of node:v8, for results node:v8 would not give
   * back as they were (class instances, for example): those are otherwise returned but not
   * stored. Fixed when the wrapper is made. Entries written with node:v8 are misses for a
   * custom serializer and the other way round; after switching from one custom serializer
   * to another, change `name` or clear the cache.
   * @default node:v8, refusing values it would change
   * @example
   * superjson.registerClass(Invoice);
   * cachier(loadInvoice, {
   *   serializer: {
   *     serialize: (value) => Buffer.from(superjson.stringify(value)),
   *     deserialize: (bytes) => superjson.parse(Buffer.from(bytes).toString()),
   *   },
   * });
   */
  serializer?: Serializer;
  /**
   * Receives every cache decision as a typed event (hits, misses, waits, store errors):
   * for metrics and logs.
   * @example cachier(fn, { onEvent: (e) => metrics.count(e.type) })
   */
  onEvent?: CachierEventListener;
}

/**
 * Per-call options of `withOptions`.
 *
 * @example
 * await report.withOptions({ maxAge: { minutes: 5 }, verboseCache: true })('q3');
 */
export interface CallOptions {
  /**
   * Neither read nor write the cache for this call.
   * @default false
   * @example await report.withOptions({ ignoreCache: true })('q3')
   */
  ignoreCache?: boolean;
  /**
   * Do not read; calculate, store and return a new value.
   * @default false
   * @example await report.withOptions({ overwriteCache: true })('q3')
   */
  overwriteCache?: boolean;
  /**
   * Print one line per cache decision of this call.
   * @default false
   * @example await report.withOptions({ verboseCache: true })('q3')
   */
  verboseCache?: boolean;
  /**
   * For this call, a value older than this is stale (ms or a Duration). A negative
   * number means "always recalculate", as in Python cachier.
   * @default no limit
   * @example await report.withOptions({ maxAge: { minutes: 5 } })('q3')
   */
  maxAge?: DurationInput;
  /**
   * Replaces the wrapper's `staleAfter` for this call (Python's `cachier__stale_after`).
   * @default the wrapper's
   * @example await report.withOptions({ staleAfter: { hours: 1 } })('q3')
   */
  staleAfter?: DurationInput;
  /**
   * Replaces the wrapper's `nextTime` for this call (Python's `cachier__next_time`).
   * @default the wrapper's
   * @example await report.withOptions({ nextTime: true })('q3')
   */
  nextTime?: boolean;
  /**
   * Replaces the wrapper's `allowNone` for this call (Python's `cachier__allow_none`).
   * @default the wrapper's
   * @example await findUser.withOptions({ allowNone: true })('u1')
   */
  allowNone?: boolean;
  /**
   * Stops this caller's wait: when it aborts, the call rejects with the signal's reason
   * at once (an already aborted signal rejects before any work). A calculation other
   * callers share goes on and is still stored.
   * @example await report.withOptions({ signal: AbortSignal.timeout(2000) })('q3')
   */
  signal?: AbortSignal;
}

/**
 * The options `setDefaultParams` accepts: every option but `name` and `onEvent`.
 *
 * @example
 * const defaults: DefaultParams = { backend: 'memory', staleAfter: { minutes: 10 } };
 * setDefaultParams(defaults);
 */
export type DefaultParams = Omit<CachierOptions, 'name' | 'onEvent' | 'shouldCache' | 'clock'>;

const OPTION_NAMES = [
  'name',
  'backend',
  'cacheDir',
  'mongetter',
  'redisClient',
  'pgPool',
  'staleAfter',
  'nextTime',
  'waitForCalcTimeout',
  'allowNone',
  'hashArgs',
  'entrySizeLimit',
  'serializer',
  'onEvent',
  'shouldCache',
  'clock',
  'verboseCache',
  'enableMetrics',
  'cleanupStale',
  'cleanupInterval',
] as const;
const WRAPPER_ONLY: readonly string[] = ['name', 'onEvent', 'shouldCache', 'clock'];
const DEFAULT_PARAM_NAMES = OPTION_NAMES.filter((n) => !WRAPPER_ONLY.includes(n));
const CALL_OPTION_NAMES = [
  'ignoreCache',
  'overwriteCache',
  'verboseCache',
  'maxAge',
  'staleAfter',
  'nextTime',
  'allowNone',
  'signal',
] as const;

function rejectUnknown(given: object, known: readonly string[], where: string): void {
  for (const option of Object.keys(given)) {
    if (!known.includes(option)) {
      throw new TypeError(
        `cachier: unknown ${where} '${option}'. Valid ones are: ${known.join(', ')}`,
      );
    }
  }
}

function requireObject(value: unknown, what: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`cachier: ${what} must be an object, got ${describe(value)}`);
  }
}

function checkType(value: unknown, option: string, type: 'boolean' | 'string' | 'function'): void {
  if (value !== undefined && typeof value !== type) {
    throw new TypeError(`cachier: ${option} must be a ${type}, got ${describe(value)}`);
  }
}

/**
 * Describes a bad value of an option that reaches a database (`backend`, `mongetter`,
 * `redisClient`, `pgPool`). A string there is often a connection URL with a password in
 * it, so it is quoted only when it reads like a backend name.
 */
function describeConnection(value: unknown): string {
  if (typeof value !== 'string') return describe(value);
  return /^[A-Za-z_-]{1,20}$/.test(value) ? describe(value) : 'a string';
}

const CORE_METHODS = ['get', 'set', 'tryClaim', 'delete', 'clear', 'clearClaims', 'deleteStale'];

function isCore(value: unknown): value is AnyCore {
  if (value === null || typeof value !== 'object') return false;
  const core = value as Record<string, unknown>;
  return CORE_METHODS.every((method) => typeof core[method] === 'function');
}

/** Checks the options every kind of options object shares (wrapper and defaults). */
function validateCommon(options: Record<string, unknown>): void {
  const { backend } = options;
  if (
    backend !== undefined &&
    !(BACKEND_NAMES as unknown[]).includes(backend) &&
    !isCore(backend)
  ) {
    throw new TypeError(
      `cachier: unknown backend ${describeConnection(backend)}; use ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')} or a core object with the methods ${CORE_METHODS.join(', ')}`,
    );
  }
  checkType(options.cacheDir, 'cacheDir', 'string');
  if (options.cacheDir === '') throw new TypeError('cachier: cacheDir must not be empty');
  if (options.mongetter !== undefined && typeof options.mongetter !== 'function') {
    throw new TypeError(
      `cachier: mongetter must be a function, got ${describeConnection(options.mongetter)}`,
    );
  }
  for (const option of ['redisClient', 'pgPool'] as const) {
    const value = options[option];
    if (
      value !== undefined &&
      (value === null || (typeof value !== 'object' && typeof value !== 'function'))
    ) {
      throw new TypeError(
        `cachier: ${option} must be a client object or a function returning one, got ${describeConnection(value)}`,
      );
    }
  }
  checkType(options.nextTime, 'nextTime', 'boolean');
  checkType(options.allowNone, 'allowNone', 'boolean');
  checkType(options.hashArgs, 'hashArgs', 'function');
  checkType(options.verboseCache, 'verboseCache', 'boolean');
  checkType(options.enableMetrics, 'enableMetrics', 'boolean');
  checkType(options.cleanupStale, 'cleanupStale', 'boolean');
  if (options.cleanupInterval !== undefined) {
    toMilliseconds(options.cleanupInterval, 'cleanupInterval');
  }
  if (options.staleAfter !== undefined) toMilliseconds(options.staleAfter, 'staleAfter');
  if (options.waitForCalcTimeout !== undefined) {
    toMilliseconds(options.waitForCalcTimeout, 'waitForCalcTimeout');
  }
  if (options.entrySizeLimit !== undefined) parseSize(options.entrySizeLimit, 'entrySizeLimit');
  if (options.serializer !== undefined) checkSerializer(options.serializer);
}

function checkSerializer(serializer: unknown): void {
  if (serializer === null || typeof serializer !== 'object') {
    throw new TypeError(
      `cachier: serializer must be an object with serialize and deserialize functions, got ${describe(serializer)}`,
    );
  }
  for (const method of ['serialize', 'deserialize'] as const) {
    const fn: unknown = (serializer as Record<string, unknown>)[method];
    if (typeof fn !== 'function') {
      throw new TypeError(`cachier: serializer.${method} must be a function, got ${describe(fn)}`);
    }
  }
}

/** Validates a wrapper's options at wrap time; every message names the option. */
export function validateOptions(options: unknown): CachierOptions {
  if (options === undefined) return {};
  requireObject(options, 'the options argument');
  rejectUnknown(options, OPTION_NAMES, 'option');
  validateCommon(options);
  checkType(options.name, 'name', 'string');
  if (options.name === '') throw new TypeError('cachier: name must not be empty');
  // Stores encode names as UTF-8, which turns every lone surrogate into U+FFFD: two names
  // that differ only there would share one cache.
  if (typeof options.name === 'string' && /\p{Surrogate}/u.test(options.name)) {
    throw new TypeError('cachier: name must be well-formed Unicode text (it has a lone surrogate)');
  }
  checkType(options.onEvent, 'onEvent', 'function');
  checkType(options.shouldCache, 'shouldCache', 'function');
  if (
    options.clock !== undefined &&
    (options.clock === null || typeof (options.clock as Clock).now !== 'function')
  ) {
    throw new TypeError(
      `cachier: clock must be an object with a now() method, got ${describe(options.clock)}`,
    );
  }
  return options as CachierOptions;
}

/** Validates the argument of `setDefaultParams`. */
export function validateDefaultParams(params: unknown): DefaultParams {
  requireObject(params, 'setDefaultParams() argument');
  rejectUnknown(params, DEFAULT_PARAM_NAMES, 'default parameter');
  validateCommon(params);
  return params as DefaultParams;
}

/** The per-call options after validation, durations in milliseconds. */
export interface ResolvedCallOptions {
  ignoreCache: boolean;
  overwriteCache: boolean;
  verboseCache: boolean;
  /** Negative: always recalculate. */
  maxAgeMs: number | undefined;
  staleAfterMs: number | undefined;
  nextTime: boolean | undefined;
  allowNone: boolean | undefined;
  signal: AbortSignal | undefined;
  /** Whether any option changes the wrapper's policy (so a plain call skips merging). */
  overridesPolicy: boolean;
}

export const NO_CALL_OPTIONS: ResolvedCallOptions = Object.freeze({
  ignoreCache: false,
  overwriteCache: false,
  verboseCache: false,
  maxAgeMs: undefined,
  staleAfterMs: undefined,
  nextTime: undefined,
  allowNone: undefined,
  signal: undefined,
  overridesPolicy: false,
});

function maxAgeOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  // Python cachier: a negative max age means "always recalculate".
  if (typeof value === 'number' && value < 0) return -1;
  return toMilliseconds(value, 'maxAge');
}

/** Validates `withOptions(...)`'s argument once, when the bound function is made. */
export function resolveCallOptions(options: unknown): ResolvedCallOptions {
  if (options === undefined) return NO_CALL_OPTIONS;
  requireObject(options, 'withOptions() argument');
  rejectUnknown(options, CALL_OPTION_NAMES, 'per-call option');
  checkType(options.ignoreCache, 'ignoreCache', 'boolean');
  checkType(options.overwriteCache, 'overwriteCache', 'boolean');
  checkType(options.verboseCache, 'verboseCache', 'boolean');
  checkType(options.nextTime, 'nextTime', 'boolean');
  checkType(options.allowNone, 'allowNone', 'boolean');
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`cachier: signal must be an AbortSignal, got ${describe(signal)}`);
  }
  const resolved: ResolvedCallOptions = {
    ignoreCache: options.ignoreCache === true,
    overwriteCache: options.overwriteCache === true,
    verboseCache: options.verboseCache === true,
    maxAgeMs: maxAgeOf(options.maxAge),
    staleAfterMs:
      options.staleAfter === undefined
        ? undefined
        : toMilliseconds(options.staleAfter, 'staleAfter'),
    nextTime: options.nextTime as boolean | undefined,
    allowNone: options.allowNone as boolean | undefined,
    signal: signal as AbortSignal | undefined,
    overridesPolicy: false,
  };
  resolved.overridesPolicy =
    resolved.maxAgeMs !== undefined ||
    resolved.staleAfterMs !== undefined ||
    resolved.nextTime !== undefined ||
    resolved.allowNone !== undefined;
  return resolved;
}
