/**
 * Type tests for `@cachier()`, the decorator-factory form `cachier(options)(fn)` and `cacheOf`. vitest checks this file with the project's
 * tsconfig (TypeScript 5 standard decorators); test/decorators/typecheck.test.ts checks
 * it again with `experimentalDecorators: true`, so both modes must accept and reject
 * the same code.
 */
import { describe, expectTypeOf, it } from 'vitest';
import {
  type CachedCall,
  type CachedFunction,
  type CachierMethodDecorator,
  cacheOf,
  cachier,
} from '../../src/index.js';

interface Report {
  id: string;
  tenant: string;
}

class Reports {
  constructor(readonly tenant: string) {}

  @cachier({ staleAfter: { hours: 1 } })
  async byId(id: string, fresh?: boolean): Promise<Report> {
    return { id: `${id}${fresh ? '!' : ''}`, tenant: this.tenant };
  }

  @cachier({ backend: 'memory' })
  static async twice(x: number): Promise<number> {
    return x * 2;
  }

  // hashArgs typed explicitly: the key can depend on the instance.
  @cachier<[id: string], Reports>({ hashArgs: ([id], self) => `${self.tenant}/${id}` })
  async perTenant(id: string): Promise<Report> {
    return { id, tenant: this.tenant };
  }

  // ...or through the annotations of hashArgs itself.
  @cachier({ hashArgs: ([id]: [string], self: Reports) => `${self.tenant}/${id}` })
  async annotated(id: string): Promise<Report> {
    return { id, tenant: this.tenant };
  }

  @cachier({ backend: 'memory' })
  async withRest(...ids: string[]): Promise<number> {
    return ids.length;
  }

  // @ts-expect-error a decorated method must return a Promise
  @cachier()
  sync(x: number): number {
    return x;
  }

  // @ts-expect-error hashArgs takes a number, the method a string
  @cachier({ hashArgs: ([n]: [number]) => String(n) })
  async mismatched(id: string): Promise<string> {
    return id;
  }

  // @ts-expect-error hashArgs expects another class as this
  @cachier<[string], { other: true }>({ hashArgs: ([id]) => id })
  async otherThis(id: string): Promise<string> {
    return id;
  }

  // @ts-expect-error not a method
  @cachier()
  field = async (id: string) => id;

  // @ts-expect-error not a method
  @cachier()
  get getter(): Promise<number> {
    return Promise.resolve(1);
  }

  // @ts-expect-error @cachier needs parentheses
  @cachier
  async noParentheses(id: string): Promise<string> {
    return id;
  }
}

// @ts-expect-error not a class decorator
@cachier()
class Decorated {}

async function lookup(id: string, fresh?: boolean): Promise<Report> {
  return { id: `${id}${fresh ? '!' : ''}`, tenant: 'acme' };
}
const twice = (x: number) => x * 2;
interface Tenant {
  tenant: string;
}
function tenantOf(this: Tenant, id: string): string {
  return `${this.tenant}/${id}`;
}

describe('the decorator-factory form cachier(options)(fn)', () => {
  it('has exactly the type of cachier(fn, options)', () => {
    const viaFactory = cachier({ staleAfter: 1000 })(lookup);
    const direct = cachier(lookup, { staleAfter: 1000 });
    expectTypeOf(viaFactory).toEqualTypeOf<CachedFunction<typeof lookup>>();
    expectTypeOf(viaFactory).toEqualTypeOf(direct);
    expectTypeOf(viaFactory).parameters.toEqualTypeOf<[id: string, fresh?: boolean]>();
    expectTypeOf(viaFactory).returns.toEqualTypeOf<Promise<Report>>();
    expectTypeOf(cachier()(twice)).toEqualTypeOf<CachedFunction<(x: number) => number>>();
    expectTypeOf(cachier()(twice)).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(cachier()(tenantOf)).thisParameter.toEqualTypeOf<Tenant>();
    expectTypeOf(cachier({ name: 'n' })(twice).withOptions({ staleAfter: 5 })).toEqualTypeOf<
      CachedCall<(x: number) => number>
    >();
  });

  it('gives a function expression passed inline no this of its own', () => {
    const inline = cachier({ staleAfter: 1 })(async function inline(x: number) {
      return x;
    });
    expectTypeOf(inline).toEqualTypeOf<CachedFunction<(x: number) => Promise<number>>>();
    inline(1);
  });

  it('checks the function against a typed hashArgs', () => {
    const byId = cachier({ hashArgs: ([id]: [string]) => id })(async (id: string) => id.length);
    expectTypeOf(byId).toEqualTypeOf<CachedFunction<(id: string) => Promise<number>>>();
    cachier<[string], Tenant>({ hashArgs: ([id], self) => `${self.tenant}/${id}` })(tenantOf);
    // @ts-expect-error hashArgs takes a number, the function a string
    cachier({ hashArgs: ([n]: [number]) => String(n) })(async (id: string) => id);
    // @ts-expect-error hashArgs expects a Tenant as this; the function has none
    cachier<[string], Tenant>({ hashArgs: ([id]) => id })(async (id: string) => id);
  });

  it('rejects what is not a function, and wrong calls of the result', () => {
    // @ts-expect-error options go to cachier(), not to the returned function
    cachier()(twice, { staleAfter: 1 });
    // @ts-expect-error not a function
    cachier()({ staleAfter: 1 });
    // @ts-expect-error x is a number
    cachier()(twice)('2');
  });
});

describe('decorated methods', () => {
  const reports = new Reports('acme');

  it('keep their declared type', () => {
    expectTypeOf(reports.byId).toEqualTypeOf<(id: string, fresh?: boolean) => Promise<Report>>();
    expectTypeOf(Reports.twice).toEqualTypeOf<(x: number) => Promise<number>>();
  });

  it('reach the wrapper API through cacheOf, typed by the method', () => {
    const api = cacheOf(reports.byId);
    expectTypeOf(api).toEqualTypeOf<
      CachedFunction<(id: string, fresh?: boolean) => Promise<Report>>
    >();
    expectTypeOf(api.withOptions({ overwriteCache: true })).toEqualTypeOf<
      CachedCall<(id: string, fresh?: boolean) => Promise<Report>>
    >();
    expectTypeOf(api.withOptions({})('7')).toEqualTypeOf<Promise<Report>>();
    expectTypeOf(api.precacheValue).parameters.toEqualTypeOf<
      [[id: string, fresh?: boolean], Report]
    >();
    expectTypeOf(cacheOf(Reports.twice).withOptions({ ignoreCache: true })(2)).toEqualTypeOf<
      Promise<number>
    >();
    expectTypeOf(cacheOf(reports.withRest).withOptions({})).parameters.toEqualTypeOf<string[]>();
    expectTypeOf(cacheOf(Reports.prototype.byId).cacheDpath()).toEqualTypeOf<string | undefined>();
  });

  it('reject wrong calls through cacheOf', () => {
    // @ts-expect-error id is a string
    cacheOf(reports.byId).withOptions({})(7);
    // @ts-expect-error unknown per-call option
    cacheOf(reports.byId).withOptions({ refresh: true });
    // @ts-expect-error the value must be a Report
    cacheOf(reports.byId).precacheValue(['7'], 'report');
  });

  it('have a decorator type that mentions no any', () => {
    expectTypeOf(cachier()).toEqualTypeOf<CachierMethodDecorator<unknown[], unknown>>();
    expectTypeOf(cachier({ staleAfter: 1 })).toEqualTypeOf<
      CachierMethodDecorator<unknown[], unknown>
    >();
    expectTypeOf(cachier({ name: 'x' })).not.toBeAny();
    expectTypeOf(Decorated).not.toBeAny();
  });
});
