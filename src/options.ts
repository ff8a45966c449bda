import type { Core } from './core.js';
import type { MongoGetter } from './cores/mongoCollection.js';
import { type DurationInput, describe, toMilliseconds } from './durations.js';
import type { CachierEventListener } from './events.js';
import { parseSize } from './sizes.js';

/**
 * Which store a wrapper uses: a built-in core by name, or any {@link Core} object.
 *
 * @example
 * const backend: Backend = process.env.CI ? 'memory' : new FileCore({ cacheDir: '/var/cache/app' });
 */
export type Backend = 'file' | 'memory' | 'mongo' | Core;

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
export interface CachierOptions<Args extends unknown[] = unknown[], This = unknown> {
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
   * For this call, a value older than this is stale (ms or a Duration).
   * @default no limit
   * @example await report.withOptions({ maxAge: { minutes: 5 } })('q3')
   */
  maxAge?: DurationInput;
}

/**
 * The options `setDefaultParams` accepts: every option but `name` and `onEvent`.
 *
 * @example
 * const defaults: DefaultParams = { backend: 'memory', staleAfter: { minutes: 10 } };
 * setDefaultParams(defaults);
 */
export type DefaultParams = Omit<CachierOptions, 'name' | 'onEvent'>;

const OPTION_NAMES = [
  'name',
  'backend',
  'cacheDir',
  'mongetter',
  'staleAfter',
  'nextTime',
  'waitForCalcTimeout',
  'allowNone',
  'hashArgs',
  'entrySizeLimit',
  'onEvent',
] as const;
const DEFAULT_PARAM_NAMES = OPTION_NAMES.filter((n) => n !== 'name' && n !== 'onEvent');
const CALL_OPTION_NAMES = ['ignoreCache', 'overwriteCache', 'verboseCache', 'maxAge'] as const;

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

function isCore(value: unknown): value is Core {
  if (value === null || typeof value !== 'object') return false;
  const core = value as Partial<Core>;
  return (
    typeof core.get === 'function' &&
    typeof core.set === 'function' &&
    typeof core.tryClaim === 'function' &&
    typeof core.waitForChange === 'function'
  );
}

/** Checks the options every kind of options object shares (wrapper and defaults). */
function validateCommon(options: Record<string, unknown>): void {
  const { backend } = options;
  if (
    backend !== undefined &&
    backend !== 'file' &&
    backend !== 'memory' &&
    backend !== 'mongo' &&
    !isCore(backend)
  ) {
    throw new TypeError(
      `cachier: unknown backend ${describe(backend)}; use 'file', 'memory', 'mongo' or a core object (new FileCore(), new MemoryCore(), new MongoCore(...))`,
    );
  }
  checkType(options.cacheDir, 'cacheDir', 'string');
  if (options.cacheDir === '') throw new TypeError('cachier: cacheDir must not be empty');
  checkType(options.mongetter, 'mongetter', 'function');
  checkType(options.nextTime, 'nextTime', 'boolean');
  checkType(options.allowNone, 'allowNone', 'boolean');
  checkType(options.hashArgs, 'hashArgs', 'function');
  if (options.staleAfter !== undefined) toMilliseconds(options.staleAfter, 'staleAfter');
  if (options.waitForCalcTimeout !== undefined) {
    toMilliseconds(options.waitForCalcTimeout, 'waitForCalcTimeout');
  }
  if (options.entrySizeLimit !== undefined) parseSize(options.entrySizeLimit, 'entrySizeLimit');
}

/** Validates a wrapper's options at wrap time; every message names the option. */
export function validateOptions(options: unknown): CachierOptions {
  if (options === undefined) return {};
  requireObject(options, 'the options argument');
  rejectUnknown(options, OPTION_NAMES, 'option');
  validateCommon(options);
  checkType(options.name, 'name', 'string');
  if (options.name === '') throw new TypeError('cachier: name must not be empty');
  checkType(options.onEvent, 'onEvent', 'function');
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
  maxAgeMs: number | undefined;
}

export const NO_CALL_OPTIONS: ResolvedCallOptions = Object.freeze({
  ignoreCache: false,
  overwriteCache: false,
  verboseCache: false,
  maxAgeMs: undefined,
});

/** Validates `withOptions(...)`'s argument once, when the bound function is made. */
export function resolveCallOptions(options: unknown): ResolvedCallOptions {
  if (options === undefined) return NO_CALL_OPTIONS;
  requireObject(options, 'withOptions() argument');
  rejectUnknown(options, CALL_OPTION_NAMES, 'per-call option');
  checkType(options.ignoreCache, 'ignoreCache', 'boolean');
  checkType(options.overwriteCache, 'overwriteCache', 'boolean');
  checkType(options.verboseCache, 'verboseCache', 'boolean');
  return {
    ignoreCache: options.ignoreCache === true,
    overwriteCache: options.overwriteCache === true,
    verboseCache: options.verboseCache === true,
    maxAgeMs: options.maxAge === undefined ? undefined : toMilliseconds(options.maxAge, 'maxAge'),
  };
}
