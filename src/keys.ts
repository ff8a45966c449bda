/**
 * Cache keys: a canonical, injective string encoding of an argument list, hashed with SHA-256.
 *
 * Keys must agree across processes and machines, so the encoding depends only on the
 * arguments' content, never on insertion order, object identity, locale or endianness. An
 * argument whose content the encoding cannot see is refused (a `TypeError` naming its path),
 * never keyed by what little is visible: two different argument lists must never share a key.
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
 * | string (≤ 65,536 units)    | `JSON.stringify(s)` (starts with `"`)                     |
 * | longer string              | `L` + hex SHA-256 of its UTF-16LE code units + `;`        |
 * | `Date`                     | `D` + `getTime()` + `;`                                   |
 * | `RegExp`                   | `R` + JSON(source) + JSON(flags)                          |
 * | `Error` (any subclass)     | `E` + JSON(class) + JSON(name) + JSON(message) +          |
 * |                            | (`c` + cause if it has one) + (`a` + `errors` array if    |
 * |                            | it has one) + own enumerable properties as `{…}`          |
 * | boxed primitive            | `X` + encoding of `valueOf()`                             |
 * | typed array, `DataView`,   | `T` + JSON(constructor name) + base64(bytes) + `;`, or    |
 * | `ArrayBuffer`, `Buffer`    | over 4,096 bytes `#` + hex SHA-256 of the bytes + `;`     |
 * | object with `toJSON()`     | `J` + JSON(class name) + encoding of `toJSON()`'s result  |
 * | (from its class, e.g. URL) |                                                           |
 * | array                      | `[` + items + `]`                                         |
 * | array with named own       | `A[` + items + `]{` + (JSON(key) + value)* of the named   |
 * | enumerable properties      | properties, in sorted key order, + `}`                    |
 * | plain object               | `{` + (JSON(key) + value)* in sorted key order + `}`      |
 * | class instance             | `C` + JSON(class name) + plain object body                |
 * | `Map`                      | `M` + sorted (key + value) encodings + `)`                |
 * | `Set`                      | `S` + sorted element encodings + `)`                      |
 *
 * Typed arrays are read in little-endian element order, so big-endian hosts agree. Strings go
 * through `JSON.stringify`, which escapes lone surrogates, so the whole encoding is well-formed
 * UTF-16 and its UTF-8 bytes (what gets hashed) stay injective. Long strings and byte arrays
 * are hashed in place, which costs no more than encoding them and keeps the encoding small.
 *
 * Refused, with a `TypeError` that names the argument's path and the way out (`hashArgs`, or a
 * `toJSON()` method on the class):
 * - functions, symbols (boxed or not), promises and other thenables, iterators and generators;
 * - circular structures;
 * - objects whose content lives outside their own enumerable properties: weak collections,
 *   `Headers`, `URLSearchParams`, `Blob`/`File`, `FormData`, `Request`/`Response`,
 *   `AbortController`, event targets (`AbortSignal`, `MessagePort`…), event emitters (Node
 *   streams, sockets…), web streams, and any other built-in or host object the table does not
 *   list (its constructor is native code or its state is in internal slots);
 * - subclasses of the built-ins in the table other than `Error` (their extra state is unseen);
 * - instances of classes that declare `#private` members anywhere in their class chain (found
 *   in the class source, so a `#` in a string there refuses too: a false refusal is safe, a
 *   false acceptance is a wrong value), that keep state under symbol keys, whose prototype is
 *   not a class's prototype (`Object.create(proto)`), or that have no own enumerable property
 *   (nothing to key them by).
 * A class that defines `toJSON()` is keyed by what it returns, whatever its fields.
 *
 * Limits (a `TypeError` naming the limit, never the data): arguments nested more than
 * {@link MAX_DEPTH} levels deep, more than {@link MAX_ITEMS} array slots, properties and
 * Map/Set entries in one argument list, or an encoding longer than {@link MAX_ENCODED_LENGTH}
 * characters. Error messages name paths by position (`args[0].<Map entry 3>`,
 * `args[1].<property 2>`), and property names only when they look like identifiers, so no
 * argument data appears in them.
 */
import * as crypto from 'node:crypto';
import { EventEmitter } from 'node:events';

/**
 * Containers nested deeper than this are refused. The encoder recurses once per level; 500
 * levels of Maps use about a third of Node's default stack, so a caller that is itself deep in
 * the stack still gets this TypeError rather than a stack overflow.
 */
export const MAX_DEPTH = 500;
/** Array slots (holes included), properties and Map/Set entries in one argument list. */
export const MAX_ITEMS = 10_000_000;
/** Characters of encoding for one argument list (long strings and byte arrays count ~70). */
export const MAX_ENCODED_LENGTH = 2 ** 27;
/** Strings longer than this are hashed in place rather than quoted. */
const LONG_STRING = 65_536;
/** Byte arrays longer than this are hashed in place rather than base64-encoded. */
const LONG_BYTES = 4096;

const USE_HASH_ARGS = 'Pass a hashArgs option to build the key yourself.';
const USE_PLAIN_DATA =
  'Pass its content as plain data instead (e.g. Object.fromEntries(headers)), or pass a hashArgs option to build the key yourself.';
const USE_TO_JSON =
  'Define a toJSON() method on its class that returns its content, or pass a hashArgs option to build the key yourself.';

/** Raised inside the encoder; collects the path while unwinding so the happy path builds none. */
class Unkeyable {
  /** Path segments, innermost first. */
  readonly segments: string[] = [];
  /** For a cycle: how many innermost segments lie below the object the cycle returns to. */
  targetDepth = -1;
  constructor(
    readonly reason: string,
    readonly remedy: string = USE_HASH_ARGS,
    readonly cycleTarget?: object,
    /** Limits name the argument only: the path to the 1,001st level is no help. */
    readonly topLevelOnly = false,
  ) {}
}

/** Per-call state, created only once an argument is an object. */
class Walk {
  /** The containers on the current path: cycle detection and depth. */
  readonly path = new Set<object>();
  items = 0;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]{0,63}$/;

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

function encodeString(text: string): string {
  if (text.length <= LONG_STRING) return quote(text);
  // UTF-16LE keeps every code unit, lone surrogates included, on every host.
  return `L${sha256HexOfBytes(Buffer.from(text, 'utf16le'))};`;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A property's path segment: `.name` for identifier-like names, otherwise its position among
 * the object's own enumerable keys, so that data used as keys (ids, e-mail addresses) never
 * shows up in a message.
 */
function propertySegment(value: object, key: string): string {
  if (IDENTIFIER.test(key)) return `.${key}`;
  return `.<property ${Object.keys(value).indexOf(key)}>`;
}

function withSegment(error: unknown, segment: string, container: object): unknown {
  if (error instanceof Unkeyable && !error.topLevelOnly) {
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

/** Bytes as base64 (or hashed when long), in little-endian element order. */
function encodeBytes(name: string, bytes: Uint8Array, elementSize: number): string {
  let buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!LITTLE_ENDIAN && elementSize > 1) {
    buffer = Buffer.from(buffer);
    if (elementSize === 2) buffer.swap16();
    else if (elementSize === 4) buffer.swap32();
    else if (elementSize === 8) buffer.swap64();
  }
  // '#' is not in the base64 alphabet, so the two forms cannot meet.
  const body =
    buffer.byteLength > LONG_BYTES ? `#${sha256HexOfBytes(buffer)}` : buffer.toString('base64');
  return `T${JSON.stringify(name)}${body};`;
}

function encodeNumber(n: number): string {
  if (n === 0) return 1 / n > 0 ? 'd0;' : 'd-0;';
  return `d${n};`;
}

/** `walk` is created lazily, so primitive-only calls allocate nothing but the key. */
function encode(value: unknown, walk: Walk | undefined): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
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
      return value === null ? 'n' : encodeObject(value as object, walk ?? new Walk());
  }
}

function encodeObject(value: object, walk: Walk): string {
  if (typeof (value as { then?: unknown }).then === 'function') {
    throw new Unkeyable('a promise (or other thenable) has no value yet; await it first');
  }
  if (Array.isArray(value)) return encodeArray(value, walk);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    return encodeProperties('{', value, walk);
  }
  return encodeSpecial(value, proto as object, walk);
}

function tooLong(): Unkeyable {
  return new Unkeyable(
    `the encoded arguments exceed the limit of ${MAX_ENCODED_LENGTH.toLocaleString('en-US')} characters`,
    USE_HASH_ARGS,
    undefined,
    true,
  );
}

/** Marks `value` as on the path and counts its `items` towards the limits. */
function enter(value: object, walk: Walk, items: number): void {
  const { path } = walk;
  if (path.has(value)) {
    throw new Unkeyable('it is a circular reference', USE_HASH_ARGS, value);
  }
  if (path.size >= MAX_DEPTH) {
    throw new Unkeyable(
      `it is nested more than ${MAX_DEPTH.toLocaleString('en-US')} levels deep (the limit)`,
      USE_HASH_ARGS,
      undefined,
      true,
    );
  }
  walk.items += items;
  if (walk.items > MAX_ITEMS) throw tooManyItems();
  path.add(value);
}

function tooManyItems(): Unkeyable {
  return new Unkeyable(
    `the arguments hold more than ${MAX_ITEMS.toLocaleString('en-US')} array slots, properties and Map/Set entries (the limit)`,
    USE_HASH_ARGS,
    undefined,
    true,
  );
}

function encodeArray(array: readonly unknown[], walk: Walk): string {
  // Counted before reading, so a sparse 2 ** 32 - 1 slot array is refused at once.
  enter(array, walk, array.length);
  let out = '[';
  let i = 0;
  try {
    // Reading by index turns holes into undefined, which is the documented treatment.
    for (; i < array.length; i++) {
      out += encode(array[i], walk);
      if (out.length > MAX_ENCODED_LENGTH) throw tooLong();
    }
  } catch (error) {
    throw withSegment(error, `[${i}]`, array);
  }
  const named = namedKeys(array);
  if (named !== undefined) {
    // A match array's index, input and groups, or properties code hung on the array:
    // a function can read them, so they are part of the key ('A' marks the form).
    walk.items += named.length;
    if (walk.items > MAX_ITEMS) throw tooManyItems();
    out = `A${out}]{${propertiesBody(array, named, walk)}`;
    walk.path.delete(array);
    return out;
  }
  walk.path.delete(array);
  return `${out}]`;
}

/** A canonical array index (below 2 ** 32 - 1), which `Object.keys` lists first. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

function isArrayIndex(key: string): boolean {
  return ARRAY_INDEX.test(key) && Number(key) < 2 ** 32 - 1;
}

/** The array's own enumerable keys that are not indices, or undefined when it has none. */
function namedKeys(array: readonly unknown[]): string[] | undefined {
  const keys = Object.keys(array);
  // Indices come first, in ascending order, then the other keys: the last one tells.
  let first = keys.length;
  while (first > 0 && !isArrayIndex(keys[first - 1] as string)) first--;
  return first === keys.length ? undefined : keys.slice(first);
}

/**
 * Own enumerable string keys in code-unit order. A property whose value is `undefined` is
 * kept: `{ a: undefined }` and `{}` differ, because code can tell them apart (`'a' in obj`,
 * `Object.keys`), so a function may legitimately return different results for them.
 */
function encodeProperties(open: string, value: object, walk: Walk): string {
  const keys = Object.keys(value);
  enter(value, walk, keys.length);
  const out = open + propertiesBody(value, keys, walk);
  walk.path.delete(value);
  return out;
}

/** `(JSON(key) + value)* }` for `keys`, which the caller has already counted. */
function propertiesBody(value: object, keys: string[], walk: Walk): string {
  // Keys usually come in a fixed, often sorted order: checking is cheaper than sorting.
  for (let k = 1; k < keys.length; k++) {
    if ((keys[k] as string) < (keys[k - 1] as string)) {
      keys.sort();
      break;
    }
  }
  const record = value as Record<string, unknown>;
  let out = '';
  let key = '';
  try {
    for (key of keys) {
      out += quote(key) + encode(record[key], walk);
      if (out.length > MAX_ENCODED_LENGTH) throw tooLong();
    }
  } catch (error) {
    throw withSegment(error, propertySegment(value, key), value);
  }
  return `${out}}`;
}

/** Sorted and joined: content, not insertion order, decides the key. */
function joinSorted(open: string, items: string[], length: number): string {
  if (length > MAX_ENCODED_LENGTH) throw tooLong();
  return `${open}${items.sort().join('')})`;
}

function encodeMap(map: Map<unknown, unknown>, walk: Walk): string {
  enter(map, walk, map.size);
  const entries: string[] = [];
  let length = 0;
  let index = 0;
  for (const [key, item] of map) {
    let encodedKey: string;
    try {
      encodedKey = encode(key, walk);
    } catch (error) {
      throw withSegment(error, `.<Map entry ${index} key>`, map);
    }
    try {
      const entry = encodedKey + encode(item, walk);
      length += entry.length;
      if (length > MAX_ENCODED_LENGTH) throw tooLong();
      entries.push(entry);
    } catch (error) {
      throw withSegment(error, `.<Map entry ${index}>`, map);
    }
    index++;
  }
  walk.path.delete(map);
  return joinSorted('M', entries, length);
}

function encodeSet(set: Set<unknown>, walk: Walk): string {
  enter(set, walk, set.size);
  const items: string[] = [];
  let length = 0;
  let index = 0;
  try {
    for (const item of set) {
      const encoded = encode(item, walk);
      length += encoded.length;
      if (length > MAX_ENCODED_LENGTH) throw tooLong();
      items.push(encoded);
      index++;
    }
  } catch (error) {
    throw withSegment(error, `.<Set element ${index}>`, set);
  }
  walk.path.delete(set);
  return joinSorted('S', items, length);
}

function encodeError(error: Error, walk: Walk): string {
  const keys = Object.keys(error);
  enter(error, walk, keys.length + 2);
  let out = `E${quote(className(error))}${quote(String(error.name))}${quote(String(error.message))}`;
  const record = error as { cause?: unknown; errors?: unknown };
  try {
    if (Object.hasOwn(error, 'cause')) out += `c${encode(record.cause, walk)}`;
  } catch (failure) {
    throw withSegment(failure, '.cause', error);
  }
  try {
    if (Object.hasOwn(error, 'errors')) out += `a${encode(record.errors, walk)}`;
  } catch (failure) {
    throw withSegment(failure, '.errors', error);
  }
  out += `{${propertiesBody(error, keys, walk)}`;
  walk.path.delete(error);
  return out;
}

type Encoder = (value: object, walk: Walk) => string;

const encodeView: Encoder = (value) => {
  const view = value as ArrayBufferView & { BYTES_PER_ELEMENT?: number };
  const size = view.BYTES_PER_ELEMENT ?? 1;
  return encodeBytes(className(view), view as Uint8Array, size);
};

/**
 * The built-ins the encoding knows, by their exact prototype: one `Map.get` per argument, and
 * subclasses (whose extra state the encoding would miss) fall through to the class checks.
 */
const KNOWN = new Map<object, Encoder>([
  [Date.prototype, (value) => `D${Date.prototype.getTime.call(value)};`],
  [Map.prototype, (value, walk) => encodeMap(value as Map<unknown, unknown>, walk)],
  [Set.prototype, (value, walk) => encodeSet(value as Set<unknown>, walk)],
  [
    RegExp.prototype,
    (value) => {
      const { source, flags } = value as RegExp;
      return `R${JSON.stringify(source)}${JSON.stringify(flags)}`;
    },
  ],
  [
    ArrayBuffer.prototype,
    (value) => encodeBytes('ArrayBuffer', new Uint8Array(value as ArrayBuffer), 1),
  ],
  [
    SharedArrayBuffer.prototype,
    (value) => encodeBytes('SharedArrayBuffer', new Uint8Array(value as SharedArrayBuffer), 1),
  ],
  [DataView.prototype, encodeView],
  [Buffer.prototype, encodeView],
  // The prototype's own valueOf, so an overridden valueOf cannot change the key.
  [Number.prototype, (value) => `X${encodeNumber(Number.prototype.valueOf.call(value))}`],
  [String.prototype, (value) => `X${JSON.stringify(String.prototype.valueOf.call(value))}`],
  [Boolean.prototype, (value) => (Boolean.prototype.valueOf.call(value) ? 'Xt' : 'Xf')],
  [BigInt.prototype, (value) => `Xi${BigInt.prototype.valueOf.call(value)};`],
  [
    Symbol.prototype,
    () => {
      throw new Unkeyable('a symbol has no stable identity');
    },
  ],
]);
for (const ctor of [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
]) {
  KNOWN.set(ctor.prototype, encodeView);
}
const NATIVE_ERRORS = [
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
];
for (const ctor of NATIVE_ERRORS) {
  KNOWN.set(ctor.prototype, (value, walk) => encodeError(value as Error, walk));
}
const NATIVE_ERROR_PROTOTYPES = new Set<object>(NATIVE_ERRORS.map((ctor) => ctor.prototype));

/**
 * Host classes whose state the encoding cannot see, refused by name even where Node implements
 * them in JavaScript (so the native-code check below would not catch them). Looked up on the
 * first class instance keyed, not at import: reading `globalThis.Headers` (and the other
 * web classes) makes Node load its fetch implementation, tens of milliseconds of start-up.
 */
const HOST_CLASS_NAMES = [
  'Promise',
  'EventTarget',
  'AbortController',
  'Blob',
  'Headers',
  'Request',
  'Response',
  'FormData',
  'URLSearchParams',
  'ReadableStream',
  'WritableStream',
  'TransformStream',
  'ReadableStreamDefaultReader',
  'WritableStreamDefaultWriter',
  'MessageChannel',
  'TextEncoder',
  'TextDecoder',
  'CompressionStream',
  'DecompressionStream',
];
let hostPrototypes: object[] | undefined;

function hostPrototypesOnce(): object[] {
  if (hostPrototypes) return hostPrototypes;
  const found: object[] = [EventEmitter.prototype];
  for (const name of HOST_CLASS_NAMES) {
    const ctor = (globalThis as Record<string, unknown>)[name];
    if (typeof ctor === 'function' && typeof ctor.prototype === 'object' && ctor.prototype) {
      found.push(ctor.prototype as object);
    }
  }
  hostPrototypes = found;
  return found;
}
const WEAK_PROTOTYPES: object[] = [
  WeakMap.prototype,
  WeakSet.prototype,
  WeakRef.prototype,
  FinalizationRegistry.prototype,
];

/** What the prototype chain says about instances, computed once per prototype. */
type Verdict =
  | { kind: 'class' }
  | { kind: 'error' }
  | { kind: 'json' }
  | { kind: 'plain' }
  | { kind: 'refuse'; reason: string; remedy: string };

const verdicts = new WeakMap<object, Verdict>();
const NATIVE_SOURCE = /\{\s*\[native code\]\s*\}\s*$/;
/** A `#name` anywhere in a class's source: a private member, or (harmlessly) a string. */
const PRIVATE_MEMBER = /#[A-Za-z_$\u0080-\uffff]/;

function refuse(reason: string, remedy = USE_TO_JSON): Verdict {
  return { kind: 'refuse', reason, remedy };
}

function judge(proto: object, name: string): Verdict {
  const probe = proto as { toJSON?: unknown; next?: unknown; [Symbol.iterator]?: unknown };
  if (typeof probe.toJSON === 'function') return { kind: 'json' };
  const article = `a${/^[AEIO]/.test(name) ? 'n' : ''} ${name || 'object'}`;
  if (typeof probe.next === 'function' && typeof probe[Symbol.iterator] === 'function') {
    return refuse(
      `${article} is an iterator or generator, which has no content until it is consumed; spread it into an array first`,
      USE_HASH_ARGS,
    );
  }
  for (const weak of WEAK_PROTOTYPES) {
    if (weak === proto || Object.prototype.isPrototypeOf.call(weak, proto)) {
      return refuse(`${article} cannot be enumerated`, USE_HASH_ARGS);
    }
  }
  for (const host of hostPrototypesOnce()) {
    if (host === proto || Object.prototype.isPrototypeOf.call(host, proto)) {
      return refuse(
        `${article} keeps its content in internal state that the key cannot see`,
        USE_PLAIN_DATA,
      );
    }
  }
  for (let link: object | null = proto; link !== null; link = Object.getPrototypeOf(link)) {
    if (link === Object.prototype) return { kind: 'class' };
    if (NATIVE_ERROR_PROTOTYPES.has(link)) {
      if (link === Error.prototype) return { kind: 'error' };
      continue;
    }
    const descriptor = Object.getOwnPropertyDescriptor(link, 'constructor');
    const ctor: unknown = descriptor?.value;
    if (typeof ctor !== 'function' || ctor.prototype !== link) {
      return refuse(
        `${article} inherits from an object that is not a class's prototype, so its inherited state is unseen`,
      );
    }
    const source = Function.prototype.toString.call(ctor);
    if (NATIVE_SOURCE.test(source)) {
      // Another realm's Object.prototype: its instances are plain objects.
      if (ctor.name === 'Object' && Object.getPrototypeOf(link) === null) {
        return link === proto ? { kind: 'plain' } : { kind: 'class' };
      }
      return refuse(
        `${article} keeps its content in internal slots that the key cannot see`,
        USE_PLAIN_DATA,
      );
    }
    if (PRIVATE_MEMBER.test(source)) {
      return refuse(`${article} keeps state in #private members that the key cannot see`);
    }
  }
  return refuse(`${article} keeps its content where the key cannot see it`);
}

/** Everything that is not a plain object or array: kept off the hot path. */
function encodeSpecial(value: object, proto: object, walk: Walk): string {
  const known = KNOWN.get(proto);
  if (known) return known(value, walk);
  let verdict = verdicts.get(proto);
  if (verdict === undefined) {
    verdict = judge(proto, className(value));
    verdicts.set(proto, verdict);
  }
  switch (verdict.kind) {
    case 'plain':
      return encodeProperties('{', value, walk);
    case 'error':
      return encodeError(value as Error, walk);
    case 'json':
      return encodeToJSON(value, walk);
    case 'refuse':
      throw new Unkeyable(verdict.reason, verdict.remedy);
    default:
      return encodeInstance(value, walk);
  }
}

function encodeToJSON(value: object, walk: Walk): string {
  enter(value, walk, 1);
  const content: unknown = (value as { toJSON: () => unknown }).toJSON();
  let out: string;
  try {
    out = `J${quote(className(value))}${encode(content, walk)}`;
  } catch (error) {
    throw withSegment(error, '.<toJSON()>', value);
  }
  walk.path.delete(value);
  return out;
}

function encodeInstance(value: object, walk: Walk): string {
  const name = className(value);
  if (Object.getOwnPropertySymbols(value).length > 0) {
    throw new Unkeyable(
      `an instance of ${name || 'a class'} keeps state under symbol keys that the key cannot see`,
      USE_TO_JSON,
    );
  }
  if (Object.keys(value).length === 0) {
    throw new Unkeyable(
      `an instance of ${name || 'a class'} has no own enumerable properties, so its state is unseen`,
      USE_TO_JSON,
    );
  }
  return encodeProperties(`C${quote(name)}{`, value, walk);
}

function toTypeError(error: Unkeyable): TypeError {
  const path = `args${error.segments.toReversed().join('')}`;
  let reason = error.reason;
  if (error.cycleTarget !== undefined && error.targetDepth >= 0) {
    const below = error.segments.slice(error.targetDepth).reverse().join('');
    reason += ` back to args${below}`;
  }
  return new TypeError(`cachier cannot make a cache key from ${path}: ${reason}. ${error.remedy}`);
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
 * @throws TypeError naming the offending path (e.g. `args[1].user.callback`) for any argument
 * the encoding cannot see in full (see the module comment) and for arguments over the limits.
 */
export function encodeArgs(args: readonly unknown[]): string {
  return encodeAfter('', args);
}

/** `prefix` + the encoding of `args`, built in one string (a raw key's prefix costs no copy). */
function encodeAfter(prefix: string, args: readonly unknown[]): string {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  let out = prefix;
  let walk: Walk | undefined;
  for (let i = 0; i < end; i++) {
    const arg = args[i];
    try {
      if (typeof arg === 'object' && arg !== null) walk ??= new Walk();
      out += encode(arg, walk);
      if (out.length - prefix.length > MAX_ENCODED_LENGTH) throw tooLong();
    } catch (error) {
      if (error instanceof Unkeyable) {
        error.segments.push(`[${i}]`);
        if (error.cycleTarget === arg && error.targetDepth < 0) {
          error.targetDepth = error.segments.length;
        }
        throw toTypeError(error);
      }
      throw error;
    }
  }
  return out;
}

/** One-shot hashing (Node >= 20.12) skips the Hash object: about 3× faster for short keys. */
const oneShotHash = typeof crypto.hash === 'function' ? crypto.hash : undefined;

function sha256HexOfBytes(bytes: Uint8Array): string {
  return oneShotHash
    ? oneShotHash('sha256', bytes, 'hex')
    : crypto.createHash('sha256').update(bytes).digest('hex');
}

/**
 * Hex SHA-256 of a string's UTF-8 bytes: a fixed-length, filename- and index-safe key that
 * reveals nothing about the arguments.
 *
 * @example
 * sha256Hex(''); // 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 */
export function sha256Hex(text: string): string {
  return oneShotHash
    ? oneShotHash('sha256', text, 'hex')
    : crypto.createHash('sha256').update(text, 'utf8').digest('hex');
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

function hashArgsResult(result: unknown): string {
  if (typeof result !== 'string') {
    const got = result === null ? 'null' : typeof result;
    throw new TypeError(
      `cachier: the hashArgs option must return a string, but it returned ${got}.`,
    );
  }
  return result;
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
  return sha256Hex(hashArgsResult(result));
}

/** Raw keys up to this length are used as they are; longer ones are hashed to bound memory. */
export const RAW_KEY_LIMIT = 200;

/**
 * The key of one call. With `raw: false` it is the 64-hex SHA-256 that every persistent core
 * stores under. With `raw: true` (a value core, `stores: 'values'`, such as the memory core: its keys never leave the process) short
 * encodings skip the hash: `r` + encoding, `h` + `hashArgs` result, or for longer ones
 * `R`/`H` + the SHA-256. The prefixes keep the default and `hashArgs` key spaces apart.
 * {@link publicKey} turns a raw key into the SHA-256 form for events.
 *
 * @example
 * cacheKey([1, 'a'], undefined, undefined, false) === defaultKey([1, 'a']); // true
 * cacheKey([1, 'a'], undefined, undefined, true); // 'rd1;"a"'
 * publicKey(cacheKey([1, 'a'], undefined, undefined, true)) === defaultKey([1, 'a']); // true
 *
 * @throws TypeError from {@link encodeArgs}, or when `hashArgs` returns a non-string; whatever
 * `hashArgs` itself throws.
 */
export function cacheKey(
  args: readonly unknown[],
  self: unknown,
  hashArgs: ((args: unknown[], self: unknown) => string) | undefined,
  raw: boolean,
): string {
  if (hashArgs) {
    const custom = hashArgsResult(hashArgs(args as unknown[], self));
    if (!raw) return sha256Hex(custom);
    return custom.length <= RAW_KEY_LIMIT ? `h${custom}` : `H${sha256Hex(custom)}`;
  }
  if (!raw) return sha256Hex(encodeArgs(args));
  const prefixed = encodeAfter('r', args);
  return prefixed.length <= RAW_KEY_LIMIT + 1 ? prefixed : `R${sha256Hex(prefixed.slice(1))}`;
}

/**
 * The 64-hex SHA-256 key that a key from {@link cacheKey} stands for: the key itself when it
 * is one already, the hash of a raw memory-core key otherwise. Events and verbose lines show
 * this, so they never show argument data and agree across cores.
 *
 * @example
 * publicKey(`r${encodeArgs([1])}`) === defaultKey([1]); // true
 */
export function publicKey(key: string): string {
  switch (key[0]) {
    case 'r':
    case 'h':
      return sha256Hex(key.slice(1));
    case 'R':
    case 'H':
      return key.slice(1);
    default:
      return key;
  }
}
