/**
 * What node:v8 gives back, verified on the running Node, and what findV8Loss says about it:
 * every accepted value really round-trips equal with the same prototypes, every refused one
 * really changes (or cannot be serialized at all).
 */

import { types } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ARRAY_KEY_CHECK_LIMIT, findV8Loss } from '../src/v8Fidelity.js';

function roundTrip<T>(value: T): T {
  return deserialize(serialize(value)) as T;
}

/** Same prototypes all the way down (toStrictEqual compares constructors, not prototypes). */
function expectSamePrototypes(back: unknown, original: unknown, seen = new Set<unknown>()): void {
  if (typeof original !== 'object' || original === null || seen.has(original)) return;
  seen.add(original);
  expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(original));
  if (original instanceof Map) {
    const backEntries = [...(back as Map<unknown, unknown>)];
    [...original].forEach(([k, v], i) => {
      expectSamePrototypes(backEntries[i]?.[0], k, seen);
      expectSamePrototypes(backEntries[i]?.[1], v, seen);
    });
  } else if (original instanceof Set) {
    const backElements = [...(back as Set<unknown>)];
    let i = 0;
    for (const element of original) expectSamePrototypes(backElements[i++], element, seen);
  } else if (original instanceof Error) {
    expectSamePrototypes((back as Error).cause, original.cause, seen);
  } else if (!ArrayBuffer.isView(original)) {
    for (const key of Object.keys(original)) {
      expectSamePrototypes(
        (back as Record<string, unknown>)[key],
        (original as Record<string, unknown>)[key],
        seen,
      );
    }
  }
}

/** ES2024 types are not in this project's lib; Node 20 has resizable buffers. */
interface ResizableArrayBuffer extends ArrayBuffer {
  readonly resizable: boolean;
  readonly maxByteLength: number;
}
function resizableBuffer(length: number, maxByteLength: number): ResizableArrayBuffer {
  const Resizable = ArrayBuffer as unknown as new (
    length: number,
    options: { maxByteLength: number },
  ) => ResizableArrayBuffer;
  return new Resizable(length, { maxByteLength });
}

/** The `v` flag is ES2024, beyond this project's TypeScript target; Node 20 has it. */
function regExp(source: string, flags: string): RegExp {
  return new RegExp(source, flags);
}

function errorWith<E extends Error>(error: E, fields: Record<string, unknown>): E {
  return Object.assign(error, fields);
}

class Invoice {
  constructor(public total = 3) {}
}
class ValidationError extends Error {
  override name = 'ValidationError';
}

const cyclic: Record<string, unknown> = { name: 'loop' };
cyclic.self = cyclic;
const shared = { id: 1 };
const sparse: unknown[] = [1];
sparse[2] = 3;
sparse.length = 6;
const arrayWithExtra: unknown[] & { note?: string } = [1, 2];
arrayWithExtra.note = 'kept';

const ACCEPTED: [string, unknown][] = [
  ['a string', 'text'],
  ['NaN', Number.NaN],
  ['-0', -0],
  ['a bigint', -(2n ** 70n)],
  ['undefined', undefined],
  ['null', null],
  ['booleans in an object', { t: true, f: false }],
  ['nested plain data', { a: { b: [{ c: 'd' }] }, u: undefined, n: null }],
  ['an object with a __proto__ own key', JSON.parse('{"__proto__": {"x": 1}, "b": 2}')],
  ['a sparse array', sparse],
  ['an array with an enumerable named property', arrayWithExtra],
  ['a cycle', cyclic],
  ['shared references', { a: shared, b: shared, list: [shared] }],
  ['a Date', new Date('2001-02-03T04:05:06.789Z')],
  ['an invalid Date', new Date(Number.NaN)],
  ['a RegExp with every flag', /a(?<n>b)/dgimsuy],
  ['a RegExp with the v flag', regExp('[\\p{L}--[a-z]]', 'v')],
  [
    'a Map with object keys',
    new Map<unknown, unknown>([
      [{ k: 1 }, new Set([1n])],
      ['s', [1]],
    ]),
  ],
  ['a Set', new Set(['a', { b: 1 }])],
  ['boxed primitives', [new Number(1), new String('ab'), new Boolean(false), Object(1n)]],
  ['an ArrayBuffer', new Uint8Array([1, 2, 3]).buffer],
  ['a resizable ArrayBuffer', resizableBuffer(8, 16)],
  ['a DataView', new DataView(new ArrayBuffer(8), 2, 4)],
  ['a Buffer', Buffer.from([0, 1, 250])],
  ['a Buffer slice of the pool', Buffer.from('pooled').subarray(1, 3)],
  [
    'every typed array',
    [
      new Int8Array([-1]),
      new Uint8Array([1]),
      new Uint8ClampedArray([2]),
      new Int16Array([-3]),
      new Uint16Array([3]),
      new Int32Array([-4]),
      new Uint32Array([4]),
      new Float32Array([1.5]),
      new Float64Array([2.5]),
      new BigInt64Array([-5n]),
      new BigUint64Array([5n]),
    ],
  ],
  ['a plain Error', new Error('m')],
  ['an Error without message', new Error()],
  ['an Error with a cause', new Error('m', { cause: new TypeError('inner') })],
  ['an Error with an undefined cause', new Error('m', { cause: undefined })],
  [
    'each built-in Error type',
    [
      new EvalError('e'),
      new RangeError('r'),
      new ReferenceError('f'),
      new SyntaxError('s'),
      new TypeError('t'),
      new URIError('u'),
    ],
  ],
  [
    'an Error thrown by JSON.parse',
    (() => {
      try {
        JSON.parse('{');
      } catch (e) {
        return e;
      }
    })(),
  ],
];

describe('values node:v8 gives back as they were', () => {
  it.each(ACCEPTED)('%s is accepted and round-trips with the same prototypes', (_, value) => {
    expect(findV8Loss(value)).toBeUndefined();
    const back = roundTrip(value);
    expect(back).toStrictEqual(value);
    expectSamePrototypes(back, value);
  });

  it('keeps holes, not undefined elements', () => {
    const back = roundTrip(sparse);
    expect(back.length).toBe(6);
    expect(1 in back).toBe(false);
    expect(5 in back).toBe(false);
  });

  it('keeps cycles and shared references', () => {
    const back = roundTrip({ a: shared, b: shared });
    expect(back.a).toBe(back.b);
    const self = roundTrip(cyclic);
    expect(self.self).toBe(self);
  });

  it("keeps each built-in Error's type, name, message, stack and cause", () => {
    for (const Type of [
      Error,
      EvalError,
      RangeError,
      ReferenceError,
      SyntaxError,
      TypeError,
      URIError,
    ]) {
      const error = new Type('message', { cause: 'why' });
      const back = roundTrip(error);
      expect(Object.getPrototypeOf(back)).toBe(Type.prototype);
      expect(back.name).toBe(Type.name);
      expect(back.message).toBe('message');
      expect(back.stack).toBe(error.stack);
      expect(back.cause).toBe('why');
    }
  });

  it('gives a Buffer back as a Buffer, a resizable ArrayBuffer back resizable', () => {
    expect(Buffer.isBuffer(roundTrip(Buffer.from('x')))).toBe(true);
    const buffer = roundTrip(resizableBuffer(8, 16));
    expect([buffer.resizable, buffer.maxByteLength]).toEqual([true, 16]);
  });

  it('keeps the RegExp flags and named groups', () => {
    const back = roundTrip(/a(?<n>b)/dgimsuy);
    expect(back.flags).toBe('dgimsuy');
    expect(back.exec('ab')?.groups?.n).toBe('b');
  });

  it('checks an arbitrarily deep value without overflowing the stack', () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findV8Loss(deep)).toBeUndefined();
    (deep as unknown[]).push(() => 1);
    expect(findV8Loss(deep)).toBe('value[1]: a function');
  });

  it('ends on large cycles and on graphs with many shared references', () => {
    const nodes = Array.from({ length: 5000 }, (_, i) => ({ i, next: undefined as unknown }));
    nodes.forEach((node, i) => {
      node.next = nodes[(i + 1) % nodes.length];
    });
    expect(findV8Loss(nodes[0])).toBeUndefined();
    // A diamond chain: 2^60 paths, 60 levels.
    let diamond: unknown = { leaf: true };
    for (let i = 0; i < 60; i++) diamond = { left: diamond, right: diamond };
    expect(findV8Loss(diamond)).toBeUndefined();
  });
});

const accessor = {
  get total() {
    return 3;
  },
};
const nonEnumerable = { shown: 1 };
Object.defineProperty(nonEnumerable, 'hidden', { value: 2, enumerable: false });
const symbolKeyed = { shown: 1, [Symbol('k')]: 2 };
const nullPrototype = Object.assign(Object.create(null) as object, { a: 1 });
const withStatus = errorWith(new Error('failed'), { status: 500 });
const renamed = errorWith(new TypeError('m'), { name: 'RangeError' });
const usedRegExp = /a/g;
usedRegExp.exec('aaa');
const arrayWithHidden: unknown[] = [1];
Object.defineProperty(arrayWithHidden, 'hidden', { value: 2, enumerable: false });
const mapWithExtra = Object.assign(new Map(), { note: 1 });
const dateWithExtra = Object.assign(new Date(0), { note: 1 });
const typedOnResizable = new Uint8Array(resizableBuffer(4, 8), 0, 4);
const typedOnShared = new Uint8Array(new SharedArrayBuffer(4));
const messageNotString = new Error('m');
messageNotString.message = 5 as unknown as string;
const stackNotString = new Error('m');
stackNotString.stack = 5 as unknown as string;

/** [label, value, findV8Loss's answer, how the round trip changes it ('throws' if it fails)] */
const REFUSED: [string, unknown, string, ((back: never) => boolean) | 'throws'][] = [
  ['a function', () => 1, 'value: a function', 'throws'],
  ['a symbol', Symbol('s'), 'value: a symbol', 'throws'],
  ['a nested function', { a: [{ f: () => 1 }] }, 'value.a[0].f: a function', 'throws'],
  [
    'a function in a Map entry',
    {
      m: new Map<number, unknown>([
        [0, 1],
        [1, 2],
        [2, 3],
        [3, () => 1],
      ]),
    },
    'value.m.<Map entry 3>: a function',
    'throws',
  ],
  ['a symbol as a Map key', new Map([[Symbol('k'), 1]]), 'value.<Map key 0>: a symbol', 'throws'],
  ['a symbol in a Set', new Set([1, Symbol('s')]), 'value.<Set element 1>: a symbol', 'throws'],
  ['a boxed symbol', [Object(Symbol('s'))], 'value[0]: a symbol', 'throws'],
  [
    'a class instance',
    { items: [1, 2, new Invoice()] },
    'value.items[2]: an instance of class Invoice',
    (back: { items: unknown[] }) => Object.getPrototypeOf(back.items[2]) === Object.prototype,
  ],
  [
    'an instance of an anonymous class',
    new (class {})(),
    'value: an instance of an anonymous class',
    (back: object) => Object.getPrototypeOf(back) === Object.prototype,
  ],
  [
    'a class with private state',
    new (class Secretive {
      #token = 'x';
      get token() {
        return this.#token;
      }
    })(),
    'value: an instance of class Secretive',
    (back: object) => Object.keys(back).length === 0 && !('token' in back),
  ],
  [
    'a URL',
    new URL('https://example.com/a'),
    'value: a URL (not kept by node:v8)',
    (back: object) => !(back instanceof URL) && Object.keys(back).length === 0,
  ],
  [
    'URLSearchParams',
    { q: new URLSearchParams('a=1') },
    'value.q: a URLSearchParams (not kept by node:v8)',
    (back: { q: object }) => !(back.q instanceof URLSearchParams),
  ],
  ['a Promise', { p: Promise.resolve(1) }, 'value.p: a Promise (not kept by node:v8)', 'throws'],
  ['a WeakMap', new WeakMap(), 'value: a WeakMap (not kept by node:v8)', 'throws'],
  ['a Blob', new Blob(['x']), 'value: a Blob (not kept by node:v8)', 'throws'],
  ['a Proxy', { p: new Proxy({}, {}) }, 'value.p: a Proxy (node:v8 cannot store it)', 'throws'],
  [
    'an Error subclass',
    { err: new ValidationError('bad') },
    'value.err: an Error subclass (ValidationError)',
    (back: { err: Error }) =>
      Object.getPrototypeOf(back.err) === Error.prototype && back.err.name === 'Error',
  ],
  [
    'an Error with extra fields',
    { err: withStatus },
    'value.err: an Error with extra fields (node:v8 keeps only message, stack and cause)',
    (back: { err: Error & { status?: number } }) => back.err.status === undefined,
  ],
  [
    'an Error renamed to another type',
    renamed,
    'value: an Error with extra fields (node:v8 keeps only message, stack and cause)',
    (back: Error) => Object.getPrototypeOf(back) === RangeError.prototype,
  ],
  [
    'an Error with its own name, even its type name',
    errorWith(new TypeError('m'), { name: 'TypeError' }),
    'value: an Error with extra fields (node:v8 keeps only message, stack and cause)',
    (back: Error) => !Object.hasOwn(back, 'name'),
  ],
  [
    'an Error whose message is not a string',
    messageNotString,
    'value: an Error whose message is not a string (comes back changed)',
    (back: Error) => back.message === '5',
  ],
  [
    'an Error whose stack is not a string',
    stackNotString,
    'value: an Error whose stack is not a string (comes back undefined)',
    (back: Error) => back.stack === undefined,
  ],
  [
    'an AggregateError',
    new AggregateError([new Error('x')], 'many'),
    'value: an AggregateError (comes back as a plain Error without its errors)',
    (back: AggregateError) =>
      Object.getPrototypeOf(back) === Error.prototype && !('errors' in back),
  ],
  [
    'a DOMException',
    new DOMException('stop', 'AbortError'),
    'value: a DOMException (not kept by node:v8)',
    (back: object) => !(back instanceof DOMException),
  ],
  [
    'a function inside an Error cause',
    new Error('m', { cause: { retry: () => 1 } }),
    'value.cause.retry: a function',
    'throws',
  ],
  [
    'an object with a null prototype',
    { dict: nullPrototype },
    'value.dict: an object with a null prototype (comes back with Object.prototype)',
    (back: { dict: object }) => Object.getPrototypeOf(back.dict) === Object.prototype,
  ],
  [
    'a getter',
    { order: accessor },
    'value.order.total: a getter/setter (stored as its current value)',
    (back: { order: object }) => 'value' in Object.getOwnPropertyDescriptor(back.order, 'total')!,
  ],
  [
    'a non-enumerable property',
    nonEnumerable,
    'value.hidden: a non-enumerable property (dropped)',
    (back: object) => !('hidden' in back),
  ],
  [
    'a symbol-keyed property',
    symbolKeyed,
    'value.<property 1>: a symbol-keyed property (dropped)',
    (back: object) => Object.getOwnPropertySymbols(back).length === 0,
  ],
  [
    'a non-enumerable property of an array',
    arrayWithHidden,
    'value.hidden: a non-enumerable property (dropped)',
    (back: object) => !('hidden' in back),
  ],
  [
    'an array subclass',
    new (class Rows extends Array {})(),
    'value: an instance of class Rows',
    (back: object) => Object.getPrototypeOf(back) === Array.prototype,
  ],
  [
    'a Map subclass',
    new (class Registry extends Map {})(),
    'value: an instance of class Registry',
    (back: object) => Object.getPrototypeOf(back) === Map.prototype,
  ],
  [
    'a typed array subclass',
    new (class Pixels extends Uint8Array {})(2),
    'value: an instance of class Pixels',
    (back: object) => Object.getPrototypeOf(back) === Uint8Array.prototype,
  ],
  [
    'an object only pretending to be a Map',
    Object.setPrototypeOf({}, Map.prototype),
    'value: an object that only pretends to be a Map',
    (back: object) => Object.getPrototypeOf(back) === Object.prototype,
  ],
  [
    'a Map with an extra property',
    mapWithExtra,
    'value: a Map with extra properties (dropped)',
    (back: { note?: number }) => back.note === undefined,
  ],
  [
    'a Date with an extra property',
    dateWithExtra,
    'value: a Date with extra properties (dropped)',
    (back: { note?: number }) => back.note === undefined,
  ],
  [
    'a RegExp whose lastIndex is set',
    usedRegExp,
    'value: a RegExp with lastIndex set (comes back as 0)',
    (back: RegExp) => back.lastIndex === 0,
  ],
  [
    'a typed array over a resizable buffer',
    typedOnResizable,
    'value: a Uint8Array over a resizable ArrayBuffer (comes back fixed-length)',
    (back: Uint8Array) => (back.buffer as ResizableArrayBuffer).resizable === false,
  ],
  [
    'a typed array over a SharedArrayBuffer',
    typedOnShared,
    'value: a Uint8Array over a SharedArrayBuffer (comes back over an unshared copy)',
    (back: Uint8Array) => !types.isSharedArrayBuffer(back.buffer),
  ],
  [
    'a SharedArrayBuffer',
    new SharedArrayBuffer(4),
    'value: a SharedArrayBuffer (not kept by node:v8)',
    'throws',
  ],
];

describe('values node:v8 would change', () => {
  it.each(REFUSED)('%s is refused, and really would change', (_, value, loss, changed) => {
    expect(findV8Loss(value)).toBe(loss);
    if (changed === 'throws') {
      expect(() => roundTrip(value)).toThrow();
    } else {
      expect(changed(roundTrip(value) as never)).toBe(true);
    }
  });

  it('names odd keys by position, never by their text', () => {
    const value = { 'alice@example.com': { 'a b': new Invoice() } };
    expect(findV8Loss(value)).toBe('value.<property 0>.<property 0>: an instance of class Invoice');
  });

  it('never quotes the data', () => {
    const secret = 'SECRET-7f3a';
    const values = [
      { [secret]: new Invoice() },
      { a: secret, b: new URL(`https://${secret}.example`) },
      new Map([[secret, () => secret]]),
      errorWith(new Error(secret), { detail: secret }),
    ];
    for (const value of values) {
      const loss = findV8Loss(value);
      expect(loss).toBeDefined();
      expect(loss).not.toContain(secret);
    }
  });

  it('finds a loss behind a cycle and names a path that leads to it', () => {
    const root: Record<string, unknown> = { items: [] };
    const item = { owner: root, invoice: new Invoice() };
    (root.items as unknown[]).push(item);
    expect(findV8Loss(root)).toBe('value.items[0].invoice: an instance of class Invoice');
  });

  it('finds a loss in a value shared by many paths, past the untracked budget', () => {
    const leaf = { bad: new Invoice() };
    const wide = Array.from({ length: 3000 }, () => ({ leaf: { ok: 1 } }));
    wide.push({ leaf: leaf as never });
    expect(findV8Loss({ wide })).toBe('value.wide[3000].leaf.bad: an instance of class Invoice');
  });

  it(`checks named properties of arrays up to ${ARRAY_KEY_CHECK_LIMIT} elements`, () => {
    const small: unknown[] & { meta?: unknown } = [1, 2];
    small.meta = new Invoice();
    expect(findV8Loss(small)).toBe('value.meta: an instance of class Invoice');
    // Elements of long arrays are still checked one by one.
    const long = Array.from({ length: ARRAY_KEY_CHECK_LIMIT + 1 }, () => 0) as unknown[];
    long[ARRAY_KEY_CHECK_LIMIT] = new Invoice();
    expect(findV8Loss(long)).toBe(`value[${ARRAY_KEY_CHECK_LIMIT}]: an instance of class Invoice`);
  });
});
