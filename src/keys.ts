/**
 * Cache keys: a canonical, injective string encoding of an argument list, hashed with SHA-256.
 *
 * Keys must agree across processes and machines, so the encoding depends only on the
 * arguments' content, never on insertion order, object identity, locale or endianness.
 *
 * Encoding (every item is self-delimiting, so concatenating items can never be ambiguous):
 *
 * | value                      | encoding                                                  |
 * | -------------------------- | --------------------------------------------------------- |
 * | `undefined` / array hole   | `u`                                                       |
 * | `null`                     | `n`                                                       |
 * | `true` / `false`           | `t` / `f`                                                 |
 * | number                     | `d` + `String(n)` (`-0` for negative zero) + `;`          |
 * | bigint                     | `i` + decimal digits + `;`                                |
 * | string                     | `JSON.stringify(s)` (starts with `"`)                     |
 * | `Date`                     | `D` + `getTime()` + `;`                                   |
 * | `RegExp`                   | `R` + JSON(source) + JSON(flags)                          |
 * | `Error` (any subclass)     | `E` + JSON(name) + JSON(message)                          |
 * | boxed primitive            | `X` + encoding of `valueOf()`                             |
 * | typed array, `DataView`,   | `T` + JSON(constructor name) + base64(bytes) + `;`        |
 * | `ArrayBuffer`, `Buffer`    |                                                           |
 * | `URL`                      | `U` + JSON(href)                                          |
 * | array                      | `[` + items + `]`                                         |
 * | plain object               | `{` + (JSON(key) + value)* in sorted key order + `}`      |
 * | class instance             | `C` + JSON(class name) + plain object body                |
 * | `Map`                      | `M` + sorted (key + value) encodings + `)`                |
 * | `Set`                      | `S` + sorted element encodings + `)`                      |
 *
 * Class instances are keyed by class name and own enumerable properties only, so instances that
 * keep their state in private fields or internal slots all look alike: such arguments need a
 * `hashArgs` option (URL is special-cased because it is a common argument).
 *
 * Strings go through `JSON.stringify`, which escapes lone surrogates, so the whole encoding is
 * well-formed UTF-16 and its UTF-8 bytes (what gets hashed) stay injective.
 */
import * as crypto from 'node:crypto';

/** Raised inside the encoder; collects the path while unwinding so the happy path builds none. */
class Unkeyable {
  /** Path segments, innermost first. */
  readonly segments: string[] = [];
  /** For a cycle: how many innermost segments lie below the object the cycle returns to. */
  targetDepth = -1;
  constructor(
    readonly reason: string,
    readonly cycleTarget?: object,
  ) {}
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

/**
 * Exactly `JSON.stringify(text)`, skipping the native call for the short, plain strings that
 * make up most keys and values (it dominates the encoding time otherwise).
 */
function quote(text: string): string {
  if (text.length > 64) return JSON.stringify(text);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
      return JSON.stringify(text);
    }
  }
  return `"${text}"`;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Accessor syntax for a property key: `.name`, `[3]` or `["weird key"]`. */
function propertySegment(key: string): string {
  if (IDENTIFIER.test(key)) return `.${key}`;
  if (ARRAY_INDEX.test(key)) return `[${key}]`;
  return `[${JSON.stringify(key)}]`;
}

/** A short, readable form of a Map key for error paths; objects are named by position instead. */
function describeMapKey(key: unknown, index: number): string {
  switch (typeof key) {
    case 'string':
      return `for key ${JSON.stringify(key)}`;
    case 'number':
      return `for key ${Object.is(key, -0) ? '-0' : String(key)}`;
    case 'bigint':
      return `for key ${key}n`;
    case 'boolean':
    case 'undefined':
      return `for key ${key}`;
    default:
      return key === null ? 'for key null' : `#${index}`;
  }
}

function withSegment(error: unknown, segment: string, container: object): unknown {
  if (error instanceof Unkeyable) {
    error.segments.push(segment);
    if (error.cycleTarget === container && error.targetDepth < 0) {
      error.targetDepth = error.segments.length;
    }
  }
  return error;
}

/**
 * The class name from the prototype, not from `value.constructor`, so an own property called
 * `constructor` cannot masquerade as a class.
 */
function className(value: object): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === null || typeof proto !== 'object') return '';
  const ctor: unknown = (proto as { constructor?: unknown }).constructor;
  if (typeof ctor !== 'function') return '';
  const name: unknown = ctor.name;
  return typeof name === 'string' ? name : '';
}

/** Bytes as base64, in little-endian element order so that big-endian hosts agree. */
function encodeBytes(name: string, bytes: Uint8Array, elementSize: number): string {
  let buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!LITTLE_ENDIAN && elementSize > 1) {
    buffer = Buffer.from(buffer);
    if (elementSize === 2) buffer.swap16();
    else if (elementSize === 4) buffer.swap32();
    else if (elementSize === 8) buffer.swap64();
  }
  return `T${JSON.stringify(name)}${buffer.toString('base64')};`;
}

function encodeNumber(n: number): string {
  if (n === 0) return 1 / n > 0 ? 'd0;' : 'd-0;';
  return `d${n};`;
}

/** `ancestors` holds the containers on the current path; created lazily for primitive-only calls. */
function encode(value: unknown, ancestors: Set<object> | undefined): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return encodeNumber(value);
    case 'boolean':
      return value ? 't' : 'f';
    case 'undefined':
      return 'u';
    case 'bigint':
      return `i${value};`;
    case 'symbol':
      throw new Unkeyable('a symbol has no stable identity');
    case 'function':
      throw new Unkeyable('a function has no stable identity');
    default:
      return value === null ? 'n' : encodeObject(value as object, ancestors ?? new Set());
  }
}

function encodeObject(value: object, ancestors: Set<object>): string {
  if (typeof (value as { then?: unknown }).then === 'function') {
    throw new Unkeyable('a promise (or other thenable) has no value yet; await it first');
  }
  if (Array.isArray(value)) return encodeArray(value, ancestors);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    return encodeProperties('{', value, ancestors);
  }
  return encodeSpecial(value, ancestors);
}

function enter(value: object, ancestors: Set<object>): void {
  if (ancestors.has(value)) {
    throw new Unkeyable('it is a circular reference', value);
  }
  ancestors.add(value);
}

function encodeArray(array: readonly unknown[], ancestors: Set<object>): string {
  enter(array, ancestors);
  let out = '[';
  let i = 0;
  try {
    // Reading by index turns holes into undefined, which is the documented treatment.
    for (; i < array.length; i++) out += encode(array[i], ancestors);
  } catch (error) {
    throw withSegment(error, `[${i}]`, array);
  }
  ancestors.delete(array);
  return `${out}]`;
}

/**
 * Own enumerable string keys in code-unit order. A property whose value is `undefined` is
 * kept: `{ a: undefined }` and `{}` differ, because code can tell them apart (`'a' in obj`,
 * `Object.keys`), so a function may legitimately return different results for them.
 */
function encodeProperties(open: string, value: object, ancestors: Set<object>): string {
  enter(value, ancestors);
  const keys = Object.keys(value);
  // Keys usually come in a fixed, often sorted order: checking is cheaper than sorting.
  for (let k = 1; k < keys.length; k++) {
    if ((keys[k] as string) < (keys[k - 1] as string)) {
      keys.sort();
      break;
    }
  }
  const record = value as Record<string, unknown>;
  let out = open;
  let key = '';
  try {
    for (key of keys) out += quote(key) + encode(record[key], ancestors);
  } catch (error) {
    throw withSegment(error, propertySegment(key), value);
  }
  ancestors.delete(value);
  return `${out}}`;
}

function encodeMap(map: Map<unknown, unknown>, ancestors: Set<object>): string {
  enter(map, ancestors);
  const entries: string[] = [];
  let index = 0;
  for (const [key, item] of map) {
    let encodedKey: string;
    try {
      encodedKey = encode(key, ancestors);
    } catch (error) {
      throw withSegment(error, `.<Map key #${index}>`, map);
    }
    try {
      entries.push(encodedKey + encode(item, ancestors));
    } catch (error) {
      throw withSegment(error, `.<Map value ${describeMapKey(key, index)}>`, map);
    }
    index++;
  }
  ancestors.delete(map);
  // Content, not insertion order, decides the key.
  return `M${entries.sort().join('')})`;
}

function encodeSet(set: Set<unknown>, ancestors: Set<object>): string {
  enter(set, ancestors);
  const items: string[] = [];
  let index = 0;
  try {
    for (const item of set) {
      items.push(encode(item, ancestors));
      index++;
    }
  } catch (error) {
    throw withSegment(error, `.<Set element #${index}>`, set);
  }
  ancestors.delete(set);
  return `S${items.sort().join('')})`;
}

/** Everything that is not a plain object or array: kept off the hot path. */
function encodeSpecial(value: object, ancestors: Set<object>): string {
  if (value instanceof Date) return `D${value.getTime()};`;
  if (value instanceof Map) return encodeMap(value, ancestors);
  if (value instanceof Set) return encodeSet(value, ancestors);
  if (ArrayBuffer.isView(value)) {
    const size = 'BYTES_PER_ELEMENT' in value ? (value.BYTES_PER_ELEMENT as number) : 1;
    return encodeBytes(className(value), value as Uint8Array, size);
  }
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    return encodeBytes(className(value), new Uint8Array(value), 1);
  }
  if (value instanceof RegExp) {
    return `R${JSON.stringify(value.source)}${JSON.stringify(value.flags)}`;
  }
  if (value instanceof Error) {
    return `E${JSON.stringify(String(value.name))}${JSON.stringify(String(value.message))}`;
  }
  // The prototype's own valueOf, so an overridden valueOf cannot change the key.
  if (value instanceof Number) return `X${encodeNumber(Number.prototype.valueOf.call(value))}`;
  if (value instanceof String) return `X${JSON.stringify(String.prototype.valueOf.call(value))}`;
  if (value instanceof Boolean) return Boolean.prototype.valueOf.call(value) ? 'Xt' : 'Xf';
  if (value instanceof BigInt) return `Xi${BigInt.prototype.valueOf.call(value)};`;
  if (value instanceof Symbol) throw new Unkeyable('a symbol has no stable identity');
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    throw new Unkeyable(`a ${className(value) || 'weak collection'} cannot be enumerated`);
  }
  // URL keeps its state in private fields, so the generic path would key every URL alike.
  if (value instanceof URL) return `U${JSON.stringify(value.href)}`;
  return encodeProperties(`C${JSON.stringify(className(value))}{`, value, ancestors);
}

function toTypeError(error: Unkeyable): TypeError {
  const path = `args${error.segments.toReversed().join('')}`;
  let reason = error.reason;
  if (error.cycleTarget !== undefined && error.targetDepth >= 0) {
    const below = error.segments.slice(error.targetDepth).reverse().join('');
    reason += ` back to args${below}`;
  }
  return new TypeError(
    `cachier cannot make a cache key from ${path}: ${reason}. ` +
      'Pass a hashArgs option to build the key yourself.',
  );
}

/**
 * Canonical, injective string encoding of an argument list; equal arguments give equal
 * strings in every process, so cores can store it as is or hash it.
 *
 * Trailing `undefined` arguments are dropped, so an omitted optional parameter and an explicit
 * `undefined` share a cache entry.
 *
 * @example
 * encodeArgs([{ b: 1, a: 'x' }]) === encodeArgs([{ a: 'x', b: 1 }]); // true
 * encodeArgs([1, undefined]) === encodeArgs([1]); // true
 *
 * @throws TypeError naming the offending path (e.g. `args[1].user.callback`) for functions,
 * symbols, promises and other thenables, weak collections and circular structures.
 */
export function encodeArgs(args: readonly unknown[]): string {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  let out = '';
  for (let i = 0; i < end; i++) {
    const arg = args[i];
    try {
      out += encode(arg, undefined);
    } catch (error) {
      if (error instanceof Unkeyable) {
        withSegment(error, `[${i}]`, arg as object);
        throw toTypeError(error);
      }
      throw error;
    }
  }
  return out;
}

/** One-shot hashing (Node >= 20.12) skips the Hash object: about 3× faster for short keys. */
const oneShotHash = typeof crypto.hash === 'function' ? crypto.hash : undefined;

function fallbackSha256Hex(text: string): string {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Hex SHA-256 of a string's UTF-8 bytes: a fixed-length, filename- and index-safe key that
 * reveals nothing about the arguments.
 *
 * @example
 * sha256Hex(''); // 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 */
export function sha256Hex(text: string): string {
  return oneShotHash ? oneShotHash('sha256', text, 'hex') : fallbackSha256Hex(text);
}

/**
 * The default cache key of an argument list: equal arguments give the same 64-character key
 * everywhere.
 *
 * @example
 * defaultKey([1, { a: 2 }]) === defaultKey([1, { a: 2 }, undefined]); // true
 *
 * @throws TypeError from {@link encodeArgs} when an argument cannot be encoded.
 */
export function defaultKey(args: readonly unknown[]): string {
  return sha256Hex(encodeArgs(args));
}

/**
 * The cache key for a user `hashArgs` result. The string is hashed too, so argument data never
 * shows up in a file or document name and every key has the same shape.
 *
 * Strings are hashed as UTF-8, where lone surrogates all become U+FFFD: return well-formed
 * strings from `hashArgs`.
 *
 * @example
 * keyFromHashArgs(`user:${id}`); // 64 hex characters
 *
 * @throws TypeError mentioning `hashArgs` when `result` is not a string.
 */
export function keyFromHashArgs(result: unknown): string {
  if (typeof result !== 'string') {
    const got = result === null ? 'null' : typeof result;
    throw new TypeError(
      `cachier: the hashArgs option must return a string, but it returned ${got}.`,
    );
  }
  return sha256Hex(result);
}
