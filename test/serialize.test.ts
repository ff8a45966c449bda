import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { CorruptEntryError, SerializationError } from '../src/errors.js';
import {
  decodeEntry,
  decodeHeader,
  deserializeValue,
  ENTRY_FORMAT_VERSION,
  encodeEntry,
  HEADER_BYTES,
  serializeValue,
} from '../src/serialize.js';

const AT = Date.UTC(2024, 1, 29, 12, 0, 0);

function entryOf(value: unknown, calculatedAt = AT): Buffer {
  return encodeEntry(serializeValue(value), calculatedAt);
}

function roundTrip(value: unknown): unknown {
  const decoded = decodeEntry(entryOf(value));
  expect(decoded?.calculatedAt).toBe(AT);
  return decoded?.value;
}

describe('entry header', () => {
  it('starts with the magic, the format version and reserved zeros', () => {
    const bytes = entryOf('x');
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('CCHR');
    expect(bytes[4]).toBe(ENTRY_FORMAT_VERSION);
    expect([...bytes.subarray(5, 8)]).toEqual([0, 0, 0]);
    expect(bytes.byteLength).toBe(HEADER_BYTES + serializeValue('x').byteLength);
  });

  it('round-trips the calculation time and payload length', () => {
    const payload = serializeValue({ a: 1 });
    const header = decodeHeader(encodeEntry(payload, AT + 0.25));
    expect(header).toEqual({ calculatedAt: AT + 0.25, payloadLength: payload.byteLength });
  });

  it('reads a header from the first bytes of a longer buffer', () => {
    const bytes = entryOf('a long enough value to outgrow the header');
    const prefix = Buffer.concat([bytes.subarray(0, HEADER_BYTES), Buffer.alloc(100, 7)]);
    expect(decodeHeader(prefix, HEADER_BYTES)?.calculatedAt).toBe(AT);
  });

  it('decodes an entry that sits inside a larger buffer at an offset', () => {
    const bytes = entryOf({ inner: true });
    const outer = Buffer.concat([Buffer.alloc(13, 1), bytes, Buffer.alloc(9, 2)]);
    const view = outer.subarray(13, 13 + bytes.byteLength);
    expect(decodeEntry(view)).toEqual({ calculatedAt: AT, value: { inner: true } });
  });
});

describe('damaged entries', () => {
  const good = entryOf({ name: 'value', list: [1, 2, 3] });

  it('rejects an empty or header-short file as truncated', () => {
    expect(() => decodeEntry(Buffer.alloc(0))).toThrow(CorruptEntryError);
    expect(() => decodeEntry(good.subarray(0, HEADER_BYTES - 1))).toThrow(/truncated/);
  });

  it('rejects an entry cut inside its payload', () => {
    for (const cut of [HEADER_BYTES, HEADER_BYTES + 1, good.byteLength - 1]) {
      expect(() => decodeEntry(good.subarray(0, cut))).toThrow(CorruptEntryError);
    }
    expect(() => decodeEntry(good, good.byteLength - 1)).toThrow(/truncated/);
  });

  it('rejects trailing bytes after the payload', () => {
    expect(() => decodeEntry(Buffer.concat([good, Buffer.from([0])]))).toThrow(CorruptEntryError);
  });

  it('rejects a foreign file', () => {
    expect(() => decodeEntry(Buffer.from('{"some":"json file of another program"}'))).toThrow(
      /foreign/,
    );
    expect(() => decodeEntry(serialize({ a: 1 }))).toThrow(CorruptEntryError);
  });

  it('rejects a non-finite calculation time', () => {
    const bytes = Buffer.from(good);
    bytes.writeDoubleLE(Number.NaN, 8);
    expect(() => decodeEntry(bytes)).toThrow(CorruptEntryError);
  });

  it('rejects a damaged payload behind a valid header', () => {
    const garbage = Buffer.from('definitely not v8 data');
    expect(() => decodeEntry(encodeEntry(garbage, AT))).toThrow(CorruptEntryError);
    const flipped = Buffer.from(good);
    flipped.fill(0xff, HEADER_BYTES + 2);
    expect(() => decodeEntry(flipped)).toThrow(CorruptEntryError);
  });

  it('gives CorruptEntryError a stable code and the cause', () => {
    try {
      deserializeValue(Buffer.from([0xff, 0x0f, 0x99, 0x99]));
      expect.unreachable('damaged bytes must not decode');
    } catch (error) {
      expect(error).toBeInstanceOf(CorruptEntryError);
      expect((error as CorruptEntryError).code).toBe('CACHIER_CORRUPT_ENTRY');
      expect((error as CorruptEntryError).cause).toBeInstanceOf(Error);
    }
  });
});

describe('unknown format versions', () => {
  it('are a miss (undefined), not an error', () => {
    for (const version of [0, ENTRY_FORMAT_VERSION + 1, 255]) {
      const bytes = Buffer.from(entryOf('v'));
      bytes[4] = version;
      expect(decodeHeader(bytes)).toBeUndefined();
      expect(decodeEntry(bytes)).toBeUndefined();
    }
  });

  it('are a miss even when the rest of a newer format looks nothing like ours', () => {
    const bytes = Buffer.concat([Buffer.from('CCHR'), Buffer.from([ENTRY_FORMAT_VERSION + 1])]);
    expect(decodeEntry(Buffer.concat([bytes, Buffer.alloc(40, 0xee)]))).toBeUndefined();
  });
});

describe('values', () => {
  it('round-trips plain data, keeping undefined properties and holes apart from null', () => {
    const value = { s: 'text', n: -0, f: 1.5, t: true, nil: null, u: undefined, list: [1, 'x'] };
    const back = roundTrip(value) as typeof value;
    expect(back).toEqual(value);
    expect('u' in back).toBe(true);
    expect(Object.is(back.n, -0)).toBe(true);
  });

  it('round-trips undefined and null themselves', () => {
    expect(roundTrip(undefined)).toBeUndefined();
    expect(roundTrip(null)).toBeNull();
  });

  it('round-trips Buffer contents', () => {
    const back = roundTrip(Buffer.from([0, 1, 2, 250])) as Uint8Array;
    expect(Buffer.from(back).equals(Buffer.from([0, 1, 2, 250]))).toBe(true);
  });

  it('round-trips typed arrays', () => {
    const back = roundTrip(new Float32Array([1.5, -2])) as Float32Array;
    expect(back).toBeInstanceOf(Float32Array);
    expect([...back]).toEqual([1.5, -2]);
  });

  it('round-trips Date, Map, Set and BigInt', () => {
    const value = {
      date: new Date('2001-02-03T04:05:06.789Z'),
      map: new Map<unknown, unknown>([
        ['k', 1],
        [2, { deep: new Set([1n]) }],
      ]),
      set: new Set(['a', 'b']),
      big: -(2n ** 70n),
    };
    const back = roundTrip(value) as typeof value;
    expect(back.date).toBeInstanceOf(Date);
    expect(back.date.getTime()).toBe(value.date.getTime());
    expect(back.map).toBeInstanceOf(Map);
    expect([...back.map.keys()]).toEqual(['k', 2]);
    expect(back.map).toEqual(value.map);
    expect(back.set).toEqual(new Set(['a', 'b']));
    expect(back.big).toBe(-(2n ** 70n));
  });

  it('round-trips RegExp with its flags', () => {
    const back = roundTrip(/^a.+z$/imsu) as RegExp;
    expect(back).toBeInstanceOf(RegExp);
    expect(back.source).toBe('^a.+z$');
    expect(back.flags).toBe('imsu');
  });

  it('round-trips Errors with their kind and message', () => {
    const back = roundTrip(new TypeError('bad input')) as Error;
    expect(back).toBeInstanceOf(TypeError);
    expect(back.message).toBe('bad input');
  });

  it('refuses values that cannot be cloned with SerializationError', () => {
    for (const bad of [() => 1, { callback: () => 1 }, Symbol('s'), { p: Promise.resolve() }]) {
      expect(() => serializeValue(bad)).toThrow(SerializationError);
    }
    try {
      serializeValue({ f: () => 1 });
      expect.unreachable('a function must not serialize');
    } catch (error) {
      expect((error as SerializationError).code).toBe('CACHIER_UNSERIALIZABLE');
      expect((error as SerializationError).cause).toBeInstanceOf(Error);
    }
  });
});
