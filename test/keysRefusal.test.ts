import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  cacheKey,
  defaultKey,
  encodeArgs,
  MAX_DEPTH,
  MAX_ENCODED_LENGTH,
  MAX_ITEMS,
  publicKey,
  RAW_KEY_LIMIT,
  sha256Hex,
} from '../src/keys.js';

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

class Secret {
  #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
}

/** Public fields, but a private method: refused too (the check reads the class source). */
class WithPrivateMethod {
  constructor(public id: number) {}
  #helper(): number {
    return this.id;
  }
  run(): number {
    return this.#helper();
  }
}

class Base {
  #hidden = 1;
  hidden(): number {
    return this.#hidden;
  }
}
/** The private field is in a parent class: still refused. */
class Derived extends Base {
  constructor(public id: number) {
    super();
  }
}

class Stateless {
  run(): number {
    return 1;
  }
}

class Money {
  #cents: number;
  #currency: string;
  constructor(cents: number, currency: string) {
    this.#cents = cents;
    this.#currency = currency;
  }
  toJSON(): { cents: number; currency: string } {
    return { cents: this.#cents, currency: this.#currency };
  }
}

class OtherMoney {
  constructor(
    public cents: number,
    public currency: string,
  ) {}
  toJSON(): { cents: number; currency: string } {
    return { cents: this.cents, currency: this.currency };
  }
}

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

const TAG: unique symbol = Symbol('tag');

class Tagged {
  [TAG]: string;
  constructor(
    tag: string,
    public id: number,
  ) {
    this[TAG] = tag;
  }
}

class HttpError extends Error {
  constructor(
    message: string,
    public status: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

class Unnamed extends Error {}

class Counter extends Map<string, number> {
  label = 'x';
}

const HASH_ARGS = /Pass a hashArgs option|pass a hashArgs option/;

describe('keys see every argument or refuse it (issue 8)', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['Headers', () => new Headers({ a: '1' }), /a Headers keeps its content/],
    ['URLSearchParams', () => new URLSearchParams('a=1'), /a URLSearchParams keeps/],
    ['Blob', () => new Blob(['x']), /a Blob keeps/],
    ['File', () => new File(['x'], 'f.txt'), /a File keeps/],
    ['FormData', () => new FormData(), /a FormData keeps/],
    ['Request', () => new Request('https://a.example/'), /a Request keeps/],
    ['Response', () => new Response('x'), /a Response keeps/],
    ['AbortController', () => new AbortController(), /an AbortController keeps/],
    ['AbortSignal', () => new AbortController().signal, /an AbortSignal keeps/],
    ['EventTarget', () => new EventTarget(), /an EventTarget keeps/],
    ['EventEmitter', () => new EventEmitter(), /an EventEmitter keeps/],
    ['Node stream', () => Readable.from(['a']), /a Readable keeps/],
    ['ReadableStream', () => new ReadableStream(), /a ReadableStream keeps/],
    ['WeakMap', () => new WeakMap(), /a WeakMap cannot be enumerated/],
    ['WeakSet', () => new WeakSet(), /a WeakSet cannot be enumerated/],
    ['WeakRef', () => new WeakRef({}), /a WeakRef cannot be enumerated/],
    ['Promise', () => Promise.resolve(1), /a promise/],
    ['TextEncoder', () => new TextEncoder(), /a TextEncoder keeps/],
    [
      'Intl.Collator (native)',
      () => new Intl.Collator('en'),
      /a Collator keeps its content in internal slots/,
    ],
    [
      'generator',
      () =>
        (function* gen() {
          yield 1;
        })(),
      /iterator or generator/,
    ],
    ['Map iterator', () => new Map([[1, 2]]).entries(), /iterator or generator/],
    ['array iterator', () => [1][Symbol.iterator](), /iterator or generator/],
    ['class with #private fields', () => new Secret('a'), /a Secret keeps state in #private/],
    ['class with a #private method', () => new WithPrivateMethod(1), /#private/],
    [
      'subclass of a class with #private fields',
      () => new Derived(1),
      /a Derived keeps state in #private/,
    ],
    [
      'class instance without own fields',
      () => new Stateless(),
      /an instance of Stateless has no own enumerable/,
    ],
    ['class instance with symbol-keyed state', () => new Tagged('a', 1), /symbol keys/],
    ['subclass of Map', () => new Counter(), /a Counter keeps its content in internal slots/],
    [
      'Object.create of a data object',
      () => Object.assign(Object.create({ inherited: 1 }) as object, { own: 1 }),
      /not a class's prototype/,
    ],
  ];

  it.each(cases)('refuses %s, naming its path and the way out', (_name, make, reason) => {
    const message = rejection([1, { nested: [make()] }]);
    expect(message).toMatch(/^cachier cannot make a cache key from args\[1\]\.nested\[0\]: /);
    expect(message).toMatch(reason);
    expect(message).toMatch(HASH_ARGS);
  });

  it('points classes at toJSON() as well as hashArgs', () => {
    expect(rejection([new Secret('a')])).toContain('Define a toJSON() method');
    expect(rejection([new Stateless()])).toContain('Define a toJSON() method');
    expect(rejection([new Headers()])).toContain('plain data');
  });

  it('never lets invisible state share a key (the issue-8 reproduction)', () => {
    expect(() => defaultKey([1, new Headers({ a: '1' })])).toThrow(TypeError);
    expect(() => defaultKey([new Secret('a')])).toThrow(TypeError);
  });

  it('keeps plain data classes working, keyed by class name and fields', () => {
    expect(encodeArgs([new Point(1, 2)])).toBe('C"Point"{"x"d1;"y"d2;}');
    expect(defaultKey([new Point(1, 2)])).not.toBe(defaultKey([new Point(1, 3)]));
  });

  it('keys an Error subclass by its class, name, message and own fields', () => {
    expect(defaultKey([new HttpError('x', 404)])).not.toBe(defaultKey([new HttpError('x', 500)]));
    expect(defaultKey([new HttpError('x', 404)])).toBe(defaultKey([new HttpError('x', 404)]));
    expect(defaultKey([new Unnamed('x')])).not.toBe(defaultKey([new Error('x')]));
    expect(defaultKey([new Error('x', { cause: 1 })])).not.toBe(
      defaultKey([new Error('x', { cause: 2 })]),
    );
    expect(defaultKey([new Error('x', { cause: undefined })])).not.toBe(
      defaultKey([new Error('x')]),
    );
    expect(defaultKey([new AggregateError([1], 'x')])).not.toBe(
      defaultKey([new AggregateError([2], 'x')]),
    );
    const looped = new Error('x');
    looped.cause = looped;
    expect(rejection([looped])).toContain('args[0].cause: it is a circular reference');
  });
});

describe('toJSON() is honoured where a class defines it', () => {
  it('keys a URL by its href', () => {
    expect(encodeArgs([new URL('https://a.example/x')])).toBe('J"URL""https://a.example/x"');
  });

  it('keys a class with private state by what toJSON() returns', () => {
    expect(defaultKey([new Money(100, 'EUR')])).toBe(defaultKey([new Money(100, 'EUR')]));
    expect(defaultKey([new Money(100, 'EUR')])).not.toBe(defaultKey([new Money(100, 'USD')]));
  });

  it('tells apart classes whose toJSON() results are equal', () => {
    expect(defaultKey([new Money(1, 'EUR')])).not.toBe(defaultKey([new OtherMoney(1, 'EUR')]));
    expect(defaultKey([new Money(1, 'EUR')])).not.toBe(defaultKey([{ cents: 1, currency: 'EUR' }]));
  });

  it('refuses what toJSON() returns if the encoding cannot see it, naming the path', () => {
    class Wrapper {
      toJSON(): unknown {
        return { f: () => 1 };
      }
    }
    expect(rejection([new Wrapper()])).toContain('from args[0].<toJSON()>.f: a function');
  });

  it('refuses a toJSON() that returns the object itself', () => {
    class Self {
      toJSON(): unknown {
        return this;
      }
    }
    expect(rejection([new Self()])).toContain('args[0].<toJSON()>: it is a circular reference');
  });
});

describe('limits (issue 11)', () => {
  function nested(levels: number, wrap = (inner: unknown): unknown => ({ a: inner })): unknown {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = wrap(value);
    return value;
  }

  it(`accepts ${MAX_DEPTH} levels of nesting of every container, even from a deep stack`, () => {
    const wraps = [
      (inner: unknown) => ({ a: inner }),
      (inner: unknown) => [inner],
      (inner: unknown) => new Map([[1, inner]]),
      (inner: unknown) => new Set([inner]),
      (inner: unknown) => new Error('e', { cause: inner }),
    ];
    const deepCall = (frames: number, run: () => void): void => {
      if (frames === 0) run();
      else deepCall(frames - 1, run);
    };
    for (const wrap of wraps) {
      const value = nested(MAX_DEPTH, wrap);
      deepCall(2000, () => expect(() => encodeArgs([value])).not.toThrow());
    }
  });

  it('refuses deeper nesting with a TypeError naming the limit, not a stack overflow', () => {
    for (const levels of [MAX_DEPTH + 1, 2250, 100_000]) {
      const message = rejection([0, nested(levels)]);
      expect(message).toBe(
        `cachier cannot make a cache key from args[1]: it is nested more than ${MAX_DEPTH} levels deep (the limit). Pass a hashArgs option to build the key yourself.`,
      );
    }
    let deepArray: unknown = [];
    for (let i = 0; i < 5000; i++) deepArray = [deepArray];
    expect(rejection([deepArray])).toContain(`more than ${MAX_DEPTH} levels deep`);
  });

  it('refuses a sparse 2 ** 32 - 1 slot array at once, naming the limit', () => {
    const message = rejection([new Array(2 ** 32 - 1)]);
    expect(message).toContain('args[0]: the arguments hold more than 10,000,000 array slots');
  });

  it('counts items across the whole argument list', () => {
    const half = new Array(MAX_ITEMS / 2);
    expect(() => encodeArgs([half])).not.toThrow();
    expect(rejection([half, [half.slice(1), [1, 2]]])).toContain('args[1]: the arguments hold');
  });

  it('refuses an encoding over the length limit, naming the limit', () => {
    // Each element is a short string of control characters: 6 characters each once escaped.
    const chunk = '\u0001'.repeat(60_000);
    const count = Math.ceil(MAX_ENCODED_LENGTH / (chunk.length * 6)) + 1;
    const message = rejection([new Array(count).fill(chunk)]);
    expect(message).toContain('args[0]: the encoded arguments exceed the limit of 134,217,728');
    expect(message).not.toContain('\\u0001');
  });

  it('hashes long strings and byte arrays in place instead of growing the key', () => {
    const long = 'x'.repeat(1_000_000);
    expect(encodeArgs([long])).toMatch(/^L[0-9a-f]{64};$/);
    expect(encodeArgs([long])).not.toBe(encodeArgs([`${long.slice(1)}y`]));
    expect(encodeArgs(['x'.repeat(65_536)])).toBe(JSON.stringify('x'.repeat(65_536)));
    const bytes = Buffer.alloc(10_000, 1);
    expect(encodeArgs([bytes])).toMatch(/^T"Buffer"#[0-9a-f]{64};$/);
    const other = Buffer.from(bytes);
    other[9999] = 2;
    expect(encodeArgs([bytes])).not.toBe(encodeArgs([other]));
    expect(encodeArgs([bytes])).not.toBe(encodeArgs([new Uint8Array(bytes)]));
    expect(encodeArgs([Buffer.alloc(4096, 1)])).toBe(
      `T"Buffer"${Buffer.alloc(4096, 1).toString('base64')};`,
    );
    // Lone surrogates survive the hashed form.
    const a = `${'x'.repeat(70_000)}\uD800`;
    const b = `${'x'.repeat(70_000)}\uDC00`;
    expect(encodeArgs([a])).not.toBe(encodeArgs([b]));
  });
});

describe('cacheKey and publicKey', () => {
  const hashArgs = (args: unknown[]): string => `k:${String(args[0])}`;

  it('gives persistent cores the 64-hex SHA-256 of the encoding', () => {
    expect(cacheKey([1, 'a'], undefined, undefined, false)).toBe(defaultKey([1, 'a']));
    expect(cacheKey([1, 'a', undefined], undefined, undefined, false)).toBe(defaultKey([1, 'a']));
  });

  it('gives the memory core short raw keys and hashes long ones', () => {
    expect(cacheKey([1, 'a'], undefined, undefined, true)).toBe('rd1;"a"');
    const long = ['x'.repeat(RAW_KEY_LIMIT)];
    expect(cacheKey(long, undefined, undefined, true)).toBe(`R${defaultKey(long)}`);
  });

  it('uses the hashArgs result, hashed for persistent cores, raw for memory', () => {
    const self = { id: 7 };
    const seen: unknown[] = [];
    const spy = (args: unknown[], that: unknown): string => {
      seen.push(that);
      return hashArgs(args);
    };
    expect(cacheKey([3], self, spy, false)).toBe(sha256Hex('k:3'));
    expect(cacheKey([3], self, spy, true)).toBe('hk:3');
    expect(seen).toEqual([self, self]);
    const longResult = (): string => 'y'.repeat(RAW_KEY_LIMIT + 1);
    expect(cacheKey([], undefined, longResult, true)).toBe(
      `H${sha256Hex('y'.repeat(RAW_KEY_LIMIT + 1))}`,
    );
  });

  it('keeps default and hashArgs keys apart in the memory core', () => {
    // hashArgs returning the encoding itself must not meet the default key.
    const sneaky = (): string => 'd1;';
    expect(cacheKey([1], undefined, sneaky, true)).not.toBe(
      cacheKey([1], undefined, undefined, true),
    );
  });

  it('rejects a hashArgs result that is not a string, naming hashArgs', () => {
    const bad = (() => 1) as unknown as (args: unknown[]) => string;
    expect(() => cacheKey([], undefined, bad, true)).toThrow(
      /hashArgs option must return a string/,
    );
    expect(() => cacheKey([], undefined, bad, false)).toThrow(
      /hashArgs option must return a string/,
    );
  });

  it('refuses unkeyable arguments in both modes', () => {
    expect(() => cacheKey([new Headers()], undefined, undefined, true)).toThrow(TypeError);
    expect(() => cacheKey([new Headers()], undefined, undefined, false)).toThrow(TypeError);
  });

  it('maps every raw key to the key a persistent core would use', () => {
    for (const args of [[1, 'a'], ['x'.repeat(RAW_KEY_LIMIT)], [], [{ a: new Map([[1, 2]]) }]]) {
      const persistent = cacheKey(args, undefined, undefined, false);
      expect(publicKey(cacheKey(args, undefined, undefined, true))).toBe(persistent);
      expect(publicKey(persistent)).toBe(persistent);
    }
    for (const result of ['k', 'z'.repeat(RAW_KEY_LIMIT + 1)]) {
      const custom = (): string => result;
      const persistent = cacheKey([], undefined, custom, false);
      expect(publicKey(cacheKey([], undefined, custom, true))).toBe(persistent);
    }
  });
});
