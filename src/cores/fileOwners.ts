import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readlinkSync,
  readSync,
  symlinkSync,
} from 'node:fs';
import { lstat, readdir, rmdir, symlink, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CachierError } from '../errors.js';
import { FUTURE_TOLERANCE_MS } from '../timeLimits.js';
import { writeNewFile, writeNewFileSync } from './fileWrite.js';

/**
 * Who holds a claim, and whether that holder is provably gone.
 *
 * A claim is a lock folder `<key>.lock` (fileClaims.ts) holding exactly one owner file
 * `owner.<token>` (a token of 128 random bits) that records the holder's pid and host:
 * a symbolic link whose target text is the record (made in one system call, as
 * Mercurial's lock does; never followed, only read with readlink), or on Windows, where
 * links need privileges, a regular file. Readers take either. The owner file is the
 * fencing token:
 * - it is created inside the freshly made lock folder, exclusively, and the claimer wins
 *   only if no other owner file is there right after (so two claimers can never both win
 *   one lock folder, even if an empty folder was swapped under them);
 * - a non-empty folder cannot be removed with `rmdir`, so a taker that judged an empty
 *   (0.1.0 or half-made) folder expired cannot remove a held claim made since;
 * - a dead holder's claim is taken over by unlinking its owner file by name: that name
 *   exists in exactly one lock folder, so exactly one taker succeeds, and only that taker
 *   removes the folder.
 */

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const OWNER_PREFIX = 'owner.';
const MAX_OWNER_BYTES = 1024;

/**
 * This machine as claims record it: the host name plus, on Linux, the pid namespace, so
 * that two containers sharing a host name never read each other's pids as their own.
 */
export const hostId: string = (() => {
  let namespace = '';
  try {
    namespace = readlinkSync('/proc/self/ns/pid');
  } catch {
    // Not Linux, or /proc is not mounted: the host name alone.
  }
  return namespace ? `${hostname()}#${namespace}` : hostname();
})();

/** A short tag of {@link hostId}, for names (temp files) that record their writer. */
export const hostTag: string = createHash('sha256').update(hostId).digest('hex').slice(0, 8);

/** What an owner file says. */
export interface OwnerRecord {
  pid: number;
  host: string;
}

/** The owner file's name for a token. */
export function ownerFileName(token: string): string {
  return `${OWNER_PREFIX}${token}`;
}

/** Links hold the record in one system call; Windows needs privileges to make them. */
const OWNER_AS_LINK = process.platform !== 'win32';
/** This process's record: its pid and host do not change while it runs. */
let ownRecord: string | undefined;

function ownerRecordText(): string {
  ownRecord ??= JSON.stringify({ pid: process.pid, host: hostId });
  return ownRecord;
}

/** Creates this process's owner file at `path`, which must not exist; never follows a link. */
export function writeOwnerSync(path: string): void {
  if (OWNER_AS_LINK) symlinkSync(ownerRecordText(), path);
  else writeNewFileSync(path, Buffer.from(ownerRecordText()));
}

/** {@link writeOwnerSync} through the thread pool. */
export async function writeOwner(path: string): Promise<void> {
  if (OWNER_AS_LINK) await symlink(ownerRecordText(), path);
  else await writeNewFile(path, Buffer.from(ownerRecordText()));
}

/** Whether a process of this machine is gone (`kill(pid, 0)` says ESRCH). */
export function isProcessGone(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Whether a writer recorded as `pid` on the host tagged `tag` is provably gone. */
export function isWriterGone(pid: number, tag: string): boolean {
  return tag === hostTag && isProcessGone(pid);
}

/** Reads an owner file (a link's text, or a file's content) without following links or blocking; `undefined` when unreadable. */
export function readOwnerSync(path: string): OwnerRecord | undefined {
  let text: string;
  try {
    text = readlinkSync(path);
  } catch {
    // Not a link: a regular owner file (Windows, or written by hand).
    return readOwnerFileSync(path);
  }
  return parseOwner(text);
}

function parseOwner(text: string): OwnerRecord | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<OwnerRecord> | null;
    if (typeof parsed?.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return { pid: parsed.pid, host: parsed.host };
  } catch {
    return undefined;
  }
}

function readOwnerFileSync(path: string): OwnerRecord | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const buffer = Buffer.alloc(MAX_OWNER_BYTES);
    const length = readSync(fd, buffer, 0, MAX_OWNER_BYTES, 0);
    return parseOwner(buffer.subarray(0, length).toString('utf8'));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * What `reapIfDead` found: `free` (nothing there, or a dead holder's claim removed),
 * `held` (a live holder, or another taker got there first).
 */
export type LockState = 'free' | 'held';

/**
 * Removes the claim folder at `lockPath` if its holder is provably gone: a holder on this
 * machine whose pid no longer exists (at once), or any holder whose lease ran out (the
 * folder's mtime, refreshed by the holder every quarter lease, is older than `leaseMs`).
 * Never follows a symlink; a non-folder at a lock name is removed.
 */
export async function reapIfDead(lockPath: string, leaseMs: number): Promise<LockState> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(lockPath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'free';
    throw error;
  }
  if (!info.isDirectory()) {
    await unlink(lockPath).catch(ignoreMissing);
    return 'free';
  }
  const files = await filesOfLock(lockPath);
  if (files === undefined) return 'free';
  // The folder may have been replaced by a new holder's since the first look: judge the
  // lease by a look taken after reading the owner files. A newer folder is then judged by
  // its own (fresh) mtime, and the owner files read belong to it or to one already gone,
  // whose unlink fails below.
  const current = await lstat(lockPath).catch(() => undefined);
  if (!current) return 'free';
  if (!current.isDirectory()) return 'held';
  const now = Date.now();
  const leaseOver = current.mtimeMs < now - leaseMs;
  // A lease dated over a minute ahead (a clock that was wrong, a restored backup) would
  // otherwise hold the key until that date: it counts as lapsed, as such entries count as
  // stale, unless its owner is a live process of this machine (whose pid says more than
  // a date after the clock stepped back).
  const fromTheFuture = current.mtimeMs > now + FUTURE_TOLERANCE_MS;
  const owners = files.filter((file) => file.startsWith(OWNER_PREFIX));
  if (owners.length === 0) {
    // A 0.1.0 lock, or a claimer that died between making the folder and its owner file.
    if (!leaseOver && !fromTheFuture) return 'held';
    return (await removeEmptyFolder(lockPath)) ? 'free' : heldOrStuck(lockPath);
  }
  if (!leaseOver) {
    for (const owner of owners) {
      const record = readOwnerSync(join(lockPath, owner));
      // An owner of this machine is judged by its pid; any other (another machine's, or a
      // record that does not parse) by its lease, which a date from the future has not.
      const held = record?.host === hostId ? !isProcessGone(record.pid) : !fromTheFuture;
      if (held) return 'held';
    }
  }
  // Exactly one taker unlinks each owner file; only a taker that unlinked them all removes the folder.
  for (const owner of owners) {
    try {
      await unlink(join(lockPath, owner));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      // Another taker (or a sweep) got there first: free once it removed the folder.
      return (await lstat(lockPath).catch(() => undefined)) ? 'held' : 'free';
    }
  }
  return (await removeEmptyFolder(lockPath)) ? 'free' : heldOrStuck(lockPath);
}

/** The names in a lock folder; `undefined` when it is gone. */
async function filesOfLock(lockPath: string): Promise<string[] | undefined> {
  try {
    return await readdir(lockPath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** The code of the error a lapsed claim folder that cannot be taken over raises. */
export const STUCK_CLAIM = 'CACHIER_STUCK_CLAIM';

/**
 * A lapsed claim folder that `rmdir` could not remove: `held` when a new owner's file is
 * in it (a claimer won it meanwhile). Files that are not owner files can only be someone
 * else's, and cachier deletes nothing it did not write: such a folder would hold its key
 * for ever, so the claim fails instead (the call then goes on without one).
 */
async function heldOrStuck(lockPath: string): Promise<LockState> {
  const files = await filesOfLock(lockPath);
  if (files === undefined) return 'free';
  if (files.length === 0 || files.some((file) => file.startsWith(OWNER_PREFIX))) return 'held';
  throw new CachierError(
    STUCK_CLAIM,
    `cachier: the claim folder ${lockPath} has lapsed but holds files cachier did not write, ` +
      'so it cannot be taken over; its key is calculated without a claim until that folder ' +
      'is removed (clearBeingCalculated() removes it).',
  );
}

/**
 * `rmdir`, never a recursive delete: between a check and the removal the folder may have
 * become a new holder's claim, and a new holder's folder always holds its owner file.
 */
async function removeEmptyFolder(path: string): Promise<boolean> {
  try {
    await rmdir(path);
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return true;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw error;
  }
}

/** Whether the lock folder holds an owner file other than `mine`. */
export function hasOtherOwner(files: readonly string[], mine: string): boolean {
  return files.some((file) => file.startsWith(OWNER_PREFIX) && file !== mine);
}

function ignoreMissing(error: unknown): void {
  if (errorCode(error) !== 'ENOENT') throw error;
}
