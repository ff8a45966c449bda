import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultKey, encodeArgs, keyFromHashArgs, sha256Hex } from '../src/keys.js';

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

class Vec {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

class HttpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

function fn(): number {
  return 1;
}

/** Message of the TypeError thrown by encodeArgs, failing the test if it does not throw one. */
function rejection(args: readonly unknown[]): string {
  try {
    encodeArgs(args);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as TypeError).message;
  }
  throw new Error('encodeArgs did not throw');
}

function sparse(): unknown[] {
  const array: unknown[] = [];
  array[1] = 1;
  return array;
}

describe('encodeArgs: values that must get different keys', () => {
  const cases: [string, unknown[], unknown[]][] = [
    ["string '1' vs number 1", ['1'], [1]],
    ['number 1 vs bigint 1n', [1], [1n]],
    ["string '1' vs bigint 1n", ['1'], [1n]],
    ["boolean true vs string 'true'", [true], ['true']],
    ['boolean true vs number 1', [true], [1]],
    ['-0 vs 0', [-0], [0]],
    ['nested -0 vs 0', [{ a: [-0] }], [{ a: [0] }]],
    ['NaN vs null', [NaN], [null]],
    ["NaN vs 'NaN'", [NaN], ['NaN']],
    ['Infinity vs -Infinity', [Infinity], [-Infinity]],
    ["Infinity vs 'Infinity'", [Infinity], ['Infinity']],
    ['undefined vs null (not trailing)', [undefined, 1], [null, 1]],
    ['undefined vs null in an array', [[undefined]], [[null]]],
    ['array [1] vs object {0: 1}', [[1]], [{ 0: 1 }]],
    ['Map vs plain object with the same content', [new Map([['a', 1]])], [{ a: 1 }]],
    ['Set vs array with the same content', [new Set([1, 2])], [[1, 2]]],
    ['Map vs Set', [new Map()], [new Set()]],
    ['Map key 1 vs Map key "1"', [new Map([[1, 'a']])], [new Map([['1', 'a']])]],
    ['Map with different values', [new Map([['a', 1]])], [new Map([['a', 2]])]],
    ['Set [1, 2] vs Set [1]', [new Set([1, 2])], [new Set([1])]],
    ['Date vs its timestamp', [new Date(0)], [0]],
    ['Date vs another Date', [new Date(0)], [new Date(1)]],
    ['Date vs ISO string', [new Date(0)], [new Date(0).toISOString()]],
    ['Buffer vs Uint8Array with the same bytes', [Buffer.from([1, 2])], [new Uint8Array([1, 2])]],
    ['Uint8Array vs Int8Array with the same bytes', [new Uint8Array([1])], [new Int8Array([1])]],
    [
      'Float64Array vs Uint8Array with the same bytes',
      [new Float64Array([1])],
      [new Uint8Array(new Float64Array([1]).buffer)],
    ],
    [
      'DataView vs ArrayBuffer with the same bytes',
      [new DataView(new ArrayBuffer(2))],
      [new ArrayBuffer(2)],
    ],
    ['ArrayBuffer vs Uint8Array with the same bytes', [new ArrayBuffer(2)], [new Uint8Array(2)]],
    ['Uint8Array with different bytes', [new Uint8Array([1, 2])], [new Uint8Array([1, 3])]],
    ['Uint8Array vs array of numbers', [new Uint8Array([1])], [[1]]],
    ['RegExp flags differ', [/a/g], [/a/i]],
    ['RegExp sources differ', [/a/], [/b/]],
    ["RegExp vs string 'a'", [/a/], ['a']],
    ['class Point vs plain object', [new Point(1, 2)], [{ x: 1, y: 2 }]],
    ['class Point vs class Vec', [new Point(1, 2)], [new Vec(1, 2)]],
    ['Point(1, 2) vs Point(2, 1)', [new Point(1, 2)], [new Point(2, 1)]],
    ['Error messages differ', [new Error('a')], [new Error('b')]],
    ['Error vs TypeError', [new Error('a')], [new TypeError('a')]],
    ['Error vs named subclass', [new Error('a')], [new HttpError('a')]],
    [
      'Error vs plain object with name and message',
      [new Error('a')],
      [{ name: 'Error', message: 'a' }],
    ],
    ['boxed Number vs number', [new Number(1)], [1]],
    ['boxed String vs string', [new String('a')], ['a']],
    ['boxed Boolean vs boolean', [new Boolean(false)], [false]],
    ['boxed Number(-0) vs boxed Number(0)', [new Number(-0)], [new Number(0)]],
    ['property with undefined value vs missing property', [{ a: undefined }], [{}]],
    ['hole vs null', [sparse()], [[null, 1]]],
    ['leading undefined argument vs none', [undefined, 1], [1]],
    ['two strings vs their concatenation', ['a', 'b'], ['ab']],
    ['arguments vs an array argument', ['a', 'b'], [['a', 'b']]],
    ['string containing a quote', ['a"', 'b'], ['a', '"b']],
    ['string that looks like an encoding', ['d1;'], [1]],
    ['nested arrays split differently', [[[1], [2]]], [[[1, 2]]]],
    ['empty array argument vs no argument', [[]], []],
    ['nested object vs dotted key', [{ a: { b: 1 } }], [{ 'a.b': 1 }]],
    ['extra property', [{ a: 1, b: 2 }], [{ a: 1 }]],
    ['lone surrogate vs replacement character', ['\uD800'], ['\uFFFD']],
    ['URLs differ', [new URL('https://a.example/x')], [new URL('https://a.example/y')]],
    ['URL vs its href', [new URL('https://a.example/')], ['https://a.example/']],
    // Match arrays carry index, input and groups: a function may read them.
    ["'b' matched at 0 vs at 1", ['b'.match(/b/)], ['ab'.match(/b/)]],
    ['array with a named property vs without', [Object.assign([1], { x: 2 })], [[1]]],
    [
      'array with a named property vs the array and an object',
      [Object.assign([1], { x: 2 })],
      [[1], { x: 2 }],
    ],
    [
      'named property of a sparse array vs of a dense one',
      [Object.assign(sparse(), { x: 1 })],
      [Object.assign([undefined, 1], { x: 2 })],
    ],
  ];

  it.each(cases)('%s', (_name, a, b) => {
    expect(encodeArgs(a)).not.toBe(encodeArgs(b));
    expect(defaultKey(a)).not.toBe(defaultKey(b));
  });
});

describe('encodeArgs: values that must get the same key', () => {
  const shared = { x: 1 };
  const bytes = Buffer.from([0, 1, 2, 3]);
  const regexp = /a/g;
  regexp.lastIndex = 3;
  const nullProto = Object.assign(Object.create(null) as object, { a: 1 });
  const errorA = new Error('boom');
  const errorB = new Error('boom');
  const cases: [string, unknown[], unknown[]][] = [
    ['object key order', [{ a: 1, b: { c: 2, d: 3 } }], [{ b: { d: 3, c: 2 }, a: 1 }]],
    ['integer-like key order', [{ 10: 'a', 9: 'b', x: 1 }], [{ x: 1, 9: 'b', 10: 'a' }]],
    [
      'Map insertion order',
      [
        new Map<unknown, unknown>([
          ['a', 1],
          [2, 'b'],
        ]),
      ],
      [
        new Map<unknown, unknown>([
          [2, 'b'],
          ['a', 1],
        ]),
      ],
    ],
    ['Set insertion order', [new Set([3, 'x', 1])], [new Set([1, 3, 'x'])]],
    ['NaN vs NaN', [NaN], [Number('not a number')]],
    ['distinct Dates at the same time', [new Date(5)], [new Date(5)]],
    ['hole vs undefined', [sparse()], [[undefined, 1]]],
    [
      'hole vs undefined, with one named property',
      [Object.assign(sparse(), { x: 1 })],
      [Object.assign([undefined, 1], { x: 1 })],
    ],
    [
      'named properties in another order',
      [Object.assign([1], { x: 1, y: 2 })],
      [Object.assign([1], { y: 2, x: 1 })],
    ],
    ['null-prototype object vs plain object', [nullProto], [{ a: 1 }]],
    ['distinct Buffers with the same bytes', [Buffer.from([1, 2])], [Buffer.from([1, 2])]],
    [
      'view at an offset vs fresh Uint8Array',
      [new Uint8Array(bytes.buffer, bytes.byteOffset + 1, 2)],
      [new Uint8Array([1, 2])],
    ],
    ['Errors with the same name and message', [errorA], [errorB]],
    ['RegExp lastIndex is ignored', [regexp], [/a/g]],
    ['boxed Numbers', [new Number(1)], [new Number(1)]],
    ['class instances with the same fields', [new Point(1, 2)], [new Point(1, 2)]],
    ['shared reference vs equal copies', [[shared, shared]], [[{ x: 1 }, { x: 1 }]]],
    ['symbol-keyed properties are ignored', [{ [Symbol('s')]: 1, a: 1 }], [{ a: 1 }]],
    [
      'non-enumerable properties are ignored',
      [Object.defineProperty({ a: 1 }, 'b', { value: 2 })],
      [{ a: 1 }],
    ],
    ['equal URLs', [new URL('https://a.example/x')], [new URL('https://a.example/x')]],
    [
      'Float64Array view at an offset vs fresh Float64Array',
      [new Float64Array([0, 1.5, 2]).subarray(1, 2)],
      [new Float64Array([1.5])],
    ],
  ];

  it.each(cases)('%s', (_name, a, b) => {
    expect(encodeArgs(a)).toBe(encodeArgs(b));
    expect(defaultKey(a)).toBe(defaultKey(b));
  });
});

describe('encodeArgs: trailing undefined arguments', () => {
  it('does not change the key', () => {
    expect(defaultKey([1])).toBe(defaultKey([1, undefined]));
    expect(defaultKey([1])).toBe(defaultKey([1, undefined, undefined]));
    expect(defaultKey([])).toBe(defaultKey([undefined]));
  });

  it('keeps undefined arguments before the last defined one', () => {
    expect(defaultKey([undefined, 1])).not.toBe(defaultKey([1]));
    expect(defaultKey([1, undefined, 2])).not.toBe(defaultKey([1, 2]));
  });

  it('keeps trailing undefined inside an array argument', () => {
    expect(defaultKey([[1, undefined]])).not.toBe(defaultKey([[1]]));
  });
});

describe('encodeArgs: format', () => {
  it('produces the documented encoding', () => {
    expect(encodeArgs([1, 'a', -0, NaN, 1n, null, undefined, true, false])).toBe(
      'd1;"a"d-0;dNaN;i1;nutf',
    );
    expect(encodeArgs([{ b: [1], a: undefined }])).toBe('{"a"u"b"[d1;]}');
    expect(encodeArgs([new Point(1, 2)])).toBe('C"Point"{"x"d1;"y"d2;}');
    expect(encodeArgs([new Map([['a', 1]]), new Set([2, 1])])).toBe('M"a"d1;)Sd1;d2;)');
    expect(encodeArgs([Buffer.from('hi'), new Date(0), /a/g])).toBe('T"Buffer"aGk=;D0;R"a""g"');
    expect(encodeArgs(['xb'.match(/b/)])).toBe('A["b"]{"groups"u"index"d1;"input""xb"}');
  });

  it('is stable across releases (changing it invalidates every stored cache)', () => {
    const args = [1, 'two', { three: [3n, new Date(3)], four: new Map([[4, new Set([4])]]) }];
    expect(defaultKey(args)).toBe(sha256Hex(encodeArgs(args)));
    expect(encodeArgs(args)).toBe('d1;"two"{"four"Md4;Sd4;))"three"[i3;D3;]}');
  });

  it('is well-formed UTF-16 even for lone surrogates', () => {
    const encoded = encodeArgs(['\uD800', { '\uDC00': 1 }]);
    expect(encoded).toBe('"\\ud800"{"\\udc00"d1;}');
  });
});

describe('encodeArgs: rejected values', () => {
  const suffix = '. Pass a hashArgs option to build the key yourself.';

  it('names a function nested in objects', () => {
    expect(rejection([1, { user: { callback: fn } }])).toBe(
      `cachier cannot make a cache key from args[1].user.callback: a function has no stable identity${suffix}`,
    );
  });

  it('names a function as an argument', () => {
    expect(rejection([fn])).toContain('from args[0]: a function');
  });

  it('names a function in an array', () => {
    expect(rejection([[0, 1, fn]])).toContain('from args[0][2]: a function');
  });

  it('names keys that are not identifiers by position, never by content', () => {
    expect(rejection([{ 'weird key': fn }])).toContain('from args[0].<property 0>: a function');
    expect(rejection([{ 0: { a: fn } }])).toContain('from args[0].<property 0>.a: a function');
    const message = rejection([{ 'alice@example.com': 1, b: 2, 'bob@example.com': [fn] }]);
    expect(message).toContain('from args[0].<property 2>[0]: a function');
    expect(message).not.toContain('example');
  });

  it('names a function as a Map value by the entry position, never by its key', () => {
    expect(rejection([new Map([['a', fn]])])).toBe(
      `cachier cannot make a cache key from args[0].<Map entry 0>: a function has no stable identity${suffix}`,
    );
    const message = rejection([
      new Map<unknown, unknown>([
        ['x', 1],
        [2, 2],
        [{}, 3],
        ['alice@example.com', { f: fn }],
      ]),
    ]);
    expect(message).toContain('from args[0].<Map entry 3>.f: a function');
    expect(message).not.toContain('alice');
  });

  it('names a function as a Map key', () => {
    expect(
      rejection([
        new Map<unknown, number>([
          ['a', 1],
          [fn, 2],
        ]),
      ]),
    ).toContain('from args[0].<Map entry 1 key>: a function');
  });

  it('names a function in a Set', () => {
    expect(rejection([new Set([1, [fn]])])).toContain(
      'from args[0].<Set element 1>[0]: a function',
    );
  });

  it('rejects symbols, boxed or not', () => {
    expect(rejection([Symbol('s')])).toContain('from args[0]: a symbol has no stable identity');
    expect(rejection([{ a: [Symbol('s')] }])).toContain('from args[0].a[0]: a symbol');
    expect(rejection([Object(Symbol('s'))])).toContain('from args[0]: a symbol');
  });

  it('rejects promises and other thenables', () => {
    expect(rejection([Promise.resolve(1)])).toContain('from args[0]: a promise');
    expect(rejection([1, { data: Promise.resolve(1) }])).toContain('from args[1].data: a promise');
    // biome-ignore lint/suspicious/noThenProperty: a hand-made thenable is the point of the test
    expect(rejection([{ then: () => undefined }])).toContain('from args[0]: a promise');
  });

  it('accepts an object whose then is not callable', () => {
    // biome-ignore lint/suspicious/noThenProperty: a non-callable then must not count as thenable
    expect(() => encodeArgs([{ then: 'later' }])).not.toThrow();
  });

  it('rejects weak collections', () => {
    expect(rejection([new WeakMap()])).toContain('from args[0]: a WeakMap cannot be enumerated');
    expect(rejection([{ s: new WeakSet() }])).toContain('from args[0].s: a WeakSet');
  });

  it('rejects a self-referencing object and names both ends', () => {
    const node: { name: string; self?: unknown } = { name: 'n' };
    node.self = node;
    expect(rejection([node])).toBe(
      `cachier cannot make a cache key from args[0].self: it is a circular reference back to args[0]${suffix}`,
    );
  });

  it('rejects a deeper cycle', () => {
    const inner: unknown[] = [1];
    const outer = { a: { list: inner } };
    inner.push(outer.a);
    expect(rejection([0, outer])).toContain(
      'from args[1].a.list[1]: it is a circular reference back to args[1].a.',
    );
  });

  it('rejects cycles through Maps and Sets', () => {
    const map = new Map<string, unknown>();
    map.set('me', map);
    expect(rejection([map])).toContain(
      'from args[0].<Map entry 0>: it is a circular reference back to args[0].',
    );
    const set = new Set<unknown>();
    set.add(set);
    expect(rejection([set])).toContain('from args[0].<Set element 0>: it is a circular');
  });

  it('accepts a shared, non-circular reference (a DAG)', () => {
    const leaf = { v: 1 };
    const mid = { left: leaf, right: leaf };
    const dag = [mid, mid, new Map([['m', mid]]), new Set([leaf])];
    expect(() => encodeArgs([dag, dag, leaf])).not.toThrow();
  });

  it('passes through errors thrown by getters unchanged', () => {
    const boom = new RangeError('getter failed');
    const value = {
      get broken(): never {
        throw boom;
      },
    };
    expect(() => encodeArgs([value])).toThrow(boom);
  });
});

describe('sha256Hex', () => {
  it('matches known vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('defaultKey', () => {
  it('is 64 hex characters', () => {
    expect(defaultKey([{ a: 1 }])).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('keyFromHashArgs', () => {
  it('hashes the string so no argument data appears in the key', () => {
    const key = keyFromHashArgs('user:alice@example.com');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).toBe(sha256Hex('user:alice@example.com'));
    expect(key).not.toContain('alice');
  });

  it('rejects results that are not strings', () => {
    for (const result of [1, undefined, null, {}, ['a'], 1n]) {
      expect(() => keyFromHashArgs(result)).toThrow(TypeError);
      expect(() => keyFromHashArgs(result)).toThrow(/hashArgs/);
    }
  });
});

/** Generated values that structuredClone copies faithfully (no Buffers or class instances). */
const cloneableArgs = fc.array(
  fc.anything({
    maxDepth: 3,
    maxKeys: 5,
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withObjectString: true,
    withNullPrototype: true,
    withBigInt: true,
    withDate: true,
    withTypedArray: true,
    withSparseArray: true,
    stringUnit: 'binary',
  }),
  { maxLength: 4 },
);

/** Tiny deterministic PRNG, so a shrunk counterexample replays the same permutation. */
function shuffler(seed: number): <T>(items: T[]) => T[] {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  return (items) => {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [items[i], items[j]] = [
        items[j] as (typeof items)[number],
        items[i] as (typeof items)[number],
      ];
    }
    return items;
  };
}

/** A deep copy whose objects, Maps and Sets were filled in a different order. */
function reorder(value: unknown, shuffle: <T>(items: T[]) => T[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => reorder(item, shuffle));
  if (value instanceof Map) {
    const entries = shuffle([...value].map(([k, v]) => [reorder(k, shuffle), reorder(v, shuffle)]));
    return new Map(entries as [unknown, unknown][]);
  }
  if (value instanceof Set) return new Set(shuffle([...value].map((v) => reorder(v, shuffle))));
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const copy = Object.create(proto as object | null) as Record<string, unknown>;
  for (const key of shuffle(Object.keys(value))) {
    // defineProperty, so that a generated "__proto__" key stays an own property.
    Object.defineProperty(copy, key, {
      value: reorder((value as Record<string, unknown>)[key], shuffle),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/**
 * Values where node's isDeepStrictEqual agrees with the spec's notion of equality:
 * no null prototypes or holes (isDeepStrictEqual tells them apart), no invalid Dates or
 * float arrays (NaN handling differs), fresh RegExps (lastIndex is compared).
 */
function comparable(leaf: fc.Arbitrary<unknown>, key: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      tie('leaf'),
      tie('array'),
      tie('object'),
      tie('map'),
      tie('set'),
      tie('instance'),
    ),
    leaf,
    array: fc.array(tie('value'), { maxLength: 3 }),
    object: fc.dictionary(key, tie('value'), { maxKeys: 3, noNullPrototype: true }),
    map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((e) => new Map(e)),
    set: fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
    instance: fc
      .tuple(fc.boolean(), tie('leaf'), tie('leaf'))
      .map(([isPoint, x, y]) =>
        isPoint ? new Point(x as number, y as number) : new Vec(x as number, y as number),
      ),
  })).value;
}

/** So few leaves that random values are often equal or nearly so. */
const tinyLeaf = fc
  .constantFrom<(() => unknown)[]>(
    () => undefined,
    () => null,
    () => Number.NaN,
    () => 0,
    () => -0,
    () => 1,
    () => 1n,
    () => '',
    () => '"',
    () => '1',
    () => true,
    () => new Date(0),
    () => /a/,
    () => /a/g,
    () => new Uint8Array([1]),
    () => new Int8Array([1]),
    () => Buffer.from([1]),
    () => new Number(0),
    () => new Number(-0),
    () => new String(''),
  )
  .map((make) => make());

const broadLeaf = fc.oneof(
  tinyLeaf,
  fc.constantFrom(Infinity, -Infinity, false, 'a', 'ab', '\uD800', '\uFFFD'),
  fc.integer({ min: -2, max: 2 }),
  fc.double(),
  fc.string({ maxLength: 2, unit: 'binary' }),
  fc.bigInt({ min: -2n, max: 2n }),
  fc.date({ noInvalidDate: true }),
  fc.constantFrom('a', 'b').chain((s) => fc.constantFrom(new RegExp(s), new RegExp(s, 'g'))),
  fc.uint8Array({ maxLength: 2, max: 1 }),
  fc.int8Array({ maxLength: 2, min: 0, max: 1 }),
  fc.uint8Array({ maxLength: 2, max: 1 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(0, 1, -0).map((n) => new Number(n)),
  fc.constantFrom('', 'a').map((s) => new String(s)),
);

const tinyValue = comparable(tinyLeaf, fc.constantFrom('a', ''));
const broadValue = comparable(broadLeaf, fc.constantFrom('a', 'b', '0', '__proto__', '', '\uD800'));

type Edit = 'replace' | 'drop' | 'addUndefined' | 'reverse' | 'swapClass';

/**
 * A fresh copy of `value` with one small edit at the `target.index`-th node (pre-order), so
 * that pairs are often equal or nearly so. Edits that do not fit the node replace it instead.
 */
function mutate(value: unknown, target: { index: number }, edit: Edit, leaf: unknown): unknown {
  const here = target.index-- === 0;
  const next = (item: unknown): unknown => mutate(item, target, edit, leaf);
  if (Array.isArray(value)) {
    const items = value.map(next);
    if (here && edit === 'drop') items.pop();
    else if (here && edit === 'addUndefined') items.push(undefined);
    else if (here && edit === 'reverse') items.reverse();
    else if (here) return leaf;
    return items;
  }
  if (value instanceof Map) {
    const entries: [unknown, unknown][] = [...value].map(([k, v]) => [next(k), next(v)]);
    if (here && edit === 'drop') entries.shift();
    else if (here && edit === 'addUndefined') entries.push(['b', undefined]);
    else if (here && edit === 'reverse') entries.reverse();
    else if (here) return leaf;
    return new Map(entries);
  }
  if (value instanceof Set) {
    const items = [...value].map(next);
    if (here && edit === 'drop') items.shift();
    else if (here && edit === 'addUndefined') items.push(undefined);
    else if (here && edit === 'reverse') items.reverse();
    else if (here) return leaf;
    return new Set(items);
  }
  if (value instanceof Point || value instanceof Vec) {
    const [x, y] = [next(value.x) as number, next(value.y) as number];
    if (here && edit === 'swapClass')
      return value instanceof Point ? new Vec(x, y) : new Point(x, y);
    if (here) return leaf;
    return value instanceof Point ? new Point(x, y) : new Vec(x, y);
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    const entries = Object.entries(value).map(([k, v]): [string, unknown] => [k, next(v)]);
    if (here && edit === 'drop') entries.shift();
    else if (here && edit === 'addUndefined') entries.push(['b', undefined]);
    else if (here && edit === 'reverse') entries.reverse();
    else if (here) return leaf;
    const copy: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      Object.defineProperty(copy, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return copy;
  }
  return here ? leaf : value;
}

function dropTrailingUndefined(args: readonly unknown[]): unknown[] {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  return args.slice(0, end);
}

describe('properties', () => {
  it('a structured clone gets the same key', () => {
    fc.assert(
      fc.property(cloneableArgs, (args) => {
        expect(defaultKey(structuredClone(args))).toBe(defaultKey(args));
      }),
      { numRuns: 500 },
    );
  });

  it('reordering object keys and Map/Set entries gets the same key', () => {
    fc.assert(
      fc.property(cloneableArgs, fc.integer(), (args, seed) => {
        expect(defaultKey(reorder(args, shuffler(seed)) as unknown[])).toBe(defaultKey(args));
      }),
      { numRuns: 500 },
    );
  });

  it('values get the same key exactly when they are deeply equal', () => {
    fc.assert(
      fc.property(fc.array(tinyValue, { minLength: 2, maxLength: 12 }), (values) => {
        // Every pair of a small domain: many pairs are equal or nearly so.
        for (const a of values) {
          for (const b of values) {
            expect(defaultKey([a]) === defaultKey([b])).toBe(isDeepStrictEqual(a, b));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a value and a slightly edited copy get the same key exactly when deeply equal', () => {
    const edit = fc.constantFrom<Edit>('replace', 'drop', 'addUndefined', 'reverse', 'swapClass');
    fc.assert(
      fc.property(tinyValue, fc.nat(20), edit, tinyLeaf, (a, index, kind, leaf) => {
        const b = mutate(a, { index }, kind, leaf);
        expect(defaultKey([a]) === defaultKey([b])).toBe(isDeepStrictEqual(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes every string exactly as JSON.stringify does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (text) => {
        expect(encodeArgs([text])).toBe(JSON.stringify(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('argument lists get the same key exactly when equal up to trailing undefined', () => {
    const args = fc.array(broadValue, { maxLength: 3 });
    fc.assert(
      fc.property(args, args, (a, b) => {
        const equal = isDeepStrictEqual(dropTrailingUndefined(a), dropTrailingUndefined(b));
        expect(defaultKey(a) === defaultKey(b)).toBe(equal);
      }),
      { numRuns: 500 },
    );
  });
});
