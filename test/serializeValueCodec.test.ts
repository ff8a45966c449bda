import { serialize } from 'node:v8';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { CorruptEntryError, SerializationError } from '../src/errors.js';
import { validateDefaultParams, validateOptions } from '../src/options.js';
import { CODEC_TAG, makeValueCodec, type Serializer } from '../src/valueCodec.js';

class Invoice {
  constructor(
    public id = 'inv-1',
    public lines: number[] = [1, 2],
  ) {}
  total(): number {
    return this.lines.reduce((a, b) => a + b, 0);
  }
}
superjson.registerClass(Invoice, { identifier: 'Invoice' });

const superjsonSerializer: Serializer = {
  serialize: (value) => Buffer.from(superjson.stringify(value)),
  deserialize: (bytes) => superjson.parse(Buffer.from(bytes).toString()),
};

const SECRET = 'SECRET-91c2';

function thrown(attempt: () => unknown): unknown {
  try {
    attempt();
  } catch (error) {
    return error;
  }
  return expect.unreachable('expected a throw');
}

describe('the default (node:v8) codec', () => {
  const codec = makeValueCodec();

  it('round-trips values node:v8 keeps, tagged as node:v8', () => {
    const value = {
      when: new Date(0),
      bytes: Buffer.from([1, 2]),
      map: new Map([[1, new Set([2n])]]),
    };
    const bytes = codec.encode(value);
    expect(bytes[0]).toBe(CODEC_TAG.v8);
    const back = codec.decode(bytes) as typeof value;
    expect(back).toStrictEqual(value);
    expect(Buffer.isBuffer(back.bytes)).toBe(true);
  });

  it('round-trips undefined and null', () => {
    expect(codec.decode(codec.encode(undefined))).toBeUndefined();
    expect(codec.decode(codec.encode(null))).toBeNull();
  });

  it('decodes bytes that sit at an offset inside a larger buffer', () => {
    const bytes = codec.encode({ a: 'b' });
    const outer = new Uint8Array(bytes.byteLength + 10);
    outer.set(bytes, 7);
    expect(codec.decode(outer.subarray(7, 7 + bytes.byteLength))).toEqual({ a: 'b' });
  });

  it('refuses a value node:v8 would change, naming the path and the reason, not the data', () => {
    const error = thrown(() =>
      codec.encode({ items: [new URL(`https://${SECRET}.example/`), new Invoice(SECRET)] }),
    );
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).code).toBe('CACHIER_UNSERIALIZABLE');
    const { message } = error as Error;
    expect(message).toContain('value.items[');
    expect(message).toMatch(/a URL|class Invoice/);
    expect(message).toContain('serializer');
    expect(message).not.toContain(SECRET);
  });

  it('refuses class instances, Error subclasses with fields and nested functions', () => {
    class HttpError extends Error {
      status = 404;
    }
    for (const value of [new Invoice(), { err: new HttpError('x') }, [{ cb: () => 1 }]]) {
      expect(() => codec.encode(value)).toThrow(SerializationError);
      expect(() => codec.check(value)).toThrow(SerializationError);
    }
  });

  it('turns a node:v8 failure into SerializationError with the cause, not its message', () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const tooDeep = thrown(() => codec.encode(deep));
    expect(tooDeep).toBeInstanceOf(SerializationError);
    expect((tooDeep as Error).cause).toBeInstanceOf(RangeError);

    const detached = new ArrayBuffer(8);
    structuredClone(detached, { transfer: [detached] });
    const error = thrown(() => codec.encode({ detached }));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).not.toContain(((error as Error).cause as Error).message);
  });

  it('check accepts what encode stores and stores nothing', () => {
    expect(codec.check({ a: [1, new Date()] })).toBeUndefined();
  });

  it('reads damaged, empty, foreign and 0.1.0 (untagged) bytes as CorruptEntryError', () => {
    const good = codec.encode({ list: [1, 2, 3], text: 'abc' });
    const damaged = Uint8Array.from(good);
    damaged.fill(0xee, 3);
    for (const bytes of [
      new Uint8Array(0),
      damaged,
      good.subarray(0, 3),
      serialize({ stored: 'by cachier 0.1.0' }),
      Buffer.from('{"json": true}'),
      Uint8Array.of(0x7f, ...good.subarray(1)),
    ]) {
      const error = thrown(() => codec.decode(bytes));
      expect(error).toBeInstanceOf(CorruptEntryError);
      expect((error as CorruptEntryError).code).toBe('CACHIER_CORRUPT_ENTRY');
    }
  });
});

describe('a custom serializer', () => {
  const codec = makeValueCodec(superjsonSerializer);

  it('keeps class instances (superjson with a registered class)', () => {
    const bytes = codec.encode({ invoices: [new Invoice('a', [5, 6])] });
    expect(bytes[0]).toBe(CODEC_TAG.custom);
    const back = codec.decode(bytes) as { invoices: Invoice[] };
    expect(back.invoices[0]).toBeInstanceOf(Invoice);
    expect(back.invoices[0]!.total()).toBe(11);
  });

  it('gets exactly the bytes its serialize returned', () => {
    const seen: Uint8Array[] = [];
    const echo = makeValueCodec({
      serialize: () => Uint8Array.of(9, 8, 7),
      deserialize: (bytes) => {
        seen.push(Uint8Array.from(bytes));
        return 'decoded';
      },
    });
    expect(echo.decode(echo.encode('anything'))).toBe('decoded');
    expect([...seen[0]!]).toEqual([9, 8, 7]);
  });

  it('is not second-guessed: no fidelity check', () => {
    expect(() => codec.check(new Invoice())).not.toThrow();
    expect(() => codec.check(new URL('https://example.com'))).not.toThrow();
  });

  it('turns a throw in serialize into SerializationError with the cause', () => {
    const failing = makeValueCodec({
      serialize: () => {
        throw new TypeError(`cannot encode ${SECRET}`);
      },
      deserialize: () => 1,
    });
    const error = thrown(() => failing.encode(1));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
    expect((error as Error).message).not.toContain(SECRET);
    // The user already passed a serializer: the node:v8 advice to pass one would mislead.
    expect((error as Error).message).not.toMatch(/Pass a `serializer`/);
  });

  it('refuses a serialize that returns something other than bytes', () => {
    const wrong = makeValueCodec({
      serialize: () => 'a string' as unknown as Uint8Array,
      deserialize: () => 1,
    });
    expect(() => wrong.encode(1)).toThrow(SerializationError);
  });

  it('turns a throw in deserialize into CorruptEntryError with the cause', () => {
    const failing = makeValueCodec({
      serialize: () => Uint8Array.of(1),
      deserialize: () => {
        throw new SyntaxError('bad');
      },
    });
    const error = thrown(() => failing.decode(failing.encode(1)));
    expect(error).toBeInstanceOf(CorruptEntryError);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });
});

describe('an async serializer (the interface is synchronous)', () => {
  it('makes an entry whose deserialize returns a Promise a miss, so a rejection never fails a call', async () => {
    const rejected = Promise.reject(new Error('decode failed'));
    const codec = makeValueCodec({
      serialize: () => Uint8Array.of(1),
      deserialize: () => rejected,
    });
    const error = thrown(() => codec.decode(codec.encode(1)));
    expect(error).toBeInstanceOf(CorruptEntryError);
    expect((error as Error).message).toMatch(/Promise/);
    // Its rejection is handled: an unhandled one would fail this test file.
    await new Promise((resolve) => setTimeout(resolve, 10));
  });

  it('refuses a serialize that returns a Promise without leaving its rejection unhandled', async () => {
    const codec = makeValueCodec({
      serialize: () => Promise.reject(new Error('encode failed')) as unknown as Uint8Array,
      deserialize: () => 1,
    });
    const error = thrown(() => codec.encode(1));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toMatch(/Promise/);
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
});

describe('switching serializers', () => {
  const v8Codec = makeValueCodec();
  const customCodec = makeValueCodec(superjsonSerializer);

  it('makes old entries misses (CorruptEntryError), never values read by the wrong reader', () => {
    const byV8 = v8Codec.encode({ a: 1 });
    const byCustom = customCodec.encode({ a: 1 });
    expect(thrown(() => customCodec.decode(byV8))).toBeInstanceOf(CorruptEntryError);
    expect(thrown(() => v8Codec.decode(byCustom))).toBeInstanceOf(CorruptEntryError);
  });

  it('never hands node:v8 bytes to a custom deserialize', () => {
    let called = false;
    const custom = makeValueCodec({
      serialize: () => Uint8Array.of(),
      deserialize: () => {
        called = true;
        return 'wrong';
      },
    });
    expect(() => custom.decode(v8Codec.encode('x'))).toThrow(CorruptEntryError);
    expect(called).toBe(false);
  });
});

describe('the serializer option', () => {
  it('accepts an object with serialize and deserialize, in options and defaults', () => {
    expect(validateOptions({ serializer: superjsonSerializer }).serializer).toBe(
      superjsonSerializer,
    );
    expect(validateDefaultParams({ serializer: superjsonSerializer }).serializer).toBe(
      superjsonSerializer,
    );
  });

  it.each([
    ['a function', () => 1, /serializer must be an object with serialize and deserialize/],
    ['null', null, /serializer must be an object/],
    ['a string', 'superjson', /serializer must be an object/],
    [
      'no deserialize',
      { serialize: () => new Uint8Array() },
      /serializer\.deserialize must be a function/,
    ],
    [
      'a non-function serialize',
      { serialize: 1, deserialize: () => 1 },
      /serializer\.serialize must be a function/,
    ],
  ])('refuses %s, naming the option', (_, serializer, message) => {
    for (const validate of [validateOptions, validateDefaultParams]) {
      const error = thrown(() => validate({ serializer }));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(message);
    }
  });
});
