import {
  type CachierMethodDecorator,
  type DecoratorMisuse,
  looksLikeDecoratorCall,
  methodDecorator,
} from './decorator.js';
import { describe } from './durations.js';
import { captureWrapSite } from './identity.js';
import type { CachierOptions } from './options.js';
import { type AnyFunction, type CachedFunction, wrapFunction } from './wrap.js';

/**
 * Keeps `@cachier` (no parentheses) from fitting the `cachier(fn, options)` overload: a
 * standard decorator's context has a `name`, so it would pass for options.
 */
interface NotADecoratorContext {
  readonly addInitializer?: never;
}

// The overloads' order decides which errors TypeScript lists first when no overload fits
// (it lists the candidates in declaration order): the options overload comes before the
// function overload, so that `cachier({ staleAfer: 1 })` reports "did you mean
// 'staleAfter'" first, and both before the decorator-misuse overloads, so that
// `cachier(fn, { staleAfer: 1 })` does too (test/types/misspelledOption.test.ts).
/**
 * Returns a decorator with these options, for methods and for plain functions:
 * `cachier(options)(fn)` is `cachier(fn, options)` (same type; the default identity is
 * scoped by the module where the returned function is applied). As a method decorator
 * it works with TypeScript 5 standard decorators (the default) and with
 * `experimentalDecorators: true`, on instance and static methods that return a Promise. The identity defaults to
 * `<package>:<module>:ClassName.methodName`, scoped by the package and file that define
 * the class (see the `name` option to pin it); `this` is kept and is not part of the key (`hashArgs` receives it as its second
 * argument). `obj.method` carries the wrapper's methods, bound to `obj`; use
 * {@link cacheOf} to reach them with types.
 *
 * @example
 * class Reports {
 *   @cachier({ staleAfter: { hours: 1 } })
 *   async byId(id: string): Promise<Report> { return load(id); }
 * }
 * const reports = new Reports();
 * await reports.byId('7');
 * await cacheOf(reports.byId).withOptions({ overwriteCache: true })('7');
 *
 * const fetchReport = cachier({ staleAfter: { days: 3 } })(async function fetchReport(id: string) {
 *   return load(id);
 * });
 */
export function cachier<Args extends unknown[] = unknown[], This = unknown>(
  options?: CachierOptions<Args, This>,
): CachierMethodDecorator<Args, This>;
/**
 * Wraps `fn` so that repeated calls with equal arguments return the stored result:
 * across restarts (file core, the default), in one process (memory core) or across
 * machines (MongoDB core). Concurrent callers of one key wait for a single calculation.
 * Without a `name` option the identity is `<package>:<module>:<function name>`: the
 * `name` in the nearest package.json of the calling file, that file's path in its
 * package without extension, and `fn.name`; an anonymous or minified-looking (one- or
 * two-letter) function needs `name`. The wrapper has `fn`'s `this` and parameter types and returns
 * `Promise<Awaited<ReturnType<F>>>`. (A generic `fn` loses its type parameters; wrap an
 * instantiation such as `cachier(parse<Config>, ...)` to keep exact types.)
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
// `F` has no `this` in its constraint: AnyFunction's `this: never` would become the
// `this` of a function expression passed inline (`cachier(async function f() {})`).
export function cachier<F extends (...args: never) => unknown>(
  fn: F,
  options?: CachierOptions<Parameters<F>, ThisParameterType<F>, ReturnType<F>> &
    NotADecoratorContext,
): CachedFunction<F>;
/**
 * Catches `@cachier` written without parentheses (standard decorators): TypeScript
 * reports this message; at run time it is a TypeError. Write `@cachier()`.
 *
 * @example
 * class Reports { @cachier() async byId(id: string) { return load(id); } } // parentheses!
 */
export function cachier(
  method: AnyFunction,
  context: ClassMethodDecoratorContext,
): DecoratorMisuse<'write the decorator with parentheses: @cachier()'>;
/**
 * Catches `@cachier` written without parentheses (`experimentalDecorators`): TypeScript
 * reports this message; at run time it is a TypeError. Write `@cachier()`.
 *
 * @example
 * class Reports { @cachier() async byId(id: string) { return load(id); } } // parentheses!
 */
export function cachier(
  target: object,
  propertyKey: string | symbol,
  descriptor: PropertyDescriptor,
): DecoratorMisuse<'write the decorator with parentheses: @cachier()'>;
export function cachier(...args: unknown[]): unknown {
  const [fnOrOptions, options] = args;
  if (looksLikeDecoratorCall(args)) {
    throw new TypeError(
      'cachier: write the decorator with parentheses, @cachier() or @cachier({ ... }): cachier(options?) returns the decorator',
    );
  }
  if (typeof fnOrOptions === 'function') {
    // The caller of cachier() is the code whose package and module scope the identity.
    return wrapFunction(
      fnOrOptions as AnyFunction,
      options as CachierOptions<never, never>,
      captureWrapSite(cachier, false),
    );
  }
  if (options !== undefined) {
    throw new TypeError(
      'cachier: the first argument must be the function to wrap; options come second',
    );
  }
  if (fnOrOptions !== undefined && (typeof fnOrOptions !== 'object' || fnOrOptions === null)) {
    throw new TypeError(
      `cachier: expected a function to wrap, cachier(fn, options?), or decorator options, @cachier(options?); got ${describe(fnOrOptions)}`,
    );
  }
  return methodDecorator(fnOrOptions as CachierOptions | undefined);
}
