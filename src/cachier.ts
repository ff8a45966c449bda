import { type CachierMethodDecorator, methodDecorator } from './decorator.js';
import type { CachierOptions } from './options.js';
import { type AnyFunction, type CachedFunction, wrapFunction } from './wrap.js';

/**
 * Wraps `fn` so that repeated calls with equal arguments return the stored result:
 * across restarts (file core, the default), in one process (memory core) or across
 * machines (MongoDB core). Concurrent callers of one key wait for a single calculation.
 *
 * @example
 * import { cachier } from 'cachier';
 *
 * const fetchReport = cachier(
 *   async (id: string) => (await fetch(`https://example.com/r/${id}`)).json(),
 *   { name: 'fetchReport', staleAfter: { days: 3 } },
 * );
 * await fetchReport('q3'); // calculates and stores
 * await fetchReport('q3'); // from the cache
 */
export function cachier<F extends AnyFunction>(
  fn: F,
  options?: CachierOptions<Parameters<F>, ThisParameterType<F>>,
): CachedFunction<F>;
/**
 * Returns a method decorator with the same options; works with TypeScript 5 standard
 * decorators and with `experimentalDecorators`. The identity defaults to
 * `ClassName.methodName`.
 *
 * @example
 * class Reports {
 *   @cachier({ staleAfter: { hours: 1 } })
 *   async byId(id: string) { return load(id); }
 * }
 */
export function cachier(options?: CachierOptions): CachierMethodDecorator;
export function cachier(
  fnOrOptions?: AnyFunction | CachierOptions,
  options?: CachierOptions,
): CachedFunction<AnyFunction> | CachierMethodDecorator {
  if (typeof fnOrOptions === 'function') {
    return wrapFunction(fnOrOptions, options as CachierOptions<never[], unknown>);
  }
  if (options !== undefined) {
    throw new TypeError(
      'cachier: the first argument must be the function to wrap; options come second',
    );
  }
  return methodDecorator(fnOrOptions);
}
