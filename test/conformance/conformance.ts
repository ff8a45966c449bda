import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AnyCore,
  type CachierEvent,
  type CachierOptions,
  cachier,
  disableCaching,
  enableCaching,
} from '../../src/index.js';
import { until } from '../support/time.js';
import { collectWarnings } from '../support/warnings.js';

/** What a core can do beyond the shared contract; groups of tests switch on these. */
export interface CoreCapabilities {
  /** Values are serialized (not kept by reference): unserializable results are not stored. */
  serializes: boolean;
}

/** Makes a fresh core for one test file; `dispose` runs once after the suite. */
export interface CoreFactory {
  make(): AnyCore | Promise<AnyCore>;
  dispose?(): Promise<void>;
}

/** Collects the verbose lines cachier writes to stderr (and keeps them off the test output). */
function captureVerbose(lines: string[]): void {
  const write = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (!text.startsWith('[cachier]'))
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    lines.push(text.replace(/\n$/, ''));
    return true;
  });
}

/** A clock for the `clock` option that moves only when told: ages without sleeps. */
function fakeClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/**
 * A promise the test opens when it chooses: holds a calculation without a sleep, or (opened
 * by the function) tells the test that a calculation has started.
 */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/**
 * The call algorithm (docs/design.md, "How a call flows") through the public wrapper, run
 * unchanged against every core: the core's own guarantees are the kit's (`cachier/testing`).
 * Ages and `waitForCalcTimeout` come from a fake `clock`, never from sleeps; calls that
 * must overlap are ordered by gates and events (a function opens a gate when it runs, so
 * its claim is held; a waiter reports `wait`). A core's test file is a few lines:
 * `conformance('file', { make: () => new FileCore(...) }, caps)`.
 */
export function conformance(label: string, factory: CoreFactory, caps: CoreCapabilities): void {
  describe(`conformance: ${label} core`, () => {
    let core: AnyCore;
    beforeAll(async () => {
      core = await factory.make();
    });
    afterAll(async () => {
      await factory.dispose?.();
    });
    afterEach(() => {
      enableCaching();
      vi.restoreAllMocks();
    });

    /** A counting function wrapped on the core under a fresh random name. */
    function counted<A extends unknown[], R>(
      body: (...args: A) => R | Promise<R>,
      options: CachierOptions = {},
    ) {
      const calls: A[] = [];
      const fn = async (...args: A) => {
        calls.push(args);
        return body(...args);
      };
      const name = options.name ?? `conf-${randomUUID()}`;
      return { calls, name, cached: cachier(fn, { backend: core, ...options, name }) };
    }

    describe('hits and misses', () => {
      it('calculates once, then returns the stored value', async () => {
        const { calls, cached } = counted((a: number, b: number) => a + b);
        expect(await cached(1, 2)).toBe(3);
        expect(await cached(1, 2)).toBe(3);
        expect(calls).toHaveLength(1);
      });

      it('keeps different arguments apart and equal ones together', async () => {
        const { calls, cached } = counted(
          (o: { a: number; b: number }, extra?: number) => JSON.stringify(o) + String(extra),
        );
        await cached({ a: 1, b: 2 });
        await cached({ b: 2, a: 1 });
        await cached({ a: 1, b: 2 }, undefined);
        expect(calls).toHaveLength(1);
        await cached({ a: 2, b: 1 });
        await cached({ a: 1, b: 2 }, 0);
        expect(calls).toHaveLength(3);
      });

      it('wraps sync functions and still returns a promise', async () => {
        const { calls, cached } = counted((x: number) => x * 2);
        const result = cached(21);
        expect(result).toBeInstanceOf(Promise);
        expect(await result).toBe(42);
        expect(await cached(21)).toBe(42);
        expect(calls).toHaveLength(1);
      });

      it('round-trips rich values', async () => {
        const value = {
          date: new Date('2024-02-29T12:00:00Z'),
          map: new Map<unknown, unknown>([
            ['a', 1],
            [2, new Set([3])],
          ]),
          set: new Set(['x', 'y']),
          big: 12345678901234567890n,
          buffer: Buffer.from('bytes'),
          floats: new Float64Array([1.5, -0]),
          regexp: /a+b/gi,
          nested: { list: [1, undefined, null, 'three'], missing: undefined },
        };
        const { calls, cached } = counted(() => value);
        await cached();
        const again = await cached();
        expect(calls).toHaveLength(1);
        expect(again.date).toEqual(value.date);
        expect(again.map).toEqual(value.map);
        expect(again.set).toEqual(value.set);
        expect(again.big).toBe(value.big);
        expect(Buffer.from(again.buffer).toString()).toBe('bytes');
        expect([...again.floats]).toEqual([1.5, -0]);
        expect(again.regexp.source).toBe('a+b');
        expect(again.regexp.flags).toBe('gi');
        expect(again.nested).toEqual(value.nested);
        expect('missing' in again.nested).toBe(true);
      });

      it('round-trips an Error value', async () => {
        const { cached } = counted(() => new RangeError('out of range'));
        await cached();
        const again = await cached();
        expect(again).toBeInstanceOf(Error);
        expect(again.message).toBe('out of range');
      });
    });

    describe('per-call options', () => {
      it('ignoreCache neither reads nor writes', async () => {
        let n = 0;
        const { calls, cached } = counted(() => ++n);
        expect(await cached.withOptions({ ignoreCache: true })()).toBe(1);
        expect(await cached()).toBe(2);
        expect(await cached.withOptions({ ignoreCache: true })()).toBe(3);
        expect(await cached()).toBe(2);
        expect(calls).toHaveLength(3);
      });

      it('overwriteCache calculates and stores without reading', async () => {
        let n = 0;
        const { cached } = counted(() => ++n);
        expect(await cached()).toBe(1);
        expect(await cached.withOptions({ overwriteCache: true })()).toBe(2);
        expect(await cached()).toBe(2);
      });

      it('maxAge makes older values stale for that call only', async () => {
        const clock = fakeClock();
        let n = 0;
        const { cached } = counted(() => ++n, { clock });
        expect(await cached()).toBe(1);
        clock.advance(40);
        expect(await cached.withOptions({ maxAge: 10_000 })()).toBe(1);
        expect(await cached.withOptions({ maxAge: 41 })()).toBe(1);
        expect(await cached.withOptions({ maxAge: 40 })()).toBe(2);
        expect(await cached.withOptions({ maxAge: { seconds: 10 } })()).toBe(2);
        expect(await cached()).toBe(2);
      });

      it('verboseCache prints one line per decision', async () => {
        const lines: string[] = [];
        captureVerbose(lines);
        const { cached, name } = counted(() => 1);
        await cached.withOptions({ verboseCache: true })();
        await cached.withOptions({ verboseCache: true })();
        expect(lines.every((line) => line.startsWith(`[cachier] ${name}`))).toBe(true);
        expect(lines.some((line) => line.includes('miss'))).toBe(true);
        expect(lines.some((line) => line.includes('stored'))).toBe(true);
        expect(lines.at(-1)).toContain('hit');
        lines.length = 0;
        await cached();
        expect(lines).toHaveLength(0);
      });
    });

    describe('staleness', () => {
      it('recalculates a value once it is staleAfter old', async () => {
        const clock = fakeClock();
        let n = 0;
        const { cached } = counted(() => ++n, { staleAfter: 30, clock });
        expect(await cached()).toBe(1);
        clock.advance(29);
        expect(await cached()).toBe(1);
        clock.advance(1);
        expect(await cached()).toBe(2);
        expect(await cached()).toBe(2);
      });

      it('nextTime returns the stale value and refreshes once in the background', async () => {
        const clock = fakeClock();
        const refresh = gate();
        let n = 0;
        let stored = 0;
        const { calls, cached } = counted(
          async () => {
            if (++n > 1) await refresh.opened;
            return n;
          },
          {
            staleAfter: 40,
            nextTime: true,
            clock,
            onEvent: (e) => e.type === 'stored' && stored++,
          },
        );
        expect(await cached()).toBe(1);
        clock.advance(40);
        // The refresh cannot finish before the gate opens: all three see the stale value.
        const stale = await Promise.all([cached(), cached(), cached()]);
        expect(stale).toEqual([1, 1, 1]);
        refresh.open();
        await until(() => stored === 2);
        expect(await cached()).toBe(2);
        expect(calls).toHaveLength(2);
      });

      it('a failed background refresh keeps the stale value and warns', async () => {
        const clock = fakeClock();
        const collected = collectWarnings();
        let fail = false;
        const events: CachierEvent[] = [];
        const { cached } = counted(
          () => {
            if (fail) throw new Error('refresh broke');
            return 'v1';
          },
          { staleAfter: 20, nextTime: true, clock, onEvent: (e) => events.push(e) },
        );
        try {
          expect(await cached()).toBe('v1');
          clock.advance(20);
          fail = true;
          expect(await cached()).toBe('v1');
          await until(() => events.some((e) => e.type === 'refresh-failed'));
          expect(await cached()).toBe('v1');
          await until(() => collected.codes().includes('CACHIER_REFRESH_FAILED'));
          expect(collected.codes()).toEqual(['CACHIER_REFRESH_FAILED']);
        } finally {
          collected.restore();
        }
      });
    });

    describe('one calculation per key', () => {
      it('shares one calculation among concurrent calls', async () => {
        const release = gate();
        const waits: string[] = [];
        const { calls, cached } = counted(
          async (x: number) => {
            await release.opened;
            return x + 1;
          },
          { onEvent: (e) => e.type === 'wait' && waits.push(e.on) },
        );
        const all = Promise.all(Array.from({ length: 50 }, () => cached(1)));
        await until(() => calls.length > 0, 5000, 'the calculation');
        release.open();
        const results = await all;
        expect(new Set(results)).toEqual(new Set([2]));
        expect(calls).toHaveLength(1);
        // Joined in this process, not each waiting on the store's claim.
        expect(waits).toEqual(Array(49).fill('this-process'));
      });

      /**
       * Two wrappers of one name, as two processes would be: the first one's function
       * opens `started` when it runs (so it holds the key's claim) and then waits on
       * `release`; the second wrapper is called only after that, and records its events.
       */
      function ownerAndWaiter<R>(owner: () => Promise<R>, waiterOptions: CachierOptions = {}) {
        const name = `conf-${randomUUID()}`;
        const started = gate();
        const release = gate();
        const events: CachierEvent[] = [];
        const first = counted(
          async () => {
            started.open();
            await release.opened;
            return owner();
          },
          { name },
        );
        const second = counted(async () => 'from second', {
          ...waiterOptions,
          name,
          onEvent: (event) => events.push(event),
        });
        /** Calls the owner, then the waiter once the owner calculates; resolves once it waits. */
        async function start() {
          const owned = first.cached();
          owned.catch(() => undefined); // the test awaits it later
          await started.opened;
          const waited = second.cached();
          waited.catch(() => undefined);
          await until(() => events.some((e) => e.type === 'wait'), 5000, 'the waiter’s wait');
          return { owned, waited };
        }
        return { second, events, release, start };
      }

      it('a second wrapper of one name waits for the first one’s claim', async () => {
        const { second, events, release, start } = ownerAndWaiter(async () => 'from first');
        const { owned, waited } = await start();
        release.open();
        expect(await owned).toBe('from first');
        expect(await waited).toBe('from first');
        expect(second.calls).toHaveLength(0);
        expect(events.find((e) => e.type === 'wait-end')).toMatchObject({
          reason: 'value-arrived',
        });
      });

      // Every core here leases a claim for 10 s by default (the memory core's claims never
      // lapse, nor the file core's while its process lives): a waiter that saw the owner's
      // failure only when its claim lapsed would still be waiting when this test's 5 s run
      // out (tried: an owner that never releases fails it on every core). Whether the release itself woke the waiter
      // or its next poll (25–60 ms later) found the claim gone cannot be told apart
      // without timing; both are correct, and the wake-up latency is `npm run bench`'s.
      it('a waiter calculates itself when the owner releases without a value', {
        timeout: 5000,
      }, async () => {
        const { second, events, release, start } = ownerAndWaiter(async () => {
          throw new Error('owner failed');
        });
        const { owned, waited } = await start();
        release.open();
        await expect(owned).rejects.toThrow('owner failed');
        expect(await waited).toBe('from second');
        expect(second.calls).toHaveLength(1);
        // It calculated under the claim the owner gave up, not after a timeout without one.
        expect(events.find((e) => e.type === 'wait-end')).toMatchObject({ reason: 'owner-gone' });
        expect(events.find((e) => e.type === 'calculate')).toMatchObject({ claimed: true });
      });

      it('waitForCalcTimeout stops waiting for another owner', {
        timeout: 10_000,
      }, async () => {
        // A minute on the waiter's own clock, far beyond this test's time: only the fake
        // clock moving past it can end the wait before the owner finishes.
        const clock = fakeClock();
        const { second, events, release, start } = ownerAndWaiter(async () => 'slow owner', {
          waitForCalcTimeout: { minutes: 1 },
          clock,
        });
        const { owned, waited } = await start();
        clock.advance(60_000);
        expect(await waited).toBe('from second');
        expect(second.calls).toHaveLength(1);
        expect(events.find((e) => e.type === 'wait-end')).toMatchObject({ reason: 'timeout' });
        release.open();
        expect(await owned).toBe('slow owner');
      });

      it('waitForCalcTimeout lets an in-process waiter calculate itself', {
        timeout: 10_000,
      }, async () => {
        // The first calculation is held until the end, so the second call can only return
        // by giving up its wait (50 ms) and calculating itself.
        const release = gate();
        let n = 0;
        const { calls, cached } = counted(
          async () => {
            const mine = ++n;
            if (mine === 1) await release.opened;
            return mine;
          },
          { waitForCalcTimeout: 50 },
        );
        const slow = cached();
        await until(() => calls.length === 1, 5000, 'the first calculation');
        expect(await cached()).toBe(2);
        release.open();
        expect(await slow).toBe(1);
        expect(calls).toHaveLength(2);
      });
    });

    describe('errors', () => {
      it('reaches every waiting caller, stores nothing, and the next call calculates', async () => {
        const release = gate();
        let n = 0;
        const { calls, cached } = counted(async () => {
          if (++n > 1) return 'ok';
          await release.opened;
          throw new Error('boom');
        });
        const all = Promise.allSettled([cached(), cached(), cached()]);
        await until(() => calls.length > 0, 5000, 'the calculation');
        release.open();
        const results = await all;
        expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
        expect(calls).toHaveLength(1);
        expect(await cached()).toBe('ok');
        expect(calls).toHaveLength(2);
      });

      it('a sync throw becomes a rejection', async () => {
        const cached = cachier(
          () => {
            throw new TypeError('sync boom');
          },
          { backend: core, name: `conf-${randomUUID()}` },
        );
        await expect(cached()).rejects.toThrow('sync boom');
      });

      it('rejects unkeyable arguments with a TypeError naming the path', async () => {
        const { cached } = counted((_o: unknown) => 1);
        await expect(cached({ user: { callback: () => 1 } })).rejects.toThrow(
          /args\[0\]\.user\.callback.*hashArgs/s,
        );
      });
    });

    describe('none values', () => {
      it('returns but does not store null/undefined unless allowNone', async () => {
        const off = counted(() => null);
        expect(await off.cached()).toBeNull();
        expect(await off.cached()).toBeNull();
        expect(off.calls).toHaveLength(2);
        const on = counted(() => undefined, { allowNone: true });
        expect(await on.cached()).toBeUndefined();
        expect(await on.cached()).toBeUndefined();
        expect(on.calls).toHaveLength(1);
      });
    });

    describe('sizes and serialization', () => {
      it('entrySizeLimit returns large results without storing them', async () => {
        const { calls, cached } = counted((size: number) => 'x'.repeat(size), {
          entrySizeLimit: '1KB',
        });
        await cached(5000);
        await cached(5000);
        expect(calls).toHaveLength(2);
        await cached(10);
        await cached(10);
        expect(calls).toHaveLength(3);
      });

      it('returns a result that would not come back as it was without storing it, warning once', async () => {
        const collected = collectWarnings();
        try {
          class Invoice {
            constructor(readonly total: number) {}
          }
          const { calls, cached } = counted(() => ({ callback: () => 1 }));
          expect(typeof (await cached()).callback).toBe('function');
          expect(typeof (await cached()).callback).toBe('function');
          expect(calls).toHaveLength(2);
          const invoices = counted(() => new Invoice(3));
          expect(await invoices.cached()).toBeInstanceOf(Invoice);
          expect(await invoices.cached()).toBeInstanceOf(Invoice);
          expect(invoices.calls).toHaveLength(2);
          // Once per wrapper.
          expect(collected.codes()).toEqual(['CACHIER_UNSERIALIZABLE', 'CACHIER_UNSERIALIZABLE']);
        } finally {
          collected.restore();
        }
      });

      if (!caps.serializes) {
        it('keeps values by reference', async () => {
          const { calls, cached } = counted(() => ({ list: [1, 2] }));
          const first = await cached();
          expect(await cached()).toBe(first);
          expect(calls).toHaveLength(1);
        });
      }
    });

    describe('wrapper methods', () => {
      it('precacheValue stores a value without calling', async () => {
        const { calls, cached } = counted((a: number, b: number) => a + b);
        expect(await cached.precacheValue([2, 2], 5)).toBe(5);
        expect(await cached(2, 2)).toBe(5);
        expect(calls).toHaveLength(0);
      });

      it('precacheValue refuses what the cache would not keep or serve', async () => {
        const { calls, cached } = counted((x: number): string | null => `v${x}`, {
          entrySizeLimit: 64,
        });
        await expect(cached.precacheValue([1], null)).rejects.toThrow(/allowNone/);
        await expect(cached.precacheValue([2], 'x'.repeat(1000))).rejects.toMatchObject({
          code: 'CACHIER_ENTRY_TOO_LARGE',
        });
        expect(await cached(1)).toBe('v1');
        expect(await cached(2)).toBe('v2');
        expect(calls).toHaveLength(2);
        const lenient = counted((): string | null => 'calculated', { allowNone: true });
        expect(await lenient.cached.precacheValue([], null)).toBeNull();
        expect(await lenient.cached()).toBeNull();
        expect(lenient.calls).toHaveLength(0);
      });

      it('settle waits for background refreshes', async () => {
        const clock = fakeClock();
        const refresh = gate();
        let n = 0;
        const { calls, cached } = counted(
          async () => {
            if (++n > 1) await refresh.opened;
            return n;
          },
          { staleAfter: 20, nextTime: true, clock },
        );
        expect(await cached()).toBe(1);
        clock.advance(20);
        expect(await cached()).toBe(1);
        let settled = false;
        const settling = cached.settle().then(() => {
          settled = true;
        });
        await until(() => calls.length === 2);
        for (let turn = 0; turn < 10; turn++) await new Promise(setImmediate);
        expect(settled).toBe(false);
        refresh.open();
        await settling;
        expect(await cached()).toBe(2);
        await cached.settle();
      });

      it('clearCache drops this function’s entries only', async () => {
        const one = counted(() => 1);
        const two = counted(() => 2);
        await one.cached();
        await two.cached();
        await one.cached.clearCache();
        await one.cached();
        await two.cached();
        expect(one.calls).toHaveLength(2);
        expect(two.calls).toHaveLength(1);
      });

      it('clearBeingCalculated lets the next call calculate at once', async () => {
        let release: () => void = () => undefined;
        const name = `conf-${randomUUID()}`;
        const stuck = counted(
          () =>
            new Promise<string>((resolve) => {
              release = () => resolve('late');
            }),
          { name },
        );
        const pending = stuck.cached();
        await until(() => stuck.calls.length === 1);
        await stuck.cached.clearBeingCalculated();
        const other = counted(() => 'fresh', { name });
        expect(await other.cached()).toBe('fresh');
        expect(await stuck.cached()).toBe('fresh');
        release();
        expect(await pending).toBe('late');
      });

      it('deleteStale removes entries older than staleAfter, and only those', async () => {
        const clock = fakeClock();
        const { calls, cached } = counted((x: number) => x, { staleAfter: 30, clock });
        await cached(1);
        clock.advance(40);
        await cached(2);
        clock.advance(10);
        await cached.deleteStale();
        // Served whatever their age for this call: only a deleted entry is recalculated.
        const lenient = cached.withOptions({ staleAfter: 1e9 });
        await lenient(1);
        await lenient(2);
        expect(calls).toEqual([[1], [2], [1]]);
      });
    });

    describe('caching switched off', () => {
      it('disableCaching calls the function directly until enableCaching', async () => {
        let n = 0;
        const { cached } = counted(() => ++n);
        expect(await cached()).toBe(1);
        disableCaching();
        expect(await cached()).toBe(2);
        expect(await cached()).toBe(3);
        enableCaching();
        expect(await cached()).toBe(1);
      });
    });

    describe('events', () => {
      it('reports misses, calculations, stores and hits to onEvent', async () => {
        const events: CachierEvent[] = [];
        const { cached } = counted(() => 7, { onEvent: (e) => events.push(e) });
        await cached();
        await cached();
        expect(events.map((e) => e.type)).toEqual(['miss', 'calculate', 'stored', 'hit']);
      });

      it('names keys by their SHA-256 in events and verbose lines, never by argument data', async () => {
        const events: CachierEvent[] = [];
        const lines: string[] = [];
        captureVerbose(lines);
        const plain = counted((user: string, secret: string) => `${user}:${secret.length}`, {
          onEvent: (e) => events.push(e),
        });
        const custom = counted((user: string, secret: string) => `${user}:${secret.length}`, {
          onEvent: (e) => events.push(e),
          hashArgs: (args) => (args as string[]).join('/'),
        });
        await plain.cached.withOptions({ verboseCache: true })('alice', 'hunter2');
        await custom.cached.withOptions({ verboseCache: true })('alice', 'hunter2');
        const keys = events.flatMap((e) => ('key' in e ? [e.key] : []));
        expect(keys.length).toBeGreaterThan(0);
        for (const key of keys) expect(key).toMatch(/^[0-9a-f]{64}$/);
        expect(new Set(keys).size).toBe(2);
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) expect(line).not.toMatch(/alice|hunter2/);
      });
    });
  });
}
