import { describe } from './durations.js';
import { type AnyFunction, apiOf, type CachedFunction } from './wrap.js';

/**
 * The wrapper API of a function made by cachier, typed by that function's parameters and
 * result. Needed for decorated methods: TypeScript cannot change a decorated method's
 * type, so `obj.byId.withOptions` does not type-check although it works at run time.
 * Returns its argument itself, typed as a {@link CachedFunction}; reached through an
 * instance (`obj.byId`), every method of it keeps `obj` as `this`.
 *
 * @throws TypeError when `fn` was not made by cachier (for example when another
 * decorator wraps the cached method: put `@cachier()` above the others).
 *
 * @example
 * class Reports {
 *   @cachier() async byId(id: string): Promise<Report> { return load(id); }
 * }
 * const reports = new Reports();
 * await cacheOf(reports.byId).withOptions({ overwriteCache: true })('7');
 * await cacheOf(reports.byId).clearCache();
 * // Through the prototype: standard decorators learn the class from the first instance,
 * // so before one exists this throws a TypeError unless the decorator has a `name`.
 * cacheOf(Reports.prototype.byId).cacheName; // 'my-app:src/reports:Reports.byId'
 */
export function cacheOf<F extends AnyFunction>(fn: F): CachedFunction<F> {
  if (apiOf(fn) === undefined) {
    const what =
      typeof fn === 'function' ? `the function '${fn.name || 'anonymous'}'` : describe(fn);
    throw new TypeError(
      `cachier: cacheOf() expects a function made by cachier (cachier(fn) or a method decorated with @cachier()), got ${what}`,
    );
  }
  return fn as unknown as CachedFunction<F>;
}
