/**
 * The decorator-factory form, `cachier(options)(fn)` (Python's `@cachier(stale_after=...)`
 * on a function): it wraps a plain function exactly as `cachier(fn, options)` does, and
 * the same returned function still decorates methods.
 */
import { describe, expect, it } from 'vitest';
import { cacheOf, cachier, MemoryCore } from '../../src/index.js';
import { applyHere, inMemory } from './fixtures/sharedFactory.js';

const SCOPE = 'cachier:test/decorators/factory.test';

describe('cachier(options)(fn)', () => {
  it('caches a plain function with the options given to the factory', async () => {
    let calls = 0;
    const double = cachier({ backend: 'memory', staleAfter: { hours: 1 } })(async function doubleIt(
      x: number,
    ) {
      calls++;
      return x * 2;
    });
    expect(await double(2)).toBe(4);
    expect(await double(2)).toBe(4);
    expect(calls).toBe(1);
    expect(await double.withOptions({ overwriteCache: true })(2)).toBe(4);
    expect(calls).toBe(2);
    await double.clearCache();
    await double(2);
    expect(calls).toBe(3);
    expect(double.name).toBe('doubleIt');
    expect(double.length).toBe(1);
  });

  it('has the identity cachier(fn, options) gives', () => {
    async function scoped(x: number) {
      return x;
    }
    const direct = cachier(scoped, { backend: 'memory' });
    const viaFactory = cachier({ backend: 'memory' })(scoped);
    expect(viaFactory.cacheName).toBe(`${SCOPE}:scoped`);
    expect(viaFactory.cacheName).toBe(direct.cacheName);
    expect(cachier({ backend: 'memory', name: 'pinned' })(scoped).cacheName).toBe('pinned');
  });

  it('shares entries with cachier(fn, options) of the same function and store', async () => {
    let calls = 0;
    async function sharedEntries(x: number) {
      calls++;
      return x + 1;
    }
    const store = new MemoryCore();
    const direct = cachier(sharedEntries, { backend: store, name: 'factory.shared' });
    const viaFactory = cachier({ backend: store, name: 'factory.shared' })(sharedEntries);
    await direct(1);
    expect(await viaFactory(1)).toBe(2);
    expect(calls).toBe(1);
  });

  it('scopes the identity by the module that applies the factory, not the one that made it', () => {
    // Made in fixtures/sharedFactory.ts, applied here: this module's scope.
    async function appliedHere(x: number) {
      return x;
    }
    expect(inMemory(appliedHere).cacheName).toBe(`${SCOPE}:appliedHere`);
    // Made here, applied in fixtures/sharedFactory.ts: that module's scope.
    async function appliedThere(x: number) {
      return x;
    }
    expect(applyHere(cachier({ backend: 'memory' }), appliedThere).cacheName).toBe(
      'cachier:test/decorators/fixtures/sharedFactory:appliedThere',
    );
  });

  it('one factory wraps many functions, each under its own identity', async () => {
    const memo = cachier({ backend: 'memory' });
    const square = memo(async function square(x: number) {
      return x * x;
    });
    const negate = memo(async function negate(x: number) {
      return -x;
    });
    expect(await square(3)).toBe(9);
    expect(await negate(3)).toBe(-3);
    expect([square.cacheName, negate.cacheName]).toEqual([`${SCOPE}:square`, `${SCOPE}:negate`]);
  });

  it('refuses an anonymous function without a name, as cachier(fn) does', () => {
    expect(() => cachier({ backend: 'memory' })(async () => 1)).toThrow(
      "cachier: an anonymous function needs a name option: cachier(fn, { name: 'my-function' })",
    );
  });

  it('rejects a bad option where the factory is called', () => {
    expect(() => cachier({ staleAfer: 1 } as never)).toThrow(TypeError);
    expect(() => cachier({ staleAfer: 1 } as never)).toThrow(/staleAfer/);
  });

  it('refuses a class given as a legacy class decorator gives it', () => {
    class Reports {}
    const decorate = cachier({ backend: 'memory' }) as unknown as (cls: unknown) => unknown;
    expect(() => decorate(Reports)).toThrow(
      new TypeError(
        "cachier: @cachier() decorates methods only, not a class 'Reports'; put it on a method that returns a Promise",
      ),
    );
  });

  it('still decorates methods (called as experimentalDecorators calls it)', async () => {
    // Compiled decorators in both modes: test/decorators/decorators.test.ts.
    let calls = 0;
    class Reports {
      async byId(id: string): Promise<string> {
        calls++;
        return `report ${id}`;
      }
    }
    const decorate = cachier({ backend: 'memory' }) as unknown as (
      target: object,
      key: string,
      descriptor: PropertyDescriptor,
    ) => PropertyDescriptor;
    const descriptor = Object.getOwnPropertyDescriptor(Reports.prototype, 'byId');
    Object.defineProperty(
      Reports.prototype,
      'byId',
      decorate(Reports.prototype, 'byId', descriptor as PropertyDescriptor),
    );
    const reports = new Reports();
    expect(await reports.byId('7')).toBe('report 7');
    expect(await reports.byId('7')).toBe('report 7');
    expect(calls).toBe(1);
    expect(cacheOf(reports.byId).cacheName).toBe(`${SCOPE}:Reports.byId`);
  });
});
