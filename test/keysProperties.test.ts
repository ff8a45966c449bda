/**
 * Properties of the default key over argument trees that include class instances whose state
 * the encoding can see (fields, toJSON) and cannot (no fields, #private): different trees never
 * share a key (one of them may be refused instead), and equal trees always do.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultKey } from '../src/keys.js';

class Point {
  constructor(
    public x: unknown,
    public y: unknown,
  ) {}
}

class Vec {
  constructor(
    public x: unknown,
    public y: unknown,
  ) {}
}

class Empty {}

class Secret {
  #value: unknown;
  constructor(value: unknown) {
    this.#value = value;
  }
  reveal(): unknown {
    return this.#value;
  }
}

class Money {
  #cents: unknown;
  constructor(cents: unknown) {
    this.#cents = cents;
  }
  toJSON(): unknown {
    return { cents: this.#cents };
  }
}

/** The key, or 'refused' for the TypeError the spec allows; any other throw fails the test. */
function keyOf(value: unknown): string {
  try {
    return defaultKey([value]);
  } catch (error) {
    if (error instanceof TypeError && error.message.startsWith('cachier cannot make')) {
      return 'refused';
    }
    throw error;
  }
}

/**
 * The whole state of a tree, hidden fields included, as something isDeepStrictEqual compares
 * exactly: the ground truth of "these arguments are equal".
 */
function truth(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(truth);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [truth(k), truth(v)]));
  if (value instanceof Set) return new Set([...value].map(truth));
  if (value instanceof Secret) return { secret: truth(value.reveal()) };
  if (value instanceof Money) return { money: truth(value.toJSON()) };
  if (value instanceof Empty) return { empty: true };
  if (value instanceof Point || value instanceof Vec) {
    return { [value.constructor.name]: { x: truth(value.x), y: truth(value.y) } };
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    return { object: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, truth(v)])) };
  }
  return value; // Dates, typed arrays: compared by content.
}

function equalTrees(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(truth(a), truth(b));
}

/** Few distinct leaves, so random trees are often equal or nearly so. */
const leaf = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, Number.NaN, 0, -0, 1, '', '0', 'a', true, false, 0n),
  fc.constantFrom(0, 1).map((t) => new Date(t)),
  fc
    .constantFrom<(() => unknown)[]>(
      () => new Uint8Array([1]),
      () => new Int8Array([1]),
      () => new Uint8Array([1, 0]),
      () => new Uint16Array([1]),
      () => new BigInt64Array([1n]),
      () => Buffer.from([1]),
    )
    .map((make) => make()),
);

const tree = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('array'),
    tie('object'),
    tie('map'),
    tie('set'),
    tie('instance'),
  ),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc
    .array(fc.tuple(fc.constantFrom('a', 'b', 'x', ''), tie('value')), { maxLength: 3 })
    .map((entries) => Object.fromEntries(entries)),
  map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((e) => new Map(e)),
  set: fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
  instance: fc
    .tuple(fc.constantFrom('point', 'vec', 'empty', 'secret', 'money'), leaf, leaf)
    .map(([kind, x, y]) => {
      switch (kind) {
        case 'point':
          return new Point(x, y);
        case 'vec':
          return new Vec(x, y);
        case 'empty':
          return new Empty();
        case 'secret':
          return new Secret(x);
        default:
          return new Money(x);
      }
    }),
})).value;

/** Tiny deterministic PRNG, so a shrunk counterexample replays the same permutation. */
function shuffler(seed: number): <T>(items: T[]) => T[] {
  let state = seed >>> 0 || 1;
  return (items) => {
    for (let i = items.length - 1; i > 0; i--) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const j = (state >>> 0) % (i + 1);
      [items[i], items[j]] = [
        items[j] as (typeof items)[number],
        items[i] as (typeof items)[number],
      ];
    }
    return items;
  };
}

/** An equal deep copy built in a different order (object keys, Map and Set entries, fields). */
function reorder(value: unknown, shuffle: <T>(items: T[]) => T[]): unknown {
  const again = (item: unknown): unknown => reorder(item, shuffle);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(again);
  if (value instanceof Map) {
    return new Map(shuffle([...value].map(([k, v]): [unknown, unknown] => [again(k), again(v)])));
  }
  if (value instanceof Set) return new Set(shuffle([...value].map(again)));
  if (value instanceof Secret) return new Secret(again(value.reveal()));
  if (value instanceof Money) return new Money(again((value.toJSON() as { cents: unknown }).cents));
  if (value instanceof Empty) return new Empty();
  const proto = Object.getPrototypeOf(value) as object;
  if (proto !== Object.prototype && proto !== Point.prototype && proto !== Vec.prototype) {
    return value; // Dates and typed arrays are immutable here: sharing them is fine.
  }
  const copy = Object.create(proto) as Record<string, unknown>;
  for (const key of shuffle(Object.keys(value))) {
    copy[key] = again((value as Record<string, unknown>)[key]);
  }
  return copy;
}

/** A copy of `value` with the `target.index`-th node (pre-order) replaced by `replacement`. */
function replaceNode(value: unknown, target: { index: number }, replacement: unknown): unknown {
  if (target.index-- === 0) return replacement;
  const next = (item: unknown): unknown => replaceNode(item, target, replacement);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(next);
  if (value instanceof Map) {
    return new Map([...value].map(([k, v]): [unknown, unknown] => [next(k), next(v)]));
  }
  if (value instanceof Set) return new Set([...value].map(next));
  if (value instanceof Point) return new Point(next(value.x), next(value.y));
  if (value instanceof Vec) return new Vec(next(value.x), next(value.y));
  if (value instanceof Secret) return new Secret(next(value.reveal()));
  if (value instanceof Money) return new Money(next((value.toJSON() as { cents: unknown }).cents));
  if (Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, next(v)]));
  }
  return value;
}

function containsHidden(value: unknown): boolean {
  if (value instanceof Empty || value instanceof Secret) return true;
  if (typeof value !== 'object' || value === null) return false;
  if (value instanceof Money) return containsHidden(value.toJSON());
  if (value instanceof Map)
    return [...value].some(([k, v]) => containsHidden(k) || containsHidden(v));
  if (value instanceof Set || Array.isArray(value)) return [...value].some(containsHidden);
  if (ArrayBuffer.isView(value) || value instanceof Date) return false;
  return Object.values(value).some(containsHidden);
}

describe('key properties over class instances and built-ins (issue 8)', () => {
  it('random pairs of unequal trees never share a key', () => {
    fc.assert(
      fc.property(tree, tree, (a, b) => {
        const [keyA, keyB] = [keyOf(a), keyOf(b)];
        if (keyA !== 'refused' && keyA === keyB) expect(equalTrees(a, b)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('a tree and a copy with one node replaced share a key only when equal', () => {
    fc.assert(
      fc.property(tree, fc.nat(15), tree, (a, index, replacement) => {
        const b = replaceNode(a, { index }, replacement);
        const [keyA, keyB] = [keyOf(a), keyOf(b)];
        if (keyA !== 'refused' && keyA === keyB) expect(equalTrees(a, b)).toBe(true);
        if (keyA !== 'refused' && keyB !== 'refused' && equalTrees(a, b)) {
          expect(keyA).toBe(keyB);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('equal trees built in another order share a key (or are both refused)', () => {
    fc.assert(
      fc.property(tree, fc.integer(), (a, seed) => {
        const b = reorder(a, shuffler(seed));
        expect(equalTrees(a, b)).toBe(true);
        expect(keyOf(b)).toBe(keyOf(a));
      }),
      { numRuns: 2000 },
    );
  });

  it('a tree is refused exactly when it holds state the key cannot see', () => {
    fc.assert(
      fc.property(tree, (a) => {
        expect(keyOf(a) === 'refused').toBe(containsHidden(a));
      }),
      { numRuns: 2000 },
    );
  });
});
