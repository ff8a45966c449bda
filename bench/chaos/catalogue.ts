/**
 * The wrapped functions of a chaos run and their true results. Every result is a pure
 * function of the function's name and the key, so the driver can check every value a
 * worker got without trusting any process that took part.
 */
import { createHash } from 'node:crypto';

/** How a chaos function behaves. */
export interface ChaosFunction {
  /** Its cache name (the `name` option). */
  name: FunctionName;
  /** How long a calculation of `key` takes, in ms (deterministic). */
  calcMs(key: string): number;
  /** Whether `key` always throws (never stored, so never counted for "exactly once"). */
  throws(key: string): boolean;
  /** `staleAfter` in ms, with `nextTime: true`; values may be served stale and refreshed. */
  staleAfterMs?: number;
  /** Whether a non-throwing key must be calculated exactly once per round. */
  exactlyOnce: boolean;
}

export type FunctionName = 'chaos-fast' | 'chaos-slow' | 'chaos-throws' | 'chaos-next-time';

/** A number in [0, 1) that depends only on `text`. */
function unit(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;
}

/** The functions every worker wraps. */
export const FUNCTIONS: readonly ChaosFunction[] = [
  {
    name: 'chaos-fast',
    calcMs: (key) => 10 + Math.floor(unit(`fast ${key}`) * 60),
    throws: () => false,
    exactlyOnce: true,
  },
  {
    name: 'chaos-slow',
    calcMs: (key) => 200 + Math.floor(unit(`slow ${key}`) * 250),
    throws: () => false,
    exactlyOnce: true,
  },
  {
    name: 'chaos-throws',
    calcMs: (key) => 20 + Math.floor(unit(`throws ${key}`) * 100),
    // Half the keys, chosen by the key's text, throw on every calculation.
    throws: (key) => unit(`throws? ${key}`) < 0.5,
    exactlyOnce: true,
  },
  {
    name: 'chaos-next-time',
    calcMs: (key) => 10 + Math.floor(unit(`next ${key}`) * 40),
    throws: () => false,
    staleAfterMs: 150,
    // Stale values are recalculated by design.
    exactlyOnce: false,
  },
];

/** The function named `name`. */
export function functionNamed(name: string): ChaosFunction {
  const found = FUNCTIONS.find((f) => f.name === name);
  if (!found) throw new Error(`chaos: no function named ${name}`);
  return found;
}

/** What a chaos function returns for `key`: plain JSON, so it crosses IPC unchanged. */
export interface ChaosValue {
  fn: string;
  key: string;
  digest: string;
}

/** The true value of `fn(key)`. */
export function trueValue(fn: string, key: string): ChaosValue {
  const digest = createHash('sha256').update(`${fn}\0${key}`).digest('hex').slice(0, 16);
  return { fn, key, digest };
}

/** The message of the error a throwing key rejects with. */
export function thrownMessage(fn: string, key: string): string {
  return `chaos: ${fn}(${key}) throws by design`;
}

/** The keys of round `round`: fresh per round, so "exactly once" is counted per round. */
export function roundKey(round: number, index: number): string {
  return `r${round}k${index}`;
}
