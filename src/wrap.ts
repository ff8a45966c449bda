import { resolveCore } from './backends.js';
import { CallAlgorithm } from './callAlgorithm.js';
import { currentDefaults } from './defaults.js';
import {
  type CachierOptions,
  type CallOptions,
  NO_CALL_OPTIONS,
  type ResolvedCallOptions,
  resolveCallOptions,
  validateOptions,
} from './options.js';

/** Any function cachier can wrap (sync or async). */
// biome-ignore lint/suspicious/noExplicitAny: `this` of the wrapped function is whatever it declares.
export type AnyFunction = (this: any, ...args: never[]) => unknown;

/** The call signature of a wrapped function: `fn`'s parameters, a Promise of its result. */
export type CachedCall<F extends AnyFunction> = (
  this: ThisParameterType<F>,
  ...args: Parameters<F>
) => Promise<Awaited<ReturnType<F>>>;

/** The methods every wrapped function carries. */
export interface CacheApi<F extends AnyFunction> {
  /**
   * The same function with per-call options.
   * @example await report.withOptions({ overwriteCache: true })('q3')
   */
  withOptions(options: CallOptions): CachedCall<F>;
  /**
   * Deletes every stored entry of this function (in its store, under its name).
   * @example await report.clearCache()
   */
  clearCache(): Promise<void>;
  /**
   * Drops this function's "being calculated" claims (locks, database claims) and forgets
   * its in-process calculations, so the next call calculates.
   * @example await report.clearBeingCalculated()
   */
  clearBeingCalculated(): Promise<void>;
  /**
   * Stores `value` as the result for `args` without calling the function; resolves to
   * the stored value. Rejects when the store fails (the call path never does).
   * @example await add.precacheValue([1, 2], 3)
   */
  precacheValue(
    args: Parameters<F>,
    value: Awaited<ReturnType<F>>,
  ): Promise<Awaited<ReturnType<F>>>;
  /**
   * Deletes this function's entries that are older than `staleAfter` (none without it).
   * @example await report.deleteStale()
   */
  deleteStale(): Promise<void>;
  /**
   * The file core's folder for this function; `undefined` for other cores.
   * @example report.cacheDpath() // '/home/me/.cachier/fetchReport'
   */
  cacheDpath(): string | undefined;
  /** The cache identity (the `name` option or the function's name). */
  readonly cacheName: string;
}

/** A wrapped function: call it like the original; it always returns a Promise. */
export type CachedFunction<F extends AnyFunction> = CachedCall<F> & CacheApi<F>;

const wrappers = new WeakMap<object, CacheApi<AnyFunction>>();

/** The wrapper API of a function made by cachier, or undefined (internal; see cacheOf). */
export function apiOf(candidate: unknown): CacheApi<AnyFunction> | undefined {
  return typeof candidate === 'function' ? wrappers.get(candidate) : undefined;
}

/**
 * Wraps `fn` so that calls with equal arguments return the stored result.
 * `name` is required when `fn` is anonymous.
 */
export function wrapFunction<F extends AnyFunction>(
  fn: F,
  options: CachierOptions<Parameters<F>, ThisParameterType<F>> | undefined,
  fallbackName?: string,
): CachedFunction<F> {
  if (typeof fn !== 'function') {
    throw new TypeError(`cachier: expected a function to wrap, got ${typeof fn}`);
  }
  const valid = validateOptions(options);
  const name = valid.name ?? fallbackName ?? fn.name;
  if (!name) {
    throw new TypeError(
      "cachier: an anonymous function needs a name option: cachier(fn, { name: 'my-function' })",
    );
  }
  const { params } = currentDefaults();
  const algorithm = new CallAlgorithm({
    name,
    core: resolveCore(valid, params),
    fn: fn as unknown as (this: unknown, ...args: unknown[]) => unknown,
    hashArgs: (valid.hashArgs ?? params.hashArgs) as
      | ((args: unknown[], self: unknown) => string)
      | undefined,
    own: {
      staleAfter: valid.staleAfter,
      nextTime: valid.nextTime,
      waitForCalcTimeout: valid.waitForCalcTimeout,
      allowNone: valid.allowNone,
      entrySizeLimit: valid.entrySizeLimit,
    },
    onEvent: valid.onEvent,
  });

  const bind = (callOptions: ResolvedCallOptions) =>
    function cached(this: unknown, ...args: unknown[]) {
      return algorithm.call(this, args, callOptions);
    };
  const cached = bind(NO_CALL_OPTIONS) as unknown as CachedFunction<F>;
  const api: CacheApi<F> = {
    withOptions: (callOptions) => bind(resolveCallOptions(callOptions)) as CachedCall<F>,
    clearCache: () => algorithm.clearCache(),
    clearBeingCalculated: () => algorithm.clearBeingCalculated(),
    precacheValue: (args, value) =>
      algorithm.precache(undefined, args as unknown[], value) as Promise<Awaited<ReturnType<F>>>,
    deleteStale: () => algorithm.deleteStale(),
    cacheDpath: () => algorithm.location(),
    cacheName: name,
  };
  Object.defineProperties(cached, {
    name: { value: fn.name || name, configurable: true },
    length: { value: fn.length, configurable: true },
  });
  Object.assign(cached, api);
  wrappers.set(cached, api as unknown as CacheApi<AnyFunction>);
  return cached;
}
