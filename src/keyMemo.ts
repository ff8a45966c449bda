/**
 * A memo of raw keys (internal): for argument lists made only of short primitives, the
 * key that `build` made for them last time, found with one `Map` lookup per argument.
 *
 * Building a memory-core key (src/keys.ts) costs more than the rest of a hit together:
 * the encoding makes a new string, and the store then hashes that new string again. A
 * memoized key is the same string object every time, whose hash V8 has already cached.
 *
 * Exact by construction: `build` is a pure function of the arguments' values, and two
 * primitives that a `Map` treats as the same key (SameValueZero) encode the same, except
 * `0` and `-0`, which are told apart here. Anything else (objects, long strings, symbols)
 * goes to `build` every time.
 *
 * Bounded: after {@link KeyMemo.limit} remembered lists it starts over, and when a whole
 * round served fewer hits than it remembered lists (arguments that rarely repeat), it
 * stops remembering, so such a workload pays for one round only.
 *
 * @example
 * const memo = new KeyMemo((args) => cacheKey(args, undefined, undefined, true));
 * memo.keyOf([1, 'en']) === memo.keyOf([1, 'en']); // true: the same string object
 */
export class KeyMemo {
  /** Argument lists remembered before the memo starts over. */
  static readonly limit = 1024;
  /** Strings longer than this are not remembered (their keys are long too). */
  static readonly maxStringLength = 64;

  /** By argument count, then one level per argument; the last level holds the key. */
  private byLength: (Level | string | undefined)[] = [];
  private remembered = 0;
  private hitsThisRound = 0;
  private stopped = false;

  constructor(private readonly build: (args: readonly unknown[]) => string) {}

  keyOf(args: readonly unknown[]): string {
    if (this.stopped) return this.build(args);
    const count = args.length;
    let found: Level | string | undefined = this.byLength[count];
    for (let i = 0; i < count && found !== undefined; i++) {
      const slot = slotOf(args[i]);
      if (slot === NOT_MEMOIZABLE) return this.build(args);
      found = (found as Level).get(slot);
    }
    if (typeof found === 'string') {
      this.hitsThisRound++;
      return found;
    }
    const key = this.build(args);
    this.remember(args, key);
    return key;
  }

  private remember(args: readonly unknown[], key: string): void {
    const count = args.length;
    for (let i = 0; i < count; i++) if (slotOf(args[i]) === NOT_MEMOIZABLE) return;
    if (this.remembered >= KeyMemo.limit) {
      if (this.hitsThisRound < this.remembered) {
        this.stopped = true;
        this.byLength = [];
        return;
      }
      this.byLength = [];
      this.remembered = 0;
      this.hitsThisRound = 0;
    }
    if (count === 0) {
      this.byLength[0] = key;
    } else {
      let level = this.byLength[count] as Level | undefined;
      if (level === undefined) {
        level = new Map();
        this.byLength[count] = level;
      }
      for (let i = 0; i < count - 1; i++) {
        const slot = slotOf(args[i]);
        let next = level.get(slot) as Level | undefined;
        if (next === undefined) {
          next = new Map();
          level.set(slot, next);
        }
        level = next;
      }
      level.set(slotOf(args[count - 1]), key);
    }
    this.remembered++;
  }
}

type Level = Map<unknown, Level | string>;

/** Stands for `-0`, which a `Map` does not tell from `0` but the key encoding does. */
const NEGATIVE_ZERO = Symbol('-0');
const NOT_MEMOIZABLE = Symbol('not memoizable');

/** The `Map` key an argument is remembered under, or NOT_MEMOIZABLE. */
function slotOf(arg: unknown): unknown {
  switch (typeof arg) {
    case 'string':
      return arg.length <= KeyMemo.maxStringLength ? arg : NOT_MEMOIZABLE;
    case 'number':
      return arg === 0 && 1 / arg < 0 ? NEGATIVE_ZERO : arg;
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return arg;
    default:
      return arg === null ? null : NOT_MEMOIZABLE;
  }
}
