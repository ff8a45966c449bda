import { constants, fstatSync, openSync, readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { CorruptEntryError } from '../errors.js';
import type { StoredEntry } from './contract.js';
import {
  decodeFileHeader,
  type EntryBinding,
  HEADER_BYTES,
  MAX_ENTRY_FILE_BYTES,
} from './fileEntry.js';

/**
 * Reading entry files so that an odd or hostile file is a miss, never a hang or a crash:
 * opened without following a symlink and without blocking (a FIFO would block forever),
 * required to be a regular file (checked on the open descriptor), never read past its
 * size (a symlink to /dev/zero could not be read without end anyway) nor past the
 * header's length, and never larger than what Node can read into one buffer.
 */

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
/** How entry files are opened for reading. */
export const READ_FLAGS = constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
/** Entries up to this size are read synchronously: microseconds instead of thread-pool round trips. */
export const SYNC_READ_LIMIT = 64 * 1024;

/** A CorruptEntryError for something at an entry name that is not a regular file. */
export function notAnEntry(): CorruptEntryError {
  return new CorruptEntryError('cachier found something other than a regular file at an entry');
}

function checkSize(size: number): void {
  if (size > MAX_ENTRY_FILE_BYTES) {
    throw new CorruptEntryError(
      `cachier found an entry file too large to be its own (${size} bytes)`,
    );
  }
}

function toEntry(file: Buffer, size: number, binding: EntryBinding): StoredEntry | undefined {
  const header = decodeFileHeader(file, size, size, binding);
  if (!header) return undefined;
  return { bytes: file.subarray(HEADER_BYTES, size), calculatedAt: header.calculatedAt };
}

/** One byte more than the limit, so that one read tells a small entry from a larger file. */
const scratch = Buffer.allocUnsafe(SYNC_READ_LIMIT + 1);

/**
 * Reads a small entry synchronously from an open descriptor (which it does not close);
 * `'large'` when the file is beyond {@link SYNC_READ_LIMIT}.
 *
 * A hit is one read: a complete, well-formed entry of at most the limit is served as read.
 * Anything else (a read error such as EISDIR, a short or damaged header, a larger file)
 * goes through {@link readCheckedEntry}, which looks at the file's type and size first,
 * so odd files are judged exactly as before. A `stat` per hit cost as much as the read.
 */
export function readSmallEntry(
  fd: number,
  binding: EntryBinding,
): StoredEntry | undefined | 'large' {
  let filled: number;
  try {
    filled = readSync(fd, scratch, 0, scratch.length, 0);
  } catch {
    return readCheckedEntry(fd, binding);
  }
  if (filled <= SYNC_READ_LIMIT) {
    try {
      // Copied out of the shared buffer: deserialized Buffers are views of their input.
      const entry = toEntry(Buffer.from(scratch.subarray(0, filled)), filled, binding);
      if (entry) return entry;
    } catch {
      // Judged below, on the file's type and size.
    }
  }
  return readCheckedEntry(fd, binding);
}

/** {@link readSmallEntry} for anything but a plain hit: type and size first, then the bytes. */
function readCheckedEntry(fd: number, binding: EntryBinding): StoredEntry | undefined | 'large' {
  const info = fstatSync(fd);
  if (!info.isFile()) throw notAnEntry();
  if (info.size > SYNC_READ_LIMIT) return 'large';
  const file = Buffer.allocUnsafe(info.size);
  let filled = 0;
  while (filled < info.size) {
    const read = readSync(fd, file, filled, info.size - filled, filled);
    if (read === 0) break;
    filled += read;
  }
  return toEntry(file, filled, binding);
}

/** Reads an entry of any size through the thread pool. */
export async function readEntry(
  path: string,
  binding: EntryBinding,
): Promise<StoredEntry | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    return openFailed(error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notAnEntry();
    checkSize(info.size);
    const file = Buffer.allocUnsafe(info.size);
    let filled = 0;
    while (filled < info.size) {
      const { bytesRead } = await handle.read(file, filled, info.size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return toEntry(file, filled, binding);
  } finally {
    await handle.close();
  }
}

/**
 * The header of an entry file (for `deleteStale` and `list`): `undefined` when absent or
 * of another format version; throws CorruptEntryError for anything not a valid entry.
 */
export async function readHeader(
  path: string,
  binding: EntryBinding,
): Promise<{ calculatedAt: number; size: number } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    return openFailed(error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notAnEntry();
    checkSize(info.size);
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, HEADER_BYTES, 0);
    const decoded = decodeFileHeader(header, bytesRead, info.size, binding);
    return decoded && { calculatedAt: decoded.calculatedAt, size: info.size };
  } finally {
    await handle.close();
  }
}

/**
 * Opens an entry synchronously; `undefined` when absent. Every miss starts with a failed
 * open, and Node builds an Error for it: without a stack trace that costs half as much
 * (the error is only looked at for its code, and is rethrown only for odd failures).
 */
export function openEntrySync(path: string): number | undefined {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let failure: unknown;
  try {
    return openSync(path, READ_FLAGS);
  } catch (error) {
    failure = error;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  return openFailed(failure);
}

/** Absent → `undefined`; a symlink (ELOOP with O_NOFOLLOW) → not an entry; else rethrow. */
function openFailed(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  if (code === 'ELOOP' || code === 'EMLINK' || code === 'ENXIO') throw notAnEntry();
  throw error;
}
