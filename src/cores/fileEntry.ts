import { createHash } from 'node:crypto';
import { CachierError, CorruptEntryError } from '../errors.js';

/**
 * The file core's own record of one entry: a 68-byte header, then the opaque bytes the
 * call algorithm gave to `set`.
 *
 *   offset 0  4 bytes  magic "CCHR"
 *   offset 4  1 byte   format version (ENTRY_FORMAT_VERSION)
 *   offset 5  3 bytes  reserved (0)
 *   offset 8  8 bytes  calculatedAt, float64 little-endian, ms since the Unix epoch
 *   offset 16 4 bytes  length of the bytes, uint32 little-endian
 *   offset 20 16 bytes the cache name's tag: the first 16 bytes of its SHA-256
 *   offset 36 32 bytes the key (the 64 hex characters of the file name, as bytes)
 *   offset 68 ...      the bytes
 *
 * The header lets a reader reject truncated or foreign files before handing anything on,
 * and lets a later release change the layout without old readers misreading it: an
 * unknown version (0.1.0's files are version 1) is a miss, never a crash. The name tag and
 * key bind an entry to where it was stored: a file copied or moved to another key's name
 * or another function's folder (a backup restored to the wrong place, a hand-made copy)
 * is a damaged entry, never another function's or other arguments' value. They are not a
 * signature: whoever can write the folder can write any entry (SECURITY.md).
 */
export const ENTRY_FORMAT_VERSION = 2;
const MAGIC = 0x52484343; // "CCHR" read as uint32 little-endian
/** Magic and version: enough to tell a foreign file or another version. */
const PREFIX_BYTES = 8;
const NAME_TAG_AT = 20;
const NAME_TAG_BYTES = 16;
const KEY_AT = NAME_TAG_AT + NAME_TAG_BYTES;
const KEY_BYTES = 32;
export const HEADER_BYTES = KEY_AT + KEY_BYTES;

/** Where an entry belongs: the tag of its cache name and its key (64 hex characters). */
export interface EntryBinding {
  nameTag: Buffer;
  key: string;
}

/** The tag of a cache name in entry headers ({@link EntryBinding}). */
export function nameTagOf(name: string): Buffer {
  return createHash('sha256').update(name).digest().subarray(0, NAME_TAG_BYTES);
}
/**
 * The largest entry file (header included) the core writes or reads: Node 20 cannot read
 * a file of 2 GiB or more into one buffer, so a larger entry could be written but never
 * read back.
 */
export const MAX_ENTRY_FILE_BYTES = 2 ** 31 - 1;

/**
 * An entry too large for the file core. Thrown by `set`; the call still returns its value.
 *
 * @example
 * if (error instanceof CachierError && error.code === 'CACHIER_ENTRY_TOO_LARGE') shrink();
 */
export function entryTooLarge(byteLength: number): CachierError {
  return new CachierError(
    'CACHIER_ENTRY_TOO_LARGE',
    `cachier: the file core stores entries up to ${MAX_ENTRY_FILE_BYTES - HEADER_BYTES} bytes ` +
      `(2 GiB minus its ${HEADER_BYTES}-byte header); this one has ${byteLength}. ` +
      'Set entrySizeLimit to keep such results out of the cache, or use another backend.',
  );
}

/** The complete file content for an entry: header + bytes. */
export function encodeFileEntry(
  bytes: Uint8Array,
  calculatedAt: number,
  binding: EntryBinding,
): Buffer {
  if (HEADER_BYTES + bytes.byteLength > MAX_ENTRY_FILE_BYTES) throw entryTooLarge(bytes.byteLength);
  const file = Buffer.allocUnsafe(HEADER_BYTES + bytes.byteLength);
  writeHeader(file, calculatedAt, bytes.byteLength, binding);
  file.set(bytes, HEADER_BYTES);
  return file;
}

/** Writes the header for `length` bytes calculated at `calculatedAt` into `target`. */
export function writeHeader(
  target: Buffer,
  calculatedAt: number,
  length: number,
  binding: EntryBinding,
): void {
  target.writeUInt32LE(MAGIC, 0);
  target.writeUInt8(ENTRY_FORMAT_VERSION, 4);
  target.fill(0, 5, 8);
  target.writeDoubleLE(calculatedAt, 8);
  target.writeUInt32LE(length, 16);
  binding.nameTag.copy(target, NAME_TAG_AT, 0, NAME_TAG_BYTES);
  target.write(binding.key, KEY_AT, KEY_BYTES, 'hex');
}

/** What an entry's header says. */
export interface FileEntryHeader {
  calculatedAt: number;
  /** Length of the stored bytes after the header. */
  length: number;
}

/**
 * Reads and checks a header from the first `available` bytes of `header`. Throws
 * CorruptEntryError for foreign, short or damaged headers, for a header whose length
 * disagrees with the file's size, and for an entry stored for another name or key
 * (`binding`); `undefined` for an unknown format version (a miss).
 */
export function decodeFileHeader(
  header: Uint8Array,
  available: number,
  fileSize: number,
  binding: EntryBinding,
): FileEntryHeader | undefined {
  if (available < PREFIX_BYTES) throw new CorruptEntryError('cachier found a truncated entry');
  const view = Buffer.isBuffer(header)
    ? header
    : Buffer.from(header.buffer, header.byteOffset, Math.min(available, HEADER_BYTES));
  if (view.readUInt32LE(0) !== MAGIC) throw new CorruptEntryError('cachier found a foreign file');
  if (view.readUInt8(4) !== ENTRY_FORMAT_VERSION) return undefined;
  if (available < HEADER_BYTES) throw new CorruptEntryError('cachier found a truncated entry');
  if (
    binding.nameTag.compare(view, NAME_TAG_AT, KEY_AT, 0, NAME_TAG_BYTES) !== 0 ||
    view.toString('hex', KEY_AT, HEADER_BYTES) !== binding.key
  ) {
    throw new CorruptEntryError('cachier found an entry stored for another name or key');
  }
  const calculatedAt = view.readDoubleLE(8);
  const length = view.readUInt32LE(16);
  if (!Number.isFinite(calculatedAt)) throw new CorruptEntryError('cachier found a damaged header');
  if (HEADER_BYTES + length !== fileSize) {
    throw new CorruptEntryError(
      `cachier found a truncated entry (${fileSize} of ${HEADER_BYTES + length} bytes)`,
    );
  }
  return { calculatedAt, length };
}
