import assert from 'node:assert/strict';
import type { AnyCore, StoredEntry, ValueEntry } from '../cores/contract.js';

/**
 * One entry the kit writes, in both shapes: `bytes` for a byte core, `value` (an object
 * compared by reference) for a value core.
 */
export interface Sample {
  readonly bytes: Uint8Array;
  readonly value: { readonly bytes: Uint8Array };
  readonly calculatedAt: number;
}

/** What a core's `get` answered: an entry of either shape, or nothing. */
export type ReadEntry = StoredEntry | ValueEntry | undefined;

/** Makes a sample holding `bytes`, calculated at `calculatedAt`. */
export function sample(bytes: Uint8Array, calculatedAt: number): Sample {
  return { bytes, value: { bytes }, calculatedAt };
}

/** `length` bytes, all `byte`. */
export function filled(length: number, byte: number): Uint8Array {
  return new Uint8Array(length).fill(byte);
}

/** Stores `entry` under `name`/`key` in the shape the core keeps. */
export function write(core: AnyCore, name: string, key: string, entry: Sample): Promise<void> {
  if (core.stores === 'values') {
    return core.set(name, key, { value: entry.value, calculatedAt: entry.calculatedAt });
  }
  return core.set(name, key, { bytes: entry.bytes, calculatedAt: entry.calculatedAt });
}

/** Reads `name`/`key`; a synchronous throw from `get` becomes a rejection. */
export async function read(core: AnyCore, name: string, key: string): Promise<ReadEntry> {
  return core.get(name, key);
}

function sameBytes(actual: Uint8Array, expected: Uint8Array): boolean {
  return Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
    Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
  );
}

/** Whether `actual` is exactly `expected`: same bytes (or the same value object) and calculatedAt. */
export function isEntry(actual: ReadEntry, expected: Sample): boolean {
  if (actual === undefined || actual.calculatedAt !== expected.calculatedAt) return false;
  if ('value' in actual) return actual.value === expected.value;
  return actual.bytes instanceof Uint8Array && sameBytes(actual.bytes, expected.bytes);
}

/** A short description of an entry for failure messages: never its content, which may be 1 MiB. */
export function describeEntry(entry: ReadEntry): string {
  if (entry === undefined) return 'undefined';
  if ('value' in entry) return `a value entry (calculatedAt ${entry.calculatedAt})`;
  const size = entry.bytes instanceof Uint8Array ? `${entry.bytes.byteLength} bytes` : 'no bytes';
  return `an entry of ${size} (calculatedAt ${entry.calculatedAt})`;
}

/** Fails unless `actual` is exactly `expected`, saying how it differs. */
export function assertEntry(actual: ReadEntry, expected: Sample, what: string): void {
  assert.ok(actual !== undefined, `${what}: get returned undefined`);
  assert.equal(
    actual.calculatedAt,
    expected.calculatedAt,
    `${what}: calculatedAt came back as ${actual.calculatedAt}, stored ${expected.calculatedAt}`,
  );
  if ('value' in actual) {
    assert.ok(actual.value === expected.value, `${what}: get returned another value object`);
    return;
  }
  assert.ok(actual.bytes instanceof Uint8Array, `${what}: entry.bytes is not a Uint8Array`);
  if (sameBytes(actual.bytes, expected.bytes)) return;
  const length = Math.min(actual.bytes.byteLength, expected.bytes.byteLength);
  let at = 0;
  while (at < length && actual.bytes[at] === expected.bytes[at]) at++;
  assert.fail(
    `${what}: got ${actual.bytes.byteLength} bytes, stored ${expected.bytes.byteLength}; first difference at byte ${at}`,
  );
}
