import { DefaultDeserializer, DefaultSerializer } from 'node:v8';
import { CorruptEntryError, SerializationError } from './errors.js';
import { findV8Loss } from './v8Fidelity.js';

/**
 * Turns results into bytes and back, in place of node:v8 (the default), for every core that
 * stores bytes. Use one when results are class instances or other values node:v8 would not
 * give back as they were (those are otherwise returned but not stored).
 *
 * `deserialize` receives exactly the bytes `serialize` returned; what it returns is what a
 * hit returns. Either may throw: a throw in `serialize` means the result is returned but not
 * stored, a throw in `deserialize` means the entry is treated as missing and replaced.
 *
 * @example
 * import superjson from 'superjson';
 * superjson.registerClass(Invoice);
 * const serializer: Serializer = {
 *   serialize: (value) => Buffer.from(superjson.stringify(value)),
 *   deserialize: (bytes) => superjson.parse(Buffer.from(bytes).toString()),
 * };
 * const invoice = cachier(loadInvoice, { serializer });
 */
export interface Serializer {
  /** Encodes a result that is about to be stored. */
  serialize(value: unknown): Uint8Array;
  /** Decodes bytes that `serialize` produced. */
  deserialize(bytes: Uint8Array): unknown;
}

/**
 * How the call algorithm turns values into stored bytes and back. Made once per wrapper by
 * {@link makeValueCodec}.
 */
export interface ValueCodec {
  /** Bytes to store; throws SerializationError for a value that must not be stored. */
  encode(value: unknown): Uint8Array;
  /**
   * The stored value; throws CorruptEntryError for bytes it cannot read, including bytes
   * written with another kind of serializer. The result may share memory with `bytes` (node:v8
   * returns typed arrays as views of its input): pass bytes nothing else will reuse.
   */
  decode(bytes: Uint8Array): unknown;
  /**
   * For cores that keep values by reference (memory): throws SerializationError when `encode`
   * would refuse the value for being changed by the round trip, so every core returns the same
   * values. Does nothing with a custom serializer, whose choices are the user's.
   */
  check(value: unknown): void;
}

/**
 * The first byte of every encoded value says which kind of serializer wrote it, so switching
 * between node:v8 and a custom serializer turns old entries into misses (CorruptEntryError),
 * never into values decoded by the wrong reader. Neither tag is 0xff, the first byte of a bare
 * node:v8 payload as cachier 0.1.0 stored it, so those old entries are misses too.
 */
export const CODEC_TAG = { v8: 0x01, custom: 0x02 } as const;

/**
 * What `encode` adds to the serializer's bytes (the tag): `entrySizeLimit` counts the value's
 * serialized bytes, node:v8's or the user's serializer's, not cachier's framing.
 */
export const CODEC_TAG_BYTES = 1;

const V8_TAG_BYTE = new Uint8Array([CODEC_TAG.v8]);

/** Refuses a value node:v8 would not keep; a `serializer` is the way to store such values. */
function refuse(detail: string, cause?: unknown): SerializationError {
  return new SerializationError(
    `cachier returns this result but does not store it: ${detail}. Pass a \`serializer\` option to store such values.`,
    cause === undefined ? undefined : { cause },
  );
}

/** Refuses a value the user's own serializer failed on (advice to pass one would mislead). */
function refuseCustom(detail: string, cause?: unknown): SerializationError {
  return new SerializationError(
    `cachier returns this result but does not store it: ${detail}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The serializer's answer when it is a Promise: the interface is synchronous. Its rejection is
 * handled here, so an async serializer's failure is a miss or a value not stored, never an
 * unhandled rejection or a failed call.
 */
function isPromise(value: unknown): boolean {
  if (typeof (value as PromiseLike<unknown> | null)?.then !== 'function') return false;
  Promise.resolve(value).catch(() => undefined);
  return true;
}

/** The error's class, never its message: node:v8 messages quote the value. */
function errorKind(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function v8Encode(value: unknown): Uint8Array {
  const loss = findV8Loss(value);
  if (loss !== undefined) throw refuse(`node:v8 would not give it back as it was (${loss})`);
  try {
    // Written into one buffer after the tag byte: no copy to prepend it.
    const serializer = new DefaultSerializer();
    serializer.writeRawBytes(V8_TAG_BYTE);
    serializer.writeHeader();
    serializer.writeValue(value);
    return serializer.releaseBuffer();
  } catch (error) {
    throw refuse(`node:v8 could not serialize it: ${errorKind(error)}`, error);
  }
}

/**
 * node:v8's deserializer returns typed arrays, DataViews and Buffers as views into the bytes
 * it reads — for the file core a pooled slab of unrelated memory. Each comes back here with
 * memory of its own, as it went in.
 */
class OwnMemoryDeserializer extends DefaultDeserializer {
  // Not declared in @types/node, so no `override`.
  _readHostObject(): unknown {
    const read = (DefaultDeserializer.prototype as unknown as { _readHostObject(): unknown })
      ._readHostObject;
    const view = read.call(this) as ArrayBufferView;
    if (Buffer.isBuffer(view)) return Buffer.from(view);
    if (view instanceof DataView) {
      return new DataView(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
    }
    return (view as Uint8Array).slice();
  }
}

function v8Decode(payload: Uint8Array): unknown {
  try {
    // Any byte view will do: wrapping it in a new Buffer cost a hit more than reading it.
    const deserializer = new OwnMemoryDeserializer(payload);
    deserializer.readHeader();
    return deserializer.readValue();
  } catch (error) {
    throw new CorruptEntryError('cachier found a damaged value (node:v8 could not read it)', {
      cause: error,
    });
  }
}

function tagOf(bytes: Uint8Array): number {
  if (bytes.byteLength === 0) throw new CorruptEntryError('cachier found an empty value');
  return bytes[0]!;
}

function wrongTag(tag: number, expected: number): CorruptEntryError {
  const known = tag === CODEC_TAG.v8 || tag === CODEC_TAG.custom;
  return new CorruptEntryError(
    known && tag !== expected
      ? 'cachier found a value written with another serializer'
      : 'cachier found a value in an unknown format',
  );
}

const V8_CODEC: ValueCodec = {
  encode: v8Encode,
  decode(bytes) {
    const tag = tagOf(bytes);
    if (tag !== CODEC_TAG.v8) throw wrongTag(tag, CODEC_TAG.v8);
    return v8Decode(bytes.subarray(1));
  },
  check(value) {
    const loss = findV8Loss(value);
    if (loss !== undefined) throw refuse(`node:v8 would not give it back as it was (${loss})`);
  },
};

function customCodec(serializer: Serializer): ValueCodec {
  return {
    encode(value) {
      let payload: unknown;
      try {
        payload = serializer.serialize(value);
      } catch (error) {
        throw refuseCustom(`the serializer threw ${errorKind(error)}`, error);
      }
      if (isPromise(payload)) {
        throw refuseCustom('the serializer returned a Promise; serialize must return the bytes');
      }
      if (!(payload instanceof Uint8Array)) {
        throw refuseCustom('the serializer returned something other than a Uint8Array');
      }
      const bytes = new Uint8Array(payload.byteLength + 1);
      bytes[0] = CODEC_TAG.custom;
      bytes.set(payload, 1);
      return bytes;
    },
    decode(bytes) {
      const tag = tagOf(bytes);
      if (tag !== CODEC_TAG.custom) throw wrongTag(tag, CODEC_TAG.custom);
      let value: unknown;
      try {
        value = serializer.deserialize(bytes.subarray(1));
      } catch (error) {
        throw new CorruptEntryError(
          `cachier could not read a stored value: the serializer threw ${errorKind(error)}`,
          { cause: error },
        );
      }
      if (isPromise(value)) {
        throw new CorruptEntryError(
          'cachier could not read a stored value: the serializer returned a Promise; deserialize must return the value',
        );
      }
      return value;
    },
    check() {},
  };
}

/**
 * The codec a wrapper uses: node:v8 with the fidelity check when `serializer` is undefined,
 * otherwise the user's serializer as it is.
 *
 * @example
 * const codec = makeValueCodec(options.serializer);
 * const bytes = codec.encode(result); // SerializationError: returned, not stored
 * const value = codec.decode(bytes); // CorruptEntryError: a miss
 */
export function makeValueCodec(serializer?: Serializer): ValueCodec {
  return serializer === undefined ? V8_CODEC : customCodec(serializer);
}
