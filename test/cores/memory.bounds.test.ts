import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CachierEvent, cachier, MemoryCore } from '../../src/index.js';
import { collectWarnings } from '../support/warnings.js';

/** A wrapper on `core` that records which arguments it calculated. */
function counting(core: MemoryCore) {
  const calculated: number[] = [];
  const cached = cachier(
    async (id: number) => {
      calculated.push(id);
      return `value ${id}`.padEnd(id >= 100 ? 1000 : 10, '.');
    },
    { name: `bounds-${randomUUID()}`, backend: core },
  );
  /** Whether `id` is still cached: calls it and checks nothing was calculated. */
  const cachedNow = async (id: number) => {
    const before = calculated.length;
    await cached(id);
    return calculated.length === before;
  };
  return { cached, calculated, cachedNow };
}

describe('bounded memory core', () => {
  it('evicts the least recently used entry beyond maxEntries: a recently read one survives', async () => {
    const { cached, cachedNow } = counting(new MemoryCore({ maxEntries: 3 }));
    await cached(1);
    await cached(2);
    await cached(3);
    await cached(1); // read: 1 is now the most recently used, 2 the least
    await cached(4); // a fourth entry evicts 2
    expect(await cachedNow(1)).toBe(true);
    expect(await cachedNow(3)).toBe(true);
    expect(await cachedNow(4)).toBe(true);
    expect(await cachedNow(2)).toBe(false);
  });

  it('evicts by size beyond maxSize, measured by sizeOf', async () => {
    const core = new MemoryCore({
      maxSize: 2_500,
      sizeOf: (value) => (value as string).length,
    });
    const { cached, cachedNow } = counting(core);
    await cached(1); // 10 bytes
    await cached(100); // 1000 bytes
    await cached(101); // 1000 bytes: 2010 in all
    await cached(1);
    await cached(102); // 3010 > 2500: the least recently used (100) goes
    expect(await cachedNow(100)).toBe(false);
    expect(await cachedNow(1)).toBe(true);
    expect(await cachedNow(102)).toBe(true);
  });

  it('measures values by their node:v8 serialization without sizeOf', async () => {
    const core = new MemoryCore({ maxSize: 1_500 });
    const { cached, cachedNow } = counting(core);
    await cached(100); // a 1000-character string: just over 1000 bytes serialized
    await cached(101);
    expect(await cachedNow(101)).toBe(true);
    expect(await cachedNow(100)).toBe(false);
  });

  it('keeps 10,000 entries per name by default: the 10,001st evicts the oldest', async () => {
    const core = new MemoryCore();
    const { cached, cachedNow } = counting(core);
    for (let id = 0; id < 10_000; id++) await cached(id);
    expect(await cachedNow(0)).toBe(true); // all 10,000 kept; 0 is now the most recent
    await cached(10_000);
    expect(await cachedNow(1)).toBe(false);
    expect(await cachedNow(0)).toBe(true);
  });

  it('bounds each name on its own', async () => {
    const core = new MemoryCore({ maxEntries: 2 });
    const a = counting(core);
    const b = counting(core);
    await a.cached(1);
    await a.cached(2);
    await b.cached(1);
    await b.cached(2);
    await b.cached(3);
    expect(await a.cachedNow(1)).toBe(true);
    expect(await a.cachedNow(2)).toBe(true);
    expect(await b.cachedNow(1)).toBe(false);
  });

  it('maxEntries: Infinity keeps everything', async () => {
    const { cached, cachedNow } = counting(
      new MemoryCore({ maxEntries: Number.POSITIVE_INFINITY }),
    );
    for (let id = 0; id < 10_050; id++) await cached(id);
    expect(await cachedNow(0)).toBe(true);
  });

  it('says a value larger than maxSize was not stored, instead of reporting it stored', async () => {
    const collected = collectWarnings();
    try {
      const events: string[] = [];
      let calls = 0;
      const cached = cachier(
        async () => {
          calls++;
          return 'y'.repeat(500);
        },
        {
          name: `bounds-${randomUUID()}`,
          backend: new MemoryCore({ maxSize: 100, sizeOf: (value) => (value as string).length }),
          onEvent: (event: CachierEvent) => {
            if (event.type === 'stored' || event.type === 'not-stored') {
              events.push(event.type === 'stored' ? 'stored' : `not-stored:${event.reason}`);
            }
          },
        },
      );
      await cached();
      await cached();
      expect(calls).toBe(2);
      expect(events).toEqual(['not-stored:store-failed', 'not-stored:store-failed']);
      expect(collected.codes()).toEqual(['CACHIER_STORE_FAILED']);
      expect(collected.warnings[0]!.message).toMatch(/CACHIER_ENTRY_TOO_LARGE.*maxSize/);
    } finally {
      collected.restore();
    }
  });

  it('never quotes a value it cannot measure (node:v8 quotes functions it cannot clone)', async () => {
    const collected = collectWarnings();
    try {
      const errors: unknown[] = [];
      const cached = cachier(async () => ({ pay: () => 'SECRET-IN-SOURCE' }), {
        name: `bounds-${randomUUID()}`,
        backend: new MemoryCore({ maxSize: 1_000_000 }),
        // A custom serializer lets the memory core keep values node:v8 cannot serialize.
        serializer: { serialize: () => new Uint8Array(1), deserialize: () => undefined },
        onEvent: (event: CachierEvent) => {
          if (event.type === 'store-error') errors.push(event.error);
        },
      });
      expect((await cached()).pay()).toBe('SECRET-IN-SOURCE');
      expect(errors).toHaveLength(1);
      expect(String((errors[0] as Error).message)).not.toContain('SECRET');
      expect((errors[0] as Error).message).toMatch(/sizeOf/);
      expect(collected.warnings.map((w) => w.message).join('\n')).not.toContain('SECRET');
      expect(collected.codes()).toEqual(['CACHIER_STORE_FAILED']);
    } finally {
      collected.restore();
    }
  });

  it('rejects bad bounds, naming them', () => {
    expect(() => new MemoryCore({ maxEntries: 0 })).toThrow(/maxEntries must be a number >= 1/);
    expect(() => new MemoryCore({ maxSize: Number.NaN })).toThrow(/maxSize must be a number >= 1/);
    expect(() => new MemoryCore({ sizeOf: 3 as never })).toThrow(/sizeOf must be a function/);
  });

  it('rejects unknown options, naming them', () => {
    expect(() => new MemoryCore({ maxEntrys: 5 } as never)).toThrow(
      "unknown MemoryCore option 'maxEntrys'. Valid ones are: maxEntries, maxSize, sizeOf",
    );
    expect(() => new MemoryCore(500 as never)).toThrow(/MemoryCore needs an options object/);
    expect(() => new MemoryCore()).not.toThrow();
  });
});
