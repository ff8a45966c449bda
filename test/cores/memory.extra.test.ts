import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cachier, MemoryCore } from '../../src/index.js';
import { collectWarnings } from '../support/warnings.js';

describe('memory core: values by reference', () => {
  it('returns the cached object itself: mutating it mutates the cache', async () => {
    let calls = 0;
    const load = cachier(async (id: string) => ({ id, tags: [] as string[], call: ++calls }), {
      backend: 'memory',
      name: `byref-${randomUUID()}`,
    });
    const first = await load('a');
    first.tags.push('edited');
    const second = await load('a');
    expect(second).toBe(first);
    expect(second.tags).toEqual(['edited']);
    expect(calls).toBe(1);
  });

  it('keeps a precached value by reference too', async () => {
    const load = cachier(async (_id: string) => ({ count: 0 }), {
      backend: new MemoryCore(),
      name: 'precached',
    });
    const value = { count: 41 };
    expect(await load.precacheValue(['x'], value)).toBe(value);
    value.count++;
    expect(await load('x')).toBe(value);
    expect((await load('x')).count).toBe(42);
  });

  it('applies the rule of every core: a value that would not come back as it was is returned, not stored, and warned once', async () => {
    const collected = collectWarnings();
    try {
      const callback = () => 'still callable';
      let calls = 0;
      const load = cachier(
        async () => {
          calls++;
          return { callback };
        },
        { backend: 'memory', name: `fn-${randomUUID()}` },
      );
      expect((await load()).callback).toBe(callback);
      expect((await load()).callback).toBe(callback);
      expect(calls).toBe(2);
      expect(collected.codes()).toEqual(['CACHIER_UNSERIALIZABLE']);
      expect(collected.warnings[0]?.message).toContain(load.cacheName);
    } finally {
      collected.restore();
    }
  });
});

describe("memory core: 'memory' wrappers and names", () => {
  it("each 'memory' wrapper has a store of its own, even under one name", async () => {
    const name = `own-${randomUUID()}`;
    let firstCalls = 0;
    const first = cachier(async (x: number) => `first ${x} ${++firstCalls}`, {
      backend: 'memory',
      name,
    });
    const second = cachier(async (x: number) => `second ${x}`, { backend: 'memory', name });
    expect(await first(1)).toBe('first 1 1');
    expect(await second(1)).toBe('second 1');
    expect(await first(1)).toBe('first 1 1');
    await second.clearCache();
    expect(await first(1)).toBe('first 1 1');
    expect(firstCalls).toBe(1);
  });

  it('wrappers given one MemoryCore instance and one name share entries', async () => {
    const store = new MemoryCore();
    const name = `shared-${randomUUID()}`;
    let firstCalls = 0;
    let secondCalls = 0;
    const first = cachier(async (x: number) => `first ${x} ${++firstCalls}`, {
      backend: store,
      name,
    });
    const second = cachier(async (x: number) => `second ${x} ${++secondCalls}`, {
      backend: store,
      name,
    });
    expect(await first(1)).toBe('first 1 1');
    expect(await second(1)).toBe('first 1 1');
    expect(await second(2)).toBe('second 2 1');
    expect(await first(2)).toBe('second 2 1');
    expect([firstCalls, secondCalls]).toEqual([1, 1]);
    await second.clearCache();
    expect(await first(1)).toBe('first 1 2');
  });

  it('wrappers with different names keep their entries apart', async () => {
    const first = cachier(async (x: number) => `first ${x}`, {
      backend: 'memory',
      name: `apart-a-${randomUUID()}`,
    });
    const second = cachier(async (x: number) => `second ${x}`, {
      backend: 'memory',
      name: `apart-b-${randomUUID()}`,
    });
    expect(await first(1)).toBe('first 1');
    expect(await second(1)).toBe('second 1');
    await first.clearCache();
    expect(await second.precacheValue([2], 'kept')).toBe('kept');
    expect(await first(2)).toBe('first 2');
  });

  it('separate MemoryCore instances do not share, even under one name', async () => {
    const name = `instances-${randomUUID()}`;
    const first = cachier(async () => 'first', { backend: new MemoryCore(), name });
    const second = cachier(async () => 'second', { backend: new MemoryCore(), name });
    expect(await first()).toBe('first');
    expect(await second()).toBe('second');
  });

  it('has no folder', () => {
    const cached = cachier(async () => 1, { backend: 'memory', name: 'no-folder' });
    expect(cached.cacheDpath()).toBeUndefined();
  });
});
