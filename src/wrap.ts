import { CallAlgorithm } from './algorithm/call.js';
import { systemClock } from './algorithm/clock.js';
import { resolveCore } from './cores/registry.js';
import { currentDefaults } from './defaults.js';
import { captureWrapSite, defaultIdentity, type WrapSite } from './identity.js';
import type { CachierMetrics } from './ops/metrics.js';
import {
  type CachierOptions,
  type CallOptions,
  NO_CALL_OPTIONS,
  type ResolvedCallOptions,
  resolveCallOptions,
  validateOptions,
} from './options.js';
import { processState } from './processState.js';
import { makeValueCodec } from './valueCodec.js';

/**
 * Any function cachier can wrap: sync or async, with or without a `this` parameter.
 * `never` for `this` and the argument list makes every function assignable to it
 * (generic ones too) with no escape hatch from type checking.
 *
 * @example
 * function describe<F extends AnyFunction>(fn: F): string { return fn.name; }
 */
export type AnyFunction = (this: never, ...args: never) => unknown;

/**
 * The call signature of a wrapped function: `F`'s `this` and parameters (optional and
 * rest ones included), and a Promise of its awaited result.
 *
 * @example
 * const greet = async (name: string, excited?: boolean) => `hi ${name}${excited ? '!' : ''}`;
 * type Call = CachedCall<typeof greet>;
 * // (this: unknown, name: string, excited?: boolean) => Promise<string>
 */
export type CachedCall<F extends AnyFunction> = (
  this: ThisParameterType<F>,
  ...args: Parameters<F>
) => Promise<Awaited<ReturnType<F>>>;

/**
 * The methods every wrapped function (and every decorated method) carries.
 *
 * @example
 * const api: CacheApi<typeof fetchReport> = cacheOf(fetchReport);
 * await api.clearCache();
 */
export interface CacheApi<F extends AnyFunction> {
  /**
   * The same function with per-call options. On a decorated method reached through an
   * instance (`obj.byId`), the returned function keeps that instance as `this`.
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
   * the stored value. Rejects when the store fails (the call path never does), with a
   * `TypeError` for `null`/`undefined` without `allowNone`, and with a `CachierError`
   * (`CACHIER_ENTRY_TOO_LARGE`) for a value over `entrySizeLimit`. On a
   * decorated method reached through an instance, `hashArgs` receives that instance as
   * `self`; reached through the class prototype, `self` is `undefined`.
   * @example await add.precacheValue([1, 2], 3)
   */
  precacheValue(
    args: Parameters<F>,
    value: Awaited<ReturnType<F>>,
  ): Promise<Awaited<ReturnType<F>>>;
  /**
   * Deletes the one stored entry for these arguments (the next call with them
   * calculates). Rejects with a `CachierError` when the store fails.
   * @example await report.clearEntry('q3')
   */
  clearEntry(...args: Parameters<F>): Promise<void>;
  /**
   * Deletes this function's entries that are older than `staleAfter` (none without it).
   * @example await report.deleteStale()
   */
  deleteStale(): Promise<void>;
  /**
   * Resolves once every calculation and background (`nextTime`) refresh this function has
   * started has settled: await it before closing a database client or exiting a script.
   * @example await report.settle(); await client.close();
   */
  settle(): Promise<void>;
  /**
   * This function's counts and latency percentiles (all zero unless `enableMetrics` is
   * on); `metrics.reset()` starts them over.
   * @example const { hits, misses } = report.metrics(); report.metrics.reset();
   */
  readonly metrics: MetricsReader;
  /**
   * The file core's folder for this function (named from its {@link cacheName});
   * `undefined` for other cores.
   * @example report.cacheDpath() // a folder in ~/.cachier named from 'my-app:src/reports:fetchReport'
   */
  cacheDpath(): string | undefined;
  /**
   * The cache identity: the `name` option exactly as given; else
   * `<package>:<module>:<function name>`, scoped by the `name` in the nearest
   * package.json of the code that wraps the function and by that file's path in the
   * package (`ClassName.methodName` for decorated methods).
   * @example report.cacheName // 'my-app:src/reports:fetchReport'
   */
  readonly cacheName: string;
}

/**
 * Reads a wrapper's metrics (`fn.metrics()`) and starts them over (`fn.metrics.reset()`).
 *
 * @example
 * const reader: MetricsReader = report.metrics;
 * console.log(reader().hits); reader.reset();
 */
export interface MetricsReader {
  (): CachierMetrics;
  /** Starts every count and latency window over. */
  reset(): void;
}

/**
 * A wrapped function: call it like the original; it always returns a Promise.
 *
 * @example
 * const add: CachedFunction<(a: number, b: number) => number> = cachier((a: number, b: number) => a + b, { name: 'add' });
 * await add(1, 2); // 3
 */
export type CachedFunction<F extends AnyFunction> = CachedCall<F> & CacheApi<F>;

/** One wrapper's algorithm and its name (internal). */
export interface WrapperCore {
  readonly algorithm: CallAlgorithm;
  readonly name: string;
}

/**
 * Finds the wrapper behind a view for a `this` (internal). Plain wrappers always return
 * the same one; a decorated method may learn its class only from the instance it is
 * called on, and throws a TypeError while it cannot tell.
 */
export type WrapperLookup = (self: unknown) => WrapperCore;

/**
 * The wrapper API of a function made by cachier, or undefined (internal; see cacheOf).
 * The registry is per process, so a wrapper made by another copy of cachier (the ESM
 * build when this is the CommonJS one) is recognised too.
 */
export function apiOf(candidate: unknown): CacheApi<AnyFunction> | undefined {
  return typeof candidate === 'function' ? processState().wrappers.get(candidate) : undefined;
}

/**
 * Fixes everything of a wrapper but its name (internal): the core, `hashArgs` and the
 * options are read from `options` and the current defaults now; `build(name)` makes the
 * algorithm. Decorators use it to fix their store when the class is defined, before
 * they know the class's name.
 */
export function planWrapper(fn: AnyFunction, valid: CachierOptions): (name: string) => WrapperCore {
  const { params } = currentDefaults();
  const core = resolveCore(valid, params);
  const hashArgs = (valid.hashArgs ?? params.hashArgs) as
    | ((args: unknown[], self: unknown) => string)
    | undefined;
  const codec = makeValueCodec(valid.serializer ?? params.serializer);
  return (name) => ({
    name,
    algorithm: new CallAlgorithm({
      name,
      core,
      fn: fn as unknown as (this: unknown, ...args: unknown[]) => unknown,
      hashArgs,
      own: {
        staleAfter: valid.staleAfter,
        nextTime: valid.nextTime,
        waitForCalcTimeout: valid.waitForCalcTimeout,
        allowNone: valid.allowNone,
        entrySizeLimit: valid.entrySizeLimit,
        verboseCache: valid.verboseCache,
        enableMetrics: valid.enableMetrics,
        cleanupStale: valid.cleanupStale,
        cleanupInterval: valid.cleanupInterval,
      },
      onEvent: valid.onEvent,
      clock: valid.clock ?? systemClock,
      codec,
      shouldCache: valid.shouldCache as ((value: unknown, args: unknown[]) => boolean) | undefined,
    }),
  });
}

/**
 * Makes a callable view of a wrapper (internal): a function that runs the call
 * algorithm, carrying the {@link CacheApi} methods. Without `bound`, calls use their own
 * `this` (like a plain function) and `precacheValue` passes `self` undefined; with it,
 * every call and every API method uses `bound.self`, so `obj.byId.withOptions(o)(id)`
 * keeps `obj`.
 */
export function makeCachedView(
  lookup: WrapperLookup,
  shape: { name: string; length: number },
  bound?: { readonly self: unknown },
): CachedFunction<AnyFunction> {
  const apiSelf = bound?.self;
  const bind = (callOptions: ResolvedCallOptions) =>
    function cached(this: unknown, ...args: unknown[]): Promise<unknown> {
      const self = bound ? bound.self : this;
      let wrapper: WrapperCore;
      try {
        wrapper = lookup(self);
      } catch (error) {
        return Promise.reject(error);
      }
      return wrapper.algorithm.call(self, args, callOptions);
    };
  const cached = bind(NO_CALL_OPTIONS);
  const api: CacheApi<AnyFunction> = {
    withOptions: (callOptions) => bind(resolveCallOptions(callOptions)) as CachedCall<AnyFunction>,
    clearCache: async () => lookup(apiSelf).algorithm.clearCache(),
    clearBeingCalculated: async () => lookup(apiSelf).algorithm.clearBeingCalculated(),
    precacheValue: async (args, value) =>
      lookup(apiSelf).algorithm.precache(apiSelf, args as unknown[], value),
    clearEntry: async (...args) => lookup(apiSelf).algorithm.clearEntry(apiSelf, args as unknown[]),
    deleteStale: async () => lookup(apiSelf).algorithm.deleteStale(),
    settle: async () => lookup(apiSelf).algorithm.settle(),
    metrics: Object.assign(() => lookup(apiSelf).algorithm.metrics(), {
      reset: () => lookup(apiSelf).algorithm.resetMetrics(),
    }),
    cacheDpath: () => lookup(apiSelf).algorithm.location(),
    get cacheName() {
      return lookup(apiSelf).name;
    },
  };
  Object.defineProperties(cached, {
    name: { value: shape.name, configurable: true },
    length: { value: shape.length, configurable: true },
    ...Object.getOwnPropertyDescriptors(api),
  });
  processState().wrappers.set(cached, api);
  return cached as unknown as CachedFunction<AnyFunction>;
}

/**
 * Wraps `fn` so that calls with equal arguments return the stored result (internal:
 * the public entry point is `cachier(fn, options)`). Without a `name` option, the
 * identity is the default one formed at `site`, the user's code that called cachier
 * (src/identity.ts); `name` is required when `fn` is anonymous.
 */
export function wrapFunction<F extends AnyFunction>(
  fn: F,
  options: CachierOptions<Parameters<F>, ThisParameterType<F>, ReturnType<F>> | undefined,
  site: WrapSite = captureWrapSite(wrapFunction, false),
): CachedFunction<F> {
  if (typeof fn !== 'function') {
    throw new TypeError(`cachier: expected a function to wrap, got ${typeof fn}`);
  }
  const valid = validateOptions(options);
  if (valid.name === undefined && !fn.name) {
    throw new TypeError(
      "cachier: an anonymous function needs a name option: cachier(fn, { name: 'my-function' })",
    );
  }
  const name = valid.name ?? defaultIdentity(site, fn.name, [fn.name], fn);
  const wrapper = planWrapper(fn, valid)(name);
  return makeCachedView(() => wrapper, {
    name: fn.name || name,
    length: fn.length,
  }) as unknown as CachedFunction<F>;
}
