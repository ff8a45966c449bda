/**
 * Would `v8.deserialize(v8.serialize(value))` give `value` back as it was?
 *
 * node:v8 keeps plain data and a fixed set of built-ins, and silently changes the rest: a class
 * instance comes back as a plain object, a `URL` as `{}`, an `Error` subclass as a plain `Error`
 * without its extra fields, a getter as its current value. A cache that stored such a result
 * would later return something other than what the function returned, so the default codec asks
 * this module first and refuses what would change.
 *
 * What comes back equal, with the same prototype (each fact checked on Node 20 by
 * test/serializeV8Fidelity.test.ts):
 * - primitives except symbols: strings, numbers (`NaN`, `-0`), bigints, booleans, `undefined`,
 *   `null`;
 * - plain objects (prototype `Object.prototype`) whose own properties are all enumerable data
 *   properties with string keys;
 * - arrays, holes included, and their enumerable named properties;
 * - `Date`, `RegExp` (with `lastIndex` 0), `Map`, `Set`, boxed numbers, strings, booleans and
 *   bigints, without extra own properties;
 * - `ArrayBuffer` (resizable ones stay resizable), `DataView`, every typed array and node's
 *   `Buffer` (it comes back as a `Buffer`), over a fixed-length, non-shared buffer;
 * - `Error`, `EvalError`, `RangeError`, `ReferenceError`, `SyntaxError`, `TypeError`,
 *   `URIError` with their `message`, `stack` and `cause`, and no other own property;
 * - cycles and shared references (node:v8 keeps them).
 *
 * Not inspected, because listing them would cost more than serializing: named extra properties
 * of typed arrays and Buffers, and of arrays longer than {@link ARRAY_KEY_CHECK_LIMIT}
 * (elements are still checked one by one).
 */
import { types } from 'node:util';

/** Containers expanded before the walk starts remembering them (see `walk`). */
const UNTRACKED_EXPANSIONS = 1000;

/** Up to this length an array's own keys are listed to find non-element properties. */
export const ARRAY_KEY_CHECK_LIMIT = 1024;

const ERROR_PROTOTYPES: ReadonlySet<object> = new Set([
  Error.prototype,
  EvalError.prototype,
  RangeError.prototype,
  ReferenceError.prototype,
  SyntaxError.prototype,
  TypeError.prototype,
  URIError.prototype,
]);

const TYPED_ARRAY_PROTOTYPES: ReadonlySet<object> = new Set<object>([
  Int8Array.prototype,
  Uint8Array.prototype,
  Uint8ClampedArray.prototype,
  Int16Array.prototype,
  Uint16Array.prototype,
  Int32Array.prototype,
  Uint32Array.prototype,
  Float32Array.prototype,
  Float64Array.prototype,
  BigInt64Array.prototype,
  BigUint64Array.prototype,
  Buffer.prototype,
]);

/** Prototypes of the kinds node:v8 keeps: an object with one of them but not its slots is fake. */
const KEPT_PROTOTYPES: ReadonlySet<object> = new Set<object>([
  ...ERROR_PROTOTYPES,
  ...TYPED_ARRAY_PROTOTYPES,
  Object.prototype,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  DataView.prototype,
  Number.prototype,
  String.prototype,
  Boolean.prototype,
  BigInt.prototype,
  Symbol.prototype,
]);

/** How a child hangs from its holder; turned into a path segment only when a loss is reported. */
const Via = {
  Property: 0,
  Element: 1,
  MapKey: 2,
  MapValue: 3,
  SetElement: 4,
  Cause: 5,
} as const;
type Via = (typeof Via)[keyof typeof Via];

interface Link {
  holder: object;
  via: Via;
  key: string | undefined;
  position: number;
}

/** A loss found by the walk: the reason and where (the holder plus, optionally, one step). */
interface Loss {
  reason: string;
  holder: object;
  step: Omit<Link, 'holder'> | undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]{0,39}$/;

function segment(via: Via, key: string | undefined, position: number): string {
  switch (via) {
    case Via.Property:
      // Property names that look like code are shown; any other key might be data.
      return key !== undefined && IDENTIFIER.test(key) ? `.${key}` : `.<property ${position}>`;
    case Via.Element:
      return `[${position}]`;
    case Via.MapKey:
      return `.<Map key ${position}>`;
    case Via.MapValue:
      return `.<Map entry ${position}>`;
    case Via.SetElement:
      return `.<Set element ${position}>`;
    case Via.Cause:
      return '.cause';
  }
}

function primitiveLoss(value: unknown): string | undefined {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  return undefined;
}

function article(word: string): string {
  // "a URL", "a Uint8Array": a leading U sounds like a consonant in these names.
  return /^[AEIO]/i.test(word) ? 'an' : 'a';
}

/** The constructor a prototype names, read without running getters. */
function constructorName(proto: object): { name: string; ctor: unknown } {
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  const name = typeof ctor === 'function' && typeof ctor.name === 'string' ? ctor.name : '';
  return { name, ctor };
}

/** Why an object of an unsupported prototype (or one faking a supported one) is refused. */
function instanceLoss(value: object, proto: object): string {
  const { name, ctor } = constructorName(proto);
  if (name !== '' && (globalThis as Record<string, unknown>)[name] === ctor) {
    if (name === 'AggregateError') {
      return 'an AggregateError (comes back as a plain Error without its errors)';
    }
    if (KEPT_PROTOTYPES.has(proto))
      return `an object that only pretends to be ${article(name)} ${name}`;
    return `${article(name)} ${name} (not kept by node:v8)`;
  }
  if (types.isNativeError(value)) return `an Error subclass (${name || 'anonymous'})`;
  if (name === '') return 'an instance of an anonymous class';
  if (name === 'Object' && Object.getPrototypeOf(proto) === null) {
    return 'a plain object from another realm (vm context)';
  }
  return `an instance of class ${name}`;
}

/** Own keys beyond the `expected` count mean properties that node:v8 drops. */
function hasExtraKeys(value: object, expected: number): boolean {
  return Reflect.ownKeys(value).length !== expected;
}

/**
 * Checks an Error of a built-in type: node:v8 keeps only its message, stack and cause. An own
 * `name` is dropped too (node:v8 even picks the type by it: a TypeError renamed 'RangeError'
 * comes back a RangeError).
 */
function errorLoss(error: Error): string | undefined {
  for (const key of Reflect.ownKeys(error)) {
    const descriptor = Object.getOwnPropertyDescriptor(error, key)!;
    switch (key) {
      case 'message':
        if (typeof descriptor.value !== 'string') {
          return 'an Error whose message is not a string (comes back changed)';
        }
        break;
      case 'stack':
        if (typeof descriptor.value !== 'string') {
          return 'an Error whose stack is not a string (comes back undefined)';
        }
        break;
      case 'cause':
        if (!('value' in descriptor)) return 'an Error whose cause is a getter';
        break;
      default:
        return 'an Error with extra fields (node:v8 keeps only message, stack and cause)';
    }
  }
  return undefined;
}

/** Checks a typed array, Buffer or DataView: the data is kept, but not every kind of buffer. */
function viewLoss(view: ArrayBufferView, kind: string): string | undefined {
  const buffer = view.buffer as ArrayBuffer | SharedArrayBuffer;
  if (types.isSharedArrayBuffer(buffer)) {
    return `${article(kind)} ${kind} over a SharedArrayBuffer (comes back over an unshared copy)`;
  }
  if ((buffer as ArrayBuffer & { resizable?: boolean }).resizable === true) {
    return `${article(kind)} ${kind} over a resizable ArrayBuffer (comes back fixed-length)`;
  }
  return undefined;
}

/**
 * Walks the value's graph depth-first without recursion (so depth cannot overflow the stack),
 * expanding each container at most a bounded number of times (so cycles end).
 * With `links`, it also records how each object was first reached; that is only done on a
 * second walk once a loss is known, so the common case builds no paths.
 */
function walk(root: object, links: Map<object, Link> | undefined): Loss | undefined {
  const pending: object[] = [root];
  // Most values are small trees: they are walked without the cost of remembering every
  // container. Past a budget (cycles loop until they reach it; shared references repeat work)
  // each container is expanded at most once more.
  let budget = UNTRACKED_EXPANSIONS;
  let expanded: Set<object> | undefined;
  /** False when the container was expanded already. */
  const firstExpansion = (container: object): boolean => {
    if (expanded === undefined) {
      if (--budget >= 0) return true;
      expanded = new Set();
    }
    if (expanded.has(container)) return false;
    expanded.add(container);
    return true;
  };
  let found: Loss | undefined;

  /** Queues an object child, or notes a primitive one that node:v8 cannot keep. */
  const child = (
    value: unknown,
    holder: object,
    via: Via,
    key: string | undefined,
    position: number,
  ): boolean => {
    if (typeof value === 'object') {
      if (value !== null) {
        pending.push(value);
        if (links !== undefined && value !== root && !links.has(value)) {
          links.set(value, { holder, via, key, position });
        }
      }
      return false;
    }
    const reason = primitiveLoss(value);
    if (reason === undefined) return false;
    found = { reason, holder, step: { via, key, position } };
    return true;
  };
  const at = (holder: object, reason: string, step?: Loss['step']): Loss => {
    found = { reason, holder, step };
    return found;
  };
  /**
   * Checks own properties the slow way, to say which one node:v8 would change: it keeps
   * enumerable data properties with string keys. Array elements and `length` are skipped.
   */
  const properties = (holder: object): boolean => {
    const keys = Reflect.ownKeys(holder);
    const isArray = Array.isArray(holder);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (isArray && (key === 'length' || isArrayIndex(key))) continue;
      if (typeof key === 'symbol') {
        at(holder, 'a symbol-keyed property (dropped)', propertyStep(undefined, i));
        return true;
      }
      const descriptor = Object.getOwnPropertyDescriptor(holder, key)!;
      if (!('value' in descriptor)) {
        at(holder, 'a getter/setter (stored as its current value)', propertyStep(key, i));
        return true;
      }
      if (!descriptor.enumerable) {
        at(holder, 'a non-enumerable property (dropped)', propertyStep(key, i));
        return true;
      }
      if (child(descriptor.value, holder, Via.Property, key, i)) return true;
    }
    return false;
  };

  while (pending.length > 0) {
    const value = pending.pop()!;
    // Before anything else: inspecting a Proxy would run its traps.
    if (types.isProxy(value)) return at(value, 'a Proxy (node:v8 cannot store it)');
    const proto: unknown = Object.getPrototypeOf(value);

    if (proto === Object.prototype) {
      if (!firstExpansion(value)) continue;
      const keys = Object.keys(value);
      // The common case, in cheap calls: only enumerable string-keyed properties.
      if (
        Object.getOwnPropertyNames(value).length !== keys.length ||
        Object.getOwnPropertySymbols(value).length !== 0
      ) {
        if (properties(value)) return found;
        continue;
      }
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
        if (!('value' in descriptor)) {
          return at(value, 'a getter/setter (stored as its current value)', propertyStep(key, i));
        }
        if (child(descriptor.value, value, Via.Property, key, i)) return found;
      }
      continue;
    }

    if (proto === Array.prototype && Array.isArray(value)) {
      if (!firstExpansion(value)) continue;
      const array = value as unknown[];
      const length = array.length;
      let elements = 0;
      for (let i = 0; i < length; i++) {
        const element = array[i];
        if (element === undefined && !(i in array)) continue; // a hole: node:v8 keeps holes
        elements++;
        if (child(element, array, Via.Element, undefined, i)) return found;
      }
      // Besides the elements only `length`: nothing else to check.
      if (
        length <= ARRAY_KEY_CHECK_LIMIT &&
        Reflect.ownKeys(array).length !== elements + 1 &&
        properties(array)
      ) {
        return found;
      }
      continue;
    }

    if (proto === null) {
      return at(value, 'an object with a null prototype (comes back with Object.prototype)');
    }

    if (proto === Map.prototype && types.isMap(value)) {
      if (!firstExpansion(value)) continue;
      if (hasExtraKeys(value, 0)) return at(value, 'a Map with extra properties (dropped)');
      let i = 0;
      for (const [key, entry] of value as Map<unknown, unknown>) {
        if (child(key, value, Via.MapKey, undefined, i)) return found;
        if (child(entry, value, Via.MapValue, undefined, i)) return found;
        i++;
      }
      continue;
    }

    if (proto === Set.prototype && types.isSet(value)) {
      if (!firstExpansion(value)) continue;
      if (hasExtraKeys(value, 0)) return at(value, 'a Set with extra properties (dropped)');
      let i = 0;
      for (const element of value as Set<unknown>) {
        if (child(element, value, Via.SetElement, undefined, i)) return found;
        i++;
      }
      continue;
    }

    if (proto === Date.prototype && types.isDate(value)) {
      if (hasExtraKeys(value, 0)) return at(value, 'a Date with extra properties (dropped)');
      continue;
    }

    if (proto === RegExp.prototype && types.isRegExp(value)) {
      if (hasExtraKeys(value, 1)) return at(value, 'a RegExp with extra properties (dropped)');
      if ((value as RegExp).lastIndex !== 0) {
        return at(value, 'a RegExp with lastIndex set (comes back as 0)');
      }
      continue;
    }

    if (ERROR_PROTOTYPES.has(proto as object) && types.isNativeError(value)) {
      if (!firstExpansion(value)) continue;
      const reason = errorLoss(value as Error);
      if (reason !== undefined) return at(value, reason);
      const cause = Object.getOwnPropertyDescriptor(value, 'cause');
      if (cause && child(cause.value, value, Via.Cause, undefined, 0)) return found;
      continue;
    }

    if (TYPED_ARRAY_PROTOTYPES.has(proto as object) && types.isTypedArray(value)) {
      const kind = proto === Buffer.prototype ? 'Buffer' : constructorName(proto as object).name;
      const reason = viewLoss(value, kind);
      if (reason !== undefined) return at(value, reason);
      continue;
    }

    if (proto === DataView.prototype && types.isDataView(value)) {
      if (hasExtraKeys(value, 0)) return at(value, 'a DataView with extra properties (dropped)');
      const reason = viewLoss(value as DataView, 'DataView');
      if (reason !== undefined) return at(value, reason);
      continue;
    }

    if (proto === ArrayBuffer.prototype && types.isArrayBuffer(value)) {
      if (hasExtraKeys(value, 0)) {
        return at(value, 'an ArrayBuffer with extra properties (dropped)');
      }
      continue;
    }

    if (types.isBoxedPrimitive(value)) {
      if (types.isSymbolObject(value)) return at(value, 'a symbol');
      if (isBoxedWithOwnPrototype(value, proto as object)) {
        const ownKeys = types.isStringObject(value) ? (value as string).length + 1 : 0;
        if (hasExtraKeys(value, ownKeys)) {
          return at(value, 'a boxed primitive with extra properties (dropped)');
        }
        continue;
      }
    }

    return at(value, instanceLoss(value, proto as object));
  }
  return undefined;
}

function isBoxedWithOwnPrototype(value: object, proto: object): boolean {
  return (
    (proto === Number.prototype && types.isNumberObject(value)) ||
    (proto === String.prototype && types.isStringObject(value)) ||
    (proto === Boolean.prototype && types.isBooleanObject(value)) ||
    (proto === BigInt.prototype && types.isBigIntObject(value))
  );
}

function propertyStep(key: string | undefined, position: number): Loss['step'] {
  return { via: Via.Property, key, position };
}

const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

function isArrayIndex(key: string | symbol): boolean {
  return typeof key === 'string' && ARRAY_INDEX.test(key) && Number(key) < 2 ** 32 - 1;
}

/** `value` plus the segments that lead from the root to `target`, from the recorded links. */
function pathTo(target: object, links: Map<object, Link>): string {
  const segments: string[] = [];
  for (let link = links.get(target); link; link = links.get(link.holder)) {
    segments.push(segment(link.via, link.key, link.position));
  }
  return `value${segments.reverse().join('')}`;
}

/**
 * Finds what node:v8 would not give back as it was.
 *
 * @returns `undefined` when `v8.deserialize(v8.serialize(value))` gives back an equal value of
 * the same types; otherwise where and what, by position and kind only, never the data:
 * `value.items[2]: an instance of class Invoice`, `value.<Map entry 3>: a function`,
 * `value: a URL (not kept by node:v8)`. Property names are shown when they look like
 * identifiers; other keys by position.
 *
 * @example
 * findV8Loss({ when: new Date(), tags: new Set(['a']) }); // undefined
 * findV8Loss({ items: [1, 2, new Invoice()] }); // 'value.items[2]: an instance of class Invoice'
 */
export function findV8Loss(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) {
    const reason = primitiveLoss(value);
    return reason === undefined ? undefined : `value: ${reason}`;
  }
  if (walk(value, undefined) === undefined) return undefined;
  // Walk again recording links: the walk is deterministic, so it stops at the same loss.
  const links = new Map<object, Link>();
  const loss = walk(value, links)!;
  const step = loss.step ? segment(loss.step.via, loss.step.key, loss.step.position) : '';
  return `${pathTo(loss.holder, links)}${step}: ${loss.reason}`;
}
