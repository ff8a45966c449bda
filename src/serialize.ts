import { deserialize, serialize } from 'node:v8';
import { CorruptEntryError, SerializationError } from './errors.js';

/**
 * The byte format of a stored entry, shared by every core that stores bytes:
 *
 *   offset 0  4 bytes  magic "CCHR"
 *   offset 4  1 byte   format version (ENTRY_FORMAT_VERSION)
 *   offset 5  3 bytes  reserved (0)
 *   offset 8  8 bytes  calculatedAt, float64 little-endian, ms since the Unix epoch
 *   offset 16 4 bytes  payload length, uint32 little-endian
 *   offset 20 ...      payload: node:v8 serialize() of the value
 *
 * The header lets a reader reject truncated or foreign files before deserializing, and
 * a future version change its payload without old readers misreading it: an unknown
 * version is a miss, never a crash.
 */
export const ENTRY_FORMAT_VERSION = 1;
const MAGIC = 0x52484343; // "CCHR" read as uint32 little-endian
export const HEADER_BYTES = 20;

/** Serializes a value with node's structured-clone serializer. */
export function serializeValue(value: unknown): Buffer {
  try {
    return serialize(value);
  } catch (error) {
    // Not node:v8's message: it quotes the value (`Unserializable host object: {...}`).
    const kind = error instanceof Error ? error.name : typeof error;
    throw new SerializationError(`cachier cannot store this result: node:v8 threw ${kind}`, {
      cause: error,
    });
  }
}

/** Deserializes a payload; damaged bytes become a CorruptEntryError. */
export function deserializeValue(payload: Uint8Array): unknown {
  try {
    return deserialize(payload);
  } catch (error) {
    throw new CorruptEntryError('cachier found a damaged value payload', { cause: error });
  }
}

/** Builds the complete entry bytes: header + payload. */
export function encodeEntry(payload: Uint8Array, calculatedAt: number): Buffer {
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + payload.byteLength);
  bytes.writeUInt32LE(MAGIC, 0);
  bytes.writeUInt8(ENTRY_FORMAT_VERSION, 4);
  bytes.fill(0, 5, 8);
  bytes.writeDoubleLE(calculatedAt, 8);
  bytes.writeUInt32LE(payload.byteLength, 16);
  bytes.set(payload, HEADER_BYTES);
  return bytes;
}

/** What the header says; `undefined` for an unknown format version (a miss). */
export interface EntryHeader {
  calculatedAt: number;
  payloadLength: number;
}

/** Reads and checks an entry's header. Throws CorruptEntryError for foreign or short bytes. */
export function decodeHeader(
  bytes: Uint8Array,
  length = bytes.byteLength,
): EntryHeader | undefined {
  if (length < HEADER_BYTES) throw new CorruptEntryError('cachier found a truncated entry');
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, length);
  if (view.readUInt32LE(0) !== MAGIC) throw new CorruptEntryError('cachier found a foreign file');
  if (view.readUInt8(4) !== ENTRY_FORMAT_VERSION) return undefined;
  const calculatedAt = view.readDoubleLE(8);
  const payloadLength = view.readUInt32LE(16);
  if (!Number.isFinite(calculatedAt)) throw new CorruptEntryError('cachier found a damaged header');
  return { calculatedAt, payloadLength };
}

/** Decodes complete entry bytes. Throws CorruptEntryError; `undefined` for unknown versions. */
export function decodeEntry(
  bytes: Uint8Array,
  length = bytes.byteLength,
): { calculatedAt: number; value: unknown } | undefined {
  const header = decodeHeader(bytes, length);
  if (!header) return undefined;
  if (length !== HEADER_BYTES + header.payloadLength) {
    throw new CorruptEntryError(
      `cachier found a truncated entry (${length} of ${HEADER_BYTES + header.payloadLength} bytes)`,
    );
  }
  const payload = bytes.subarray(HEADER_BYTES, length);
  return { calculatedAt: header.calculatedAt, value: deserializeValue(payload) };
}
