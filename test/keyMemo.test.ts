import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cachier, MemoryCore } from '../src/index.js';
import { KeyMemo } from '../src/keyMemo.js';
import { cacheKey } from '../src/keys.js';

const rawKey = (args: readonly unknown[]) => cacheKey(args, undefined, undefined, true);

const primitive = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, Number.NaN, 0, -0, 1, '', '0', 'a', true, false, 0n),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 80 }),
  fc.bigInt(),
);

describe('KeyMemo', () => {
  it('gives exactly the key the encoder gives, for any list of primitives, asked any number of times', () => {
    const memo = new KeyMemo(rawKey);
    fc.assert(
      fc.property(fc.array(primitive, { maxLength: 4 }), (args) => {
        expect(memo.keyOf(args)).toBe(rawKey(args));
        expect(memo.keyOf(args)).toBe(rawKey(args));
      }),
      { numRuns: 3000 },
    );
  });

  it('tells 0 from -0, 1 from "1", and a trailing undefined as the encoder does', () => {
    const memo = new KeyMemo(rawKey);
    const lists: unknown[][] = [[0], [-0], [1], ['1'], [1, undefined], [null], [false], [0n]];
    for (const args of lists) memo.keyOf(args);
    for (const args of lists) expect(memo.keyOf(args)).toBe(rawKey(args));
    expect(memo.keyOf([0])).not.toBe(memo.keyOf([-0]));
    expect(memo.keyOf([1, undefined])).toBe(memo.keyOf([1]));
  });

  it('stays exact after starting over and after giving up on arguments that never repeat', () => {
    const memo = new KeyMemo(rawKey);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < KeyMemo.limit * 2; i++)
        expect(memo.keyOf([i, 'x'])).toBe(rawKey([i, 'x']));
    }
    expect(memo.keyOf([5, 'x'])).toBe(rawKey([5, 'x']));
  });

  it('builds a key every time for what it does not remember, and passes on its errors', () => {
    let builds = 0;
    const memo = new KeyMemo((args) => {
      builds++;
      return rawKey(args);
    });
    const object = { a: 1 };
    const long = 'y'.repeat(KeyMemo.maxStringLength + 1);
    memo.keyOf([object]);
    memo.keyOf([object]);
    memo.keyOf([long]);
    memo.keyOf([long]);
    expect(builds).toBe(4);
    memo.keyOf([7]);
    memo.keyOf([7]);
    expect(builds).toBe(5);
    expect(() => memo.keyOf([Symbol('s')])).toThrow(TypeError);
  });
});

describe('memory-core hits: the key memo and the settled promise of an entry', () => {
  it('calculates 0 and -0 separately, as every other core does', async () => {
    let calls = 0;
    const sign = cachier(async (n: number) => `${Object.is(n, -0) ? '-' : '+'}${++calls}`, {
      backend: new MemoryCore(),
      name: 'memo-zero',
    });
    expect(await sign(0)).toBe('+1');
    expect(await sign(-0)).toBe('-2');
    expect(await sign(0)).toBe('+1');
    expect(await sign(-0)).toBe('-2');
  });

  it('serves the new value after an entry is replaced, never the promise of the old one', async () => {
    let calls = 0;
    const load = cachier(async (id: number) => `v${id}-${++calls}`, {
      backend: new MemoryCore(),
      name: 'memo-replaced',
    });
    expect(await load(1)).toBe('v1-1');
    expect(await load(1)).toBe('v1-1');
    await load.precacheValue([1], 'precached');
    expect(await load(1)).toBe('precached');
    expect(await load.withOptions({ overwriteCache: true })(1)).toBe('v1-2');
    expect(await load(1)).toBe('v1-2');
    await load.clearEntry(1);
    expect(await load(1)).toBe('v1-3');
    expect(await load(2)).toBe('v2-4');
    expect(await load(1)).toBe('v1-3');
  });
});
