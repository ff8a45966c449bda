/**
 * The fidelity table: the single source of truth for which arguments cachier keys and which
 * it refuses, and which results it stores and which it returns without storing.
 *
 * Every row is run on every core by test/fidelity/fidelity.test.ts (through
 * test/fidelity/runner.ts, in this process for the memory core and in fresh child processes
 * for the others); the expected observations are derived from each row's `outcome` alone, so
 * a core that disagrees with the rule fails the row, whatever the core.
 *
 * Makers are functions, not values: each process (and each call) builds its own argument or
 * result, exactly as a program that restarts would.
 */
import superjson from 'superjson';
import type { CachierOptions } from '../../src/index.js';

/**
 * Put inside every argument that must be refused and every result that must not be stored:
 * no error or warning message may ever contain it.
 */
export const SECRET = 'SECRET-fidelity-7f3a';

// ---------------------------------------------------------------------------------------------
// Classes used by the rows

/** A plain data class: its whole state is in own enumerable fields. */
export class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

/** Another class with the same fields as {@link Point}: must never share a key with it. */
export class Vec {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

/** A class whose state is invisible to an encoder: `#private` fields. */
export class Secretive {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
}

/** A class that says what its content is, through `toJSON()`. */
export class Money {
  readonly #cents: number;
  readonly #currency: string;
  constructor(cents: number, currency: string) {
    this.#cents = cents;
    this.#currency = currency;
  }
  toJSON(): { cents: number; currency: string } {
    return { cents: this.#cents, currency: this.#currency };
  }
}

/** An `Error` subclass with an extra field, as HTTP clients throw and return. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A subclass of a built-in that node:v8 keeps: it would come back as a plain `Map`. */
export class Registry extends Map<string, number> {}

/** A class kept across processes by the superjson serializer row. */
export class Invoice {
  constructor(
    readonly id: string,
    readonly lines: number[],
  ) {}
  total(): number {
    return this.lines.reduce((sum, line) => sum + line, 0);
  }
}
superjson.registerClass(Invoice, { identifier: 'fidelity.Invoice' });

/** The `serializer` option of the superjson row, as the values README part shows it. */
export const superjsonSerializer: NonNullable<CachierOptions['serializer']> = {
  serialize: (value) => Buffer.from(superjson.stringify(value)),
  deserialize: (bytes) => superjson.parse(Buffer.from(bytes).toString()),
};

// One instance per process of what has no content to compare: deep equality of two results
// that hold them must not fail for a reason other than cachier's.
const A_FUNCTION = () => SECRET;
const A_SYMBOL = Symbol(SECRET);
const A_PROMISE = Promise.resolve(SECRET);
const A_WEAK_MAP = new WeakMap<object, string>();

// ---------------------------------------------------------------------------------------------
// Argument rows

/**
 * An argument type. It is always passed as `args[1]` (after a constant `args[0]`).
 * - `keyed`: every variant gets its own entry (each first call calculates, and a later call
 *   with an equal variant, in this or another process, is a hit on that variant's value);
 *   `same()` builds a value equal to `variants[0]` in a different way (another instance,
 *   another insertion order) and must be a hit on variant 0's value.
 * - `refused`: every call rejects with a TypeError naming `args[1]` and `hashArgs`, never
 *   quoting {@link SECRET}; the function is never called.
 */
export type ArgumentRow =
  | {
      id: string;
      outcome: 'keyed';
      variants: Array<() => unknown>;
      same: () => unknown;
    }
  | {
      id: string;
      outcome: 'refused';
      variants: Array<() => unknown>;
    };

/**
 * An array of `length` slots, holes but for the last one. Assigning the last index of an
 * empty array keeps it sparse in V8 (setting `length` first allocates every slot).
 */
function sparse(length: number, value: unknown): unknown[] {
  const array: unknown[] = [];
  array[length - 1] = value;
  return array;
}

function nested(depth: number, leaf: unknown): unknown {
  let value: unknown = leaf;
  for (let level = 0; level < depth; level++) value = { inner: value };
  return value;
}

function circular(): unknown {
  const node: { name: string; self?: unknown } = { name: SECRET };
  node.self = node;
  return node;
}

export const ARGUMENT_ROWS: ArgumentRow[] = [
  // Objects whose content is not in their own enumerable properties.
  {
    id: 'Headers',
    outcome: 'refused',
    variants: [() => new Headers({ a: SECRET }), () => new Headers({ a: '2' })],
  },
  {
    id: 'URLSearchParams',
    outcome: 'refused',
    variants: [() => new URLSearchParams({ q: SECRET }), () => new URLSearchParams({ q: '2' })],
  },
  { id: 'Blob', outcome: 'refused', variants: [() => new Blob([SECRET]), () => new Blob(['2'])] },
  {
    id: 'AbortSignal',
    outcome: 'refused',
    variants: [() => new AbortController().signal, () => AbortSignal.abort(SECRET)],
  },
  {
    id: 'Request',
    outcome: 'refused',
    variants: [
      () => new Request(`https://example.com/${SECRET}`),
      () => new Request('https://example.com/2'),
    ],
  },
  {
    id: 'WeakMap',
    outcome: 'refused',
    variants: [() => new WeakMap([[{}, SECRET]]), () => new WeakMap()],
  },
  {
    id: 'Promise',
    outcome: 'refused',
    variants: [() => Promise.resolve(SECRET), () => Promise.resolve(2)],
  },
  {
    id: 'class with #private fields',
    outcome: 'refused',
    variants: [() => new Secretive(SECRET), () => new Secretive('2')],
  },
  {
    id: 'nested function',
    outcome: 'refused',
    variants: [() => ({ callback: () => SECRET }), () => ({ callback: () => 2 })],
  },
  {
    id: 'nested symbol',
    outcome: 'refused',
    variants: [() => ({ tag: Symbol(SECRET) }), () => ({ tag: Symbol('2') })],
  },
  { id: 'circular object', outcome: 'refused', variants: [circular] },
  {
    id: 'nesting past the depth limit',
    outcome: 'refused',
    variants: [() => nested(600, SECRET), () => nested(600, 2)],
  },
  {
    id: 'sparse array past the size limit',
    outcome: 'refused',
    variants: [() => sparse(20_000_000, SECRET), () => sparse(30_000_000, 2)],
  },
  // Keyed by content.
  {
    id: 'class with own enumerable fields',
    outcome: 'keyed',
    variants: [
      () => new Point(1, 2),
      () => new Point(1, 3),
      () => new Vec(1, 2),
      () => ({ x: 1, y: 2 }),
    ],
    same: () => new Point(1, 2),
  },
  {
    id: 'class with toJSON',
    outcome: 'keyed',
    variants: [
      () => new Money(100, 'EUR'),
      () => new Money(100, 'USD'),
      () => ({ cents: 100, currency: 'EUR' }),
    ],
    same: () => new Money(100, 'EUR'),
  },
  {
    id: 'URL',
    outcome: 'keyed',
    variants: [
      () => new URL('https://example.com/a'),
      () => new URL('https://example.com/b'),
      () => 'https://example.com/a',
    ],
    same: () => new URL('/a', 'https://example.com'),
  },
  {
    id: 'Map in different insertion orders',
    outcome: 'keyed',
    variants: [
      () =>
        new Map<unknown, unknown>([
          ['a', 1],
          [2, 'b'],
        ]),
      () =>
        new Map<unknown, unknown>([
          ['a', 1],
          [2, 'c'],
        ]),
      () => ({ a: 1, 2: 'b' }),
    ],
    same: () =>
      new Map<unknown, unknown>([
        [2, 'b'],
        ['a', 1],
      ]),
  },
  {
    id: 'Set in different insertion orders',
    outcome: 'keyed',
    variants: [() => new Set([1, 'a', 2]), () => new Set([1, 'a']), () => [1, 'a', 2]],
    same: () => new Set([2, 1, 'a']),
  },
  {
    id: 'Date',
    outcome: 'keyed',
    variants: [() => new Date(0), () => new Date(1), () => 0, () => new Date(0).toISOString()],
    same: () => new Date('1970-01-01T00:00:00.000Z'),
  },
  {
    id: 'BigInt',
    outcome: 'keyed',
    variants: [() => 2n ** 70n, () => 2n ** 70n + 1n, () => 1n, () => 1, () => '1'],
    same: () => BigInt('1180591620717411303424'),
  },
  {
    id: 'typed arrays',
    outcome: 'keyed',
    variants: [
      () => new Uint8Array([1, 2]),
      () => new Uint8Array([1, 3]),
      () => new Int8Array([1, 2]),
      () => Buffer.from([1, 2]),
      () => new Float64Array([1, 2]),
      () => [1, 2],
    ],
    same: () => Uint8Array.from([1, 2]),
  },
  {
    id: '-0 and NaN',
    outcome: 'keyed',
    variants: [() => -0, () => 0, () => Number.NaN, () => Number.POSITIVE_INFINITY],
    same: () => -1 * 0,
  },
  {
    id: 'NaN',
    outcome: 'keyed',
    variants: [() => Number.NaN, () => 0],
    same: () => 0 / 0,
  },
  {
    id: 'undefined vs null',
    outcome: 'keyed',
    variants: [
      () => ({ a: undefined }),
      () => ({ a: null }),
      () => ({}),
      () => null,
      () => [undefined],
      () => [null],
    ],
    same: () => ({ a: undefined }),
  },
  {
    id: 'nested arrays and objects',
    outcome: 'keyed',
    variants: [
      () => ({ a: [1, { b: 2, c: [3] }], d: 'x' }),
      () => ({ a: [1, { b: 2, c: [4] }], d: 'x' }),
      () => ({ a: [[1], { b: 2, c: [3] }], d: 'x' }),
      () => ({ a: [1, { b: 2, c: [3] }] }),
    ],
    same: () => ({ d: 'x', a: [1, { c: [3], b: 2 }] }),
  },
  {
    id: 'sparse array within the limits',
    outcome: 'keyed',
    variants: [() => sparse(1000, 1), () => sparse(1000, 2), () => sparse(1001, 1)],
    same: () => {
      const array: unknown[] = new Array(999).fill(undefined);
      array.push(1);
      return array;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Value rows

/**
 * A result type.
 * - `stored`: the next call is a hit, in this process and after a restart, and gives back a
 *   value deep-equal to `make()` with the same prototype chain.
 * - `unserializable`: every call returns `make()`'s value but nothing is stored (each call
 *   calculates); one CACHIER_UNSERIALIZABLE warning per wrapper, a `not-stored` event with
 *   reason `unserializable` per call.
 * - `none-not-allowed`: `null`/`undefined` without `allowNone`: returned, not stored, a
 *   `not-stored` event with reason `none-not-allowed` and no warning.
 */
export interface ValueRow {
  id: string;
  outcome: 'stored' | 'unserializable' | 'none-not-allowed';
  make: () => unknown;
  /** Extra cachier options of the wrapper (allowNone, serializer). */
  options?: Pick<CachierOptions, 'allowNone' | 'serializer'>;
  /**
   * What deep equality does not see, checked on every result: a description of what is
   * wrong, or undefined.
   */
  check?: (value: unknown) => string | undefined;
}

function withCause<E extends Error>(error: E): E {
  Object.defineProperty(error, 'cause', {
    value: new RangeError('inner'),
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return error;
}

function sharedAndCyclic(): unknown {
  const shared = { n: 1 };
  const list = [1];
  list[2] = 3; // list[1] is a hole
  const root: Record<string, unknown> = { left: shared, right: shared, list };
  root.self = root;
  return root;
}

function withGetter(): unknown {
  return {
    plain: 1,
    get computed() {
      return SECRET;
    },
  };
}

function withHiddenProperty(): unknown {
  const value = { plain: 1 };
  Object.defineProperty(value, 'hidden', { value: SECRET, enumerable: false });
  return value;
}

function nullPrototype(): unknown {
  const value = Object.create(null) as Record<string, unknown>;
  value.a = SECRET;
  return value;
}

function regexpMidMatch(): RegExp {
  const pattern = /a/g;
  pattern.exec('aa');
  return pattern;
}

function errorWithStatus(): Error {
  return Object.assign(new Error(SECRET), { status: 404 });
}

export const VALUE_ROWS: ValueRow[] = [
  // Stored: every kind node:v8 gives back as it was.
  {
    id: 'nested plain data',
    outcome: 'stored',
    make: () => ({ a: [1, 'two', { three: [3n, true, null, undefined] }], b: { c: { d: 'e' } } }),
  },
  {
    id: 'shared references, cycles and holes',
    outcome: 'stored',
    make: sharedAndCyclic,
    check: (value) => {
      const root = value as { left: unknown; right: unknown; self: unknown; list: unknown[] };
      if (root.left !== root.right) return 'the shared reference became two objects';
      if (root.self !== root) return 'the cycle was lost';
      if (1 in root.list) return 'the hole became an element';
      return undefined;
    },
  },
  { id: 'Date', outcome: 'stored', make: () => new Date(Date.UTC(2024, 1, 29, 12, 30)) },
  {
    id: 'Map',
    outcome: 'stored',
    make: () =>
      new Map<unknown, unknown>([
        ['b', 1],
        ['a', new Date(0)],
        [3, { nested: [1] }],
      ]),
  },
  { id: 'Set', outcome: 'stored', make: () => new Set(['y', 'x', 3]) },
  { id: 'BigInt', outcome: 'stored', make: () => 2n ** 70n + 1n },
  { id: '-0', outcome: 'stored', make: () => -0 },
  { id: 'NaN', outcome: 'stored', make: () => Number.NaN },
  { id: 'Buffer', outcome: 'stored', make: () => Buffer.from('cachier bytes') },
  {
    id: 'typed arrays',
    outcome: 'stored',
    make: () => ({
      u8: new Uint8Array([1, 2, 255]),
      i32: new Int32Array([-1, 2]),
      f64: new Float64Array([0.5, Number.NaN]),
      big: new BigInt64Array([-(2n ** 63n)]),
      view: new DataView(new Uint8Array([9, 8]).buffer),
      buffer: new Uint8Array([7]).buffer,
    }),
    check: (value) => {
      // Each view came with its own memory; it must not come back as a window on more.
      for (const [field, view] of Object.entries(value as Record<string, unknown>)) {
        if (ArrayBuffer.isView(view) && view.buffer.byteLength !== view.byteLength) {
          return `${field} views ${view.buffer.byteLength} bytes of memory, not its own ${view.byteLength}`;
        }
      }
      return undefined;
    },
  },
  {
    id: 'RegExp',
    outcome: 'stored',
    make: () => /a+b/gi,
    check: (value) =>
      value instanceof RegExp && value.flags === 'gi' && value.source === 'a+b'
        ? undefined
        : 'source or flags changed',
  },
  {
    id: 'boxed primitives',
    outcome: 'stored',
    make: () => [new Number(1), new String('s'), new Boolean(false)],
  },
  {
    id: 'Error',
    outcome: 'stored',
    make: () => new Error('plain'),
    check: (value) => checkError(value, 'Error', 'plain'),
  },
  {
    id: 'TypeError with cause',
    outcome: 'stored',
    make: () => withCause(new TypeError('typed')),
    check: (value) =>
      checkError(value, 'TypeError', 'typed') ??
      checkError((value as Error).cause, 'RangeError', 'inner'),
  },
  {
    id: 'RangeError',
    outcome: 'stored',
    make: () => new RangeError('range'),
    check: (value) => checkError(value, 'RangeError', 'range'),
  },
  {
    id: 'SyntaxError',
    outcome: 'stored',
    make: () => new SyntaxError('syntax'),
    check: (value) => checkError(value, 'SyntaxError', 'syntax'),
  },
  {
    id: 'ReferenceError',
    outcome: 'stored',
    make: () => new ReferenceError('ref'),
    check: (value) => checkError(value, 'ReferenceError', 'ref'),
  },
  {
    id: 'EvalError',
    outcome: 'stored',
    make: () => new EvalError('eval'),
    check: (value) => checkError(value, 'EvalError', 'eval'),
  },
  {
    id: 'URIError',
    outcome: 'stored',
    make: () => new URIError('uri'),
    check: (value) => checkError(value, 'URIError', 'uri'),
  },
  { id: 'null with allowNone', outcome: 'stored', make: () => null, options: { allowNone: true } },
  {
    id: 'undefined with allowNone',
    outcome: 'stored',
    make: () => undefined,
    options: { allowNone: true },
  },
  { id: 'null without allowNone', outcome: 'none-not-allowed', make: () => null },
  { id: 'undefined without allowNone', outcome: 'none-not-allowed', make: () => undefined },
  {
    id: 'class instance with superjson serializer',
    outcome: 'stored',
    make: () => new Invoice('inv-1', [1, 2, 39]),
    options: { serializer: superjsonSerializer },
    check: (value) =>
      value instanceof Invoice && value.total() === 42 ? undefined : 'not a working Invoice',
  },
  // Returned, not stored: node:v8 would give back something else.
  { id: 'URL', outcome: 'unserializable', make: () => new URL(`https://example.com/${SECRET}`) },
  { id: 'class instance', outcome: 'unserializable', make: () => new Point(1, 2) },
  {
    id: 'class instance with #private fields',
    outcome: 'unserializable',
    make: () => new Secretive(SECRET),
    check: (value) =>
      value instanceof Secretive && value.reveal() === SECRET ? undefined : 'private state lost',
  },
  {
    id: 'class instance nested in plain data',
    outcome: 'unserializable',
    make: () => ({ items: [1, new Point(3, 4)] }),
  },
  {
    id: 'class instance as a Map value',
    outcome: 'unserializable',
    make: () => new Map([['k', new Vec(1, 2)]]),
  },
  {
    id: 'Error subclass with status',
    outcome: 'unserializable',
    make: () => new HttpError(SECRET, 404),
    check: (value) =>
      value instanceof HttpError && value.status === 404 && value.name === 'HttpError'
        ? undefined
        : 'not the HttpError',
  },
  {
    id: 'Error with an extra status field',
    outcome: 'unserializable',
    make: errorWithStatus,
    check: (value) => ((value as { status?: number }).status === 404 ? undefined : 'status lost'),
  },
  {
    id: 'Error with a class instance as cause',
    outcome: 'unserializable',
    make: () => new Error('outer', { cause: new Point(5, 6) }),
  },
  {
    id: 'AggregateError',
    outcome: 'unserializable',
    make: () => new AggregateError([new Error('one')], SECRET),
  },
  { id: 'nested function', outcome: 'unserializable', make: () => ({ a: 1, f: A_FUNCTION }) },
  { id: 'nested symbol', outcome: 'unserializable', make: () => ({ a: 1, s: A_SYMBOL }) },
  { id: 'nested Promise', outcome: 'unserializable', make: () => ({ p: A_PROMISE }) },
  { id: 'nested WeakMap', outcome: 'unserializable', make: () => [A_WEAK_MAP] },
  { id: 'object with null prototype', outcome: 'unserializable', make: nullPrototype },
  { id: 'getter', outcome: 'unserializable', make: withGetter },
  { id: 'non-enumerable property', outcome: 'unserializable', make: withHiddenProperty },
  {
    id: 'symbol-keyed property',
    outcome: 'unserializable',
    make: () => ({ a: 1, [Symbol.for('fidelity')]: SECRET }),
  },
  { id: 'RegExp with lastIndex', outcome: 'unserializable', make: regexpMidMatch },
  {
    id: 'Map subclass',
    outcome: 'unserializable',
    make: () => new Registry([['a', 1]]),
  },
];

function checkError(value: unknown, name: string, message: string): string | undefined {
  if (!(value instanceof Error)) return 'not an Error';
  if (value.name !== name || value.message !== message) {
    return `got ${value.name} "${value.message}"`;
  }
  if (typeof value.stack !== 'string') return 'stack lost';
  return undefined;
}
