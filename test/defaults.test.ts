import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type CachierOptions,
  cachier,
  disableCaching,
  enableCaching,
  getDefaultParams,
  MemoryCore,
  resetDefaultParams,
  setDefaultParams,
} from '../src/index.js';
import { sleep, until } from './support/time.js';

const uniqueName = () => `defaults-${randomUUID()}`;

const root = mkdtempSync(join(tmpdir(), 'cachier-defaults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  resetDefaultParams();
  enableCaching();
});

/** A counting memory-backed wrapper under a fresh name. */
function counter<R>(body: (n: number) => R, options: CachierOptions = {}) {
  const state = { n: 0 };
  const cached = cachier(async (_x?: unknown) => body(++state.n), {
    backend: 'memory',
    name: uniqueName(),
    ...options,
  });
  return { state, cached };
}

describe('getDefaultParams', () => {
  it('starts with the documented defaults, exactly', () => {
    expect(getDefaultParams()).toStrictEqual({
      backend: 'file',
      nextTime: false,
      allowNone: false,
      waitForCalcTimeout: 0,
    });
  });

  it('returns values as they were given, not converted', () => {
    setDefaultParams({
      staleAfter: { hours: 1 },
      waitForCalcTimeout: { seconds: 30 },
      entrySizeLimit: '10MB',
      cacheDir: '~/somewhere',
    });
    expect(getDefaultParams()).toStrictEqual({
      backend: 'file',
      nextTime: false,
      allowNone: false,
      staleAfter: { hours: 1 },
      waitForCalcTimeout: { seconds: 30 },
      entrySizeLimit: '10MB',
      cacheDir: '~/somewhere',
    });
  });

  it('returns a copy that cannot change the defaults', () => {
    const copy = getDefaultParams();
    copy.nextTime = true;
    expect(getDefaultParams().nextTime).toBe(false);
  });
});

describe('setDefaultParams', () => {
  it('merges partial updates', () => {
    setDefaultParams({ nextTime: true });
    setDefaultParams({ allowNone: true });
    expect(getDefaultParams()).toMatchObject({ nextTime: true, allowNone: true });
  });

  it('an option given as undefined goes back to its built-in default', () => {
    setDefaultParams({ nextTime: true, staleAfter: 5000 });
    setDefaultParams({ nextTime: undefined, staleAfter: undefined });
    expect(getDefaultParams()).toStrictEqual({
      backend: 'file',
      nextTime: false,
      allowNone: false,
      waitForCalcTimeout: 0,
    });
  });

  it('resetDefaultParams restores the built-in defaults', () => {
    setDefaultParams({ backend: 'memory', staleAfter: 1, allowNone: true });
    resetDefaultParams();
    expect(getDefaultParams()).toStrictEqual({
      backend: 'file',
      nextTime: false,
      allowNone: false,
      waitForCalcTimeout: 0,
    });
  });

  describe('validation', () => {
    it('rejects an unknown name and lists the valid ones (without name and onEvent)', () => {
      expect(() => setDefaultParams({ staleAfer: 1 } as never)).toThrow(TypeError);
      expect(() => setDefaultParams({ staleAfer: 1 } as never)).toThrow(
        "cachier: unknown default parameter 'staleAfer'. Valid ones are: backend, cacheDir, mongetter, redisClient, pgPool, staleAfter, nextTime, waitForCalcTimeout, allowNone, hashArgs, entrySizeLimit, serializer, verboseCache, enableMetrics",
      );
      expect(() => setDefaultParams({ name: 'shared' } as never)).toThrow(
        /unknown default parameter 'name'/,
      );
    });

    it.each([
      [{ staleAfter: -1 }, /staleAfter must not be negative/],
      [{ waitForCalcTimeout: { minutes: -1 } }, /waitForCalcTimeout\.minutes/],
      [{ entrySizeLimit: 'huge' }, /entrySizeLimit must be bytes or a size/],
      [{ backend: 'couchdb' }, /unknown backend "couchdb"/],
      [{ nextTime: 'no' }, /nextTime must be a boolean/],
      [{ hashArgs: 'id' }, /hashArgs must be a function/],
      [{ cacheDir: '' }, /cacheDir must not be empty/],
    ])('rejects %j with a TypeError naming the option', (params, message) => {
      expect(() => setDefaultParams(params as never)).toThrow(TypeError);
      expect(() => setDefaultParams(params as never)).toThrow(message);
    });

    it('rejects a non-object', () => {
      expect(() => setDefaultParams(null as never)).toThrow(/setDefaultParams\(\) argument/);
      expect(() => setDefaultParams('memory' as never)).toThrow(TypeError);
      expect(() => setDefaultParams(undefined as never)).toThrow(
        'cachier: setDefaultParams() argument must be an object, got undefined',
      );
      expect(() => setDefaultParams(undefined as never)).not.toThrow(/undefined undefined/);
    });

    it('a rejected call changes nothing, not even its valid parts', () => {
      expect(() => setDefaultParams({ nextTime: true, staleAfter: -5 })).toThrow(TypeError);
      expect(getDefaultParams().nextTime).toBe(false);
      expect(getDefaultParams().staleAfter).toBeUndefined();
    });
  });
});

describe('live defaults reach existing wrappers from their next call', () => {
  it('staleAfter', async () => {
    const { state, cached } = counter((n) => n);
    const own = counter((n) => n, { staleAfter: { hours: 1 } });
    expect(await cached()).toBe(1);
    expect(await own.cached()).toBe(1);
    setDefaultParams({ staleAfter: 1 });
    await sleep(10);
    expect(await cached()).toBe(2);
    expect(await own.cached()).toBe(1); // the wrapper's own staleAfter wins
    resetDefaultParams();
    await sleep(10);
    expect(await cached()).toBe(2); // never stale again
    expect(state.n).toBe(2);
  });

  it('nextTime', async () => {
    const { state, cached } = counter((n) => n, { staleAfter: 1 });
    const own = counter((n) => n, { staleAfter: 1, nextTime: false });
    expect(await cached()).toBe(1);
    expect(await own.cached()).toBe(1);
    await sleep(10);
    expect(await cached()).toBe(2); // stale, recalculated
    setDefaultParams({ nextTime: true });
    await sleep(10);
    expect(await cached()).toBe(2); // stale value served at once
    await until(() => state.n === 3); // refreshed in the background
    expect(await own.cached()).toBe(2); // the wrapper's own nextTime: false wins
  });

  it('waitForCalcTimeout', async () => {
    // Two wrappers of one name on one store: the second sees the first as another owner.
    const backend = new MemoryCore();
    const name = uniqueName();
    let releaseOwner: (value: string) => void = () => undefined;
    let ownerStarted = false;
    const owner = cachier(
      () =>
        new Promise<string>((resolve) => {
          ownerStarted = true;
          releaseOwner = resolve;
        }),
      { backend, name },
    );
    const waiter = cachier(async () => 'waiter', { backend, name });
    const owned = owner();
    await until(() => ownerStarted);

    const firstWait = waiter();
    const stillWaiting = await Promise.race([firstWait, sleep(300).then(() => 'still waiting')]);
    expect(stillWaiting).toBe('still waiting'); // default 0: waits for the live owner

    setDefaultParams({ waitForCalcTimeout: 50 });
    expect(await waiter()).toBe('waiter'); // gives up after 50 ms and calculates
    expect(await firstWait).toBe('waiter'); // the earlier wait saw the stored value
    releaseOwner('owner');
    expect(await owned).toBe('owner');
  });

  it('allowNone', async () => {
    const { state, cached } = counter(() => null);
    const own = counter(() => null, { allowNone: false });
    await cached();
    await cached();
    expect(state.n).toBe(2);
    setDefaultParams({ allowNone: true });
    await cached();
    await cached();
    expect(state.n).toBe(3);
    await own.cached();
    await own.cached();
    expect(own.state.n).toBe(2); // the wrapper's own allowNone: false wins
  });

  it('entrySizeLimit', async () => {
    const { state, cached } = counter((n) => `${n}`.padEnd(1000, '.'));
    const own = counter((n) => `${n}`.padEnd(1000, '.'), { entrySizeLimit: '1MB' });
    setDefaultParams({ entrySizeLimit: 100 });
    await cached();
    await cached();
    expect(state.n).toBe(2); // too large to store
    await own.cached();
    await own.cached();
    expect(own.state.n).toBe(1); // the wrapper's own limit wins
    setDefaultParams({ entrySizeLimit: '1KB' });
    await cached();
    await cached();
    expect(state.n).toBe(3);
  });
});

describe('fixed when a wrapper is made', () => {
  it('backend', async () => {
    setDefaultParams({ backend: 'memory' });
    let n = 0;
    const earlier = cachier(async () => ++n, { name: uniqueName() });
    const dir = join(root, 'backend');
    setDefaultParams({ backend: 'file', cacheDir: dir });
    expect(earlier.cacheDpath()).toBeUndefined();
    await earlier();
    await earlier();
    expect(n).toBe(1);
    expect(existsSync(dir)).toBe(false);
    const later = cachier(async () => 1, { name: 'after' });
    expect(later.cacheDpath()).toBe(join(dir, 'after'));
  });

  it('cacheDir', async () => {
    const first = join(root, 'first');
    const second = join(root, 'second');
    setDefaultParams({ cacheDir: first });
    const cached = cachier(async (x: number) => x + 1, { name: 'fixedDir' });
    setDefaultParams({ cacheDir: second });
    expect(dirname(cached.cacheDpath() ?? '')).toBe(first);
    expect(await cached(1)).toBe(2);
    expect(
      readdirSync(cached.cacheDpath() ?? '').filter((f) => /^[0-9a-f]{64}$/.test(f)),
    ).toHaveLength(1);
    expect(existsSync(second)).toBe(false);
  });

  it('hashArgs', async () => {
    setDefaultParams({ hashArgs: () => 'one key for all' });
    const earlier = counter((n) => n);
    resetDefaultParams();
    const later = counter((n) => n);
    expect(await earlier.cached(1)).toBe(1);
    expect(await earlier.cached(2)).toBe(1); // still one key: its hashArgs stayed
    expect(await later.cached(1)).toBe(1);
    expect(await later.cached(2)).toBe(2);
  });
});

describe('enableCaching / disableCaching', () => {
  it('disabled wrappers call the function, reading and writing nothing', async () => {
    const { state, cached } = counter((n) => n);
    await cached.precacheValue(['stored'], 100);
    expect(await cached('stored')).toBe(100);
    disableCaching();
    expect(await cached('stored')).toBe(1); // not read
    expect(await cached('fresh')).toBe(2);
    expect(await cached('fresh')).toBe(3); // not written
    enableCaching();
    expect(await cached('stored')).toBe(100);
    expect(await cached('fresh')).toBe(4); // nothing was stored while disabled
    expect(await cached('fresh')).toBe(4);
    expect(state.n).toBe(4);
  });

  it('applies to wrappers made while disabled, once enabled', async () => {
    disableCaching();
    const { state, cached } = counter((n) => n);
    await cached();
    enableCaching();
    await cached();
    await cached();
    expect(state.n).toBe(2);
  });
});
