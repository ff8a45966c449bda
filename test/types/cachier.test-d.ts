/**
 * Type tests for `cachier(fn, options)`, its wrapper API and the exported option types.
 * Run by `vitest --typecheck` (part of `npm test`): a regression fails the test run.
 */
import type { Duration } from 'date-fns';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type AnyCore,
  type Backend,
  type CacheApi,
  type CachedCall,
  type CachedFunction,
  type CachierEvent,
  type CachierOptions,
  type CallOptions,
  cacheOf,
  cachier,
  type DefaultParams,
  type DurationInput,
  FileCore,
  MemoryCore,
  setDefaultParams,
} from '../../src/index.js';

interface User {
  id: string;
  name: string;
}

const add = cachier((a: number, b: number) => a + b, { name: 'add' });
const findUser = cachier(async (_id: string): Promise<User | undefined> => undefined, {
  name: 'findUser',
});

describe('cachier(fn) keeps the exact signature', () => {
  it('keeps the parameters and returns a Promise of the awaited result', () => {
    expectTypeOf(add).parameters.toEqualTypeOf<[a: number, b: number]>();
    expectTypeOf(add).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(findUser).returns.toEqualTypeOf<Promise<User | undefined>>();
    expectTypeOf(add).parameters.not.toBeAny();
    expectTypeOf(add).returns.not.toBeAny();
  });

  it('does not nest promises', () => {
    const nested = cachier(async () => Promise.resolve(Promise.resolve(1)), { name: 'n' });
    expectTypeOf(nested).returns.toEqualTypeOf<Promise<number>>();
  });

  it('keeps optional and rest parameters', () => {
    const optional = cachier((query: string, limit?: number) => [query, limit], { name: 'o' });
    expectTypeOf(optional).parameters.toEqualTypeOf<[query: string, limit?: number]>();
    optional('a');
    optional('a', 2);

    const rest = cachier((sep: string, ...parts: string[]) => parts.join(sep), { name: 'r' });
    expectTypeOf(rest).parameters.toEqualTypeOf<[sep: string, ...parts: string[]]>();
    rest('-');
    rest('-', 'a', 'b');
    // @ts-expect-error rest elements are strings
    rest('-', 1);
  });

  it('keeps a declared this parameter', () => {
    interface Ctx {
      base: number;
    }
    const plus = cachier(
      function (this: Ctx, x: number) {
        return this.base + x;
      },
      { name: 'plus' },
    );
    expectTypeOf(plus).thisParameter.toEqualTypeOf<Ctx>();
    plus.call({ base: 1 }, 2);
    // @ts-expect-error the this parameter is required
    plus(2);
    expectTypeOf(plus.withOptions({})).thisParameter.toEqualTypeOf<Ctx>();
  });

  it('gives a function expression passed inline no this of its own', () => {
    const inline = cachier(
      async function inline(x: number) {
        return x;
      },
      { name: 'inline' },
    );
    expectTypeOf(inline).toEqualTypeOf<CachedFunction<(x: number) => Promise<number>>>();
    inline(1);
  });

  it('keeps instantiated generic functions exact', () => {
    const identity = <T>(value: T): T => value;
    const ofString = cachier(identity<string>, { name: 'identity' });
    expectTypeOf(ofString).toEqualTypeOf<CachedFunction<(value: string) => string>>();
    expectTypeOf(ofString).returns.toEqualTypeOf<Promise<string>>();
  });

  it('rejects wrong arguments', () => {
    // @ts-expect-error a is a number
    add('1', 2);
    // @ts-expect-error b is required
    add(1);
    // @ts-expect-error too many arguments
    add(1, 2, 3);
  });
});

describe('the wrapper API', () => {
  it('withOptions returns the same signature', () => {
    const fresh = add.withOptions({ overwriteCache: true, maxAge: { minutes: 5 } });
    expectTypeOf(fresh).toEqualTypeOf<CachedCall<(a: number, b: number) => number>>();
    expectTypeOf(fresh).parameters.toEqualTypeOf<[a: number, b: number]>();
    expectTypeOf(fresh).returns.toEqualTypeOf<Promise<number>>();
    // @ts-expect-error wrong argument type after withOptions
    fresh('1', 2);
  });

  it('rejects unknown and mistyped per-call options', () => {
    // @ts-expect-error unknown per-call option
    add.withOptions({ ignoreCaching: true });
    // @ts-expect-error ignoreCache is a boolean
    add.withOptions({ ignoreCache: 'yes' });
    // @ts-expect-error maxAge is milliseconds or a Duration
    add.withOptions({ maxAge: '5m' });
  });

  it('types precacheValue by the parameters and the result', () => {
    expectTypeOf(add.precacheValue).parameters.toEqualTypeOf<[[a: number, b: number], number]>();
    expectTypeOf(add.precacheValue([1, 2], 3)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(findUser.precacheValue(['7'], { id: '7', name: 'Ann' })).toEqualTypeOf<
      Promise<User | undefined>
    >();
    // @ts-expect-error the value must be the result type
    add.precacheValue([1, 2], '3');
    // @ts-expect-error the arguments must be the parameters
    add.precacheValue(['1', 2], 3);
    // @ts-expect-error the arguments are a tuple, not spread
    add.precacheValue(1, 2);
  });

  it('has the other methods', () => {
    expectTypeOf(add.clearCache()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(add.clearBeingCalculated()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(add.deleteStale()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(add.cacheDpath()).toEqualTypeOf<string | undefined>();
    expectTypeOf(add.cacheName).toEqualTypeOf<string>();
    expectTypeOf(add).toExtend<CacheApi<(a: number, b: number) => number>>();
  });

  it('cacheOf returns the typed wrapper', () => {
    expectTypeOf(cacheOf(add)).toEqualTypeOf<CachedFunction<(a: number, b: number) => number>>();
    const plain = async (id: string) => id.length;
    expectTypeOf(cacheOf(plain).withOptions({})).parameters.toEqualTypeOf<[id: string]>();
    // @ts-expect-error cacheOf takes a function
    cacheOf({ withOptions: () => 1 });
  });
});

describe('options', () => {
  it('types hashArgs by the parameters and this', () => {
    cachier((a: number, b: string) => `${a}${b}`, {
      name: 'h',
      hashArgs: (args, self) => {
        expectTypeOf(args).toEqualTypeOf<[a: number, b: string]>();
        expectTypeOf(self).toEqualTypeOf<unknown>();
        return String(args[0]);
      },
    });
    interface Tenant {
      tenant: string;
    }
    cachier(
      function (this: Tenant, id: string) {
        return this.tenant + id;
      },
      { name: 't', hashArgs: ([id], self) => `${self.tenant}/${id}` },
    );
    cachier((a: number) => a, {
      name: 'h',
      // @ts-expect-error hashArgs must take the function's parameters
      hashArgs: ([a]: [string]) => a,
    });
    // @ts-expect-error hashArgs returns a string
    cachier((a: number) => a, { name: 'h', hashArgs: ([a]) => a });
  });

  it('rejects unknown and mistyped options', () => {
    // @ts-expect-error unknown option
    cachier((a: number) => a, { name: 'x', stale_after: 5 });
    // @ts-expect-error unknown backend
    cachier((a: number) => a, { name: 'x', backend: 'couchdb' });
    // @ts-expect-error staleAfter is milliseconds or a Duration
    cachier((a: number) => a, { name: 'x', staleAfter: '3 days' });
    // @ts-expect-error a Duration has no such field
    cachier((a: number) => a, { name: 'x', staleAfter: { fortnights: 1 } });
    // @ts-expect-error nextTime is a boolean
    cachier((a: number) => a, { name: 'x', nextTime: 1 });
  });

  it('accepts every documented form', () => {
    cachier((a: number) => a, {
      name: 'all',
      backend: new FileCore({ cacheDir: '/tmp/x' }),
      staleAfter: { days: 3 },
      nextTime: true,
      waitForCalcTimeout: 30_000,
      allowNone: true,
      entrySizeLimit: '10MB',
      onEvent: (event) => expectTypeOf(event).toEqualTypeOf<CachierEvent>(),
    });
    cachier((a: number) => a, { name: 'm', backend: new MemoryCore() });
    cachier((a: number) => a, { name: 'f', backend: 'file', cacheDir: '~/.cache/x' });
    setDefaultParams({ staleAfter: 1000, backend: 'memory' });
  });

  it('exports the option types', () => {
    expectTypeOf<Duration>().toExtend<DurationInput>();
    expectTypeOf<number>().toExtend<DurationInput>();
    expectTypeOf<MemoryCore>().toExtend<AnyCore>();
    expectTypeOf<FileCore>().toExtend<Backend>();
    expectTypeOf<'file' | 'memory' | 'mongo'>().toExtend<Backend>();
    expectTypeOf<CallOptions>().toEqualTypeOf<{
      ignoreCache?: boolean;
      overwriteCache?: boolean;
      verboseCache?: boolean;
      maxAge?: DurationInput;
      staleAfter?: DurationInput;
      nextTime?: boolean;
      allowNone?: boolean;
      signal?: AbortSignal;
    }>();
    expectTypeOf<DefaultParams>().not.toHaveProperty('name');
    expectTypeOf<CachierOptions<[string], { tenant: string }>['hashArgs']>().toEqualTypeOf<
      ((args: [string], self: { tenant: string }) => string) | undefined
    >();
  });
});
