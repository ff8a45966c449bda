import * as fs from 'node:fs';
import { lstat, lutimes, mkdir, readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { Claim } from './contract.js';
import { kindOfName, randomToken } from './fileNames.js';
import {
  hasOtherOwner,
  ownerFileName,
  reapIfDead,
  writeOwner,
  writeOwnerSync,
} from './fileOwners.js';
import type { SyncBudget } from './fileSyncBudget.js';

/** One claim this process holds. */
interface HeldClaim {
  readonly lockPath: string;
  readonly ownerPath: string;
  /** Released, dropped by clearClaims, or found taken over: never touch its folder again. */
  lost: boolean;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function isGone(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Claims of this process still held, whichever FileCore took them: an 'exit' listener,
 * registered only while there are any, removes them synchronously when the process ends
 * normally (`process.exit()` or an empty event loop), so the next process need not judge
 * a dead owner. A process killed by a signal leaves its claims to that judgement (its pid
 * is gone: taken over at once on this machine, after the lease elsewhere).
 */
const heldInProcess = new Set<HeldClaim>();

function removeHeldAtExit(): void {
  for (const held of heldInProcess) {
    held.lost = true;
    dropOwnedLockSync(held.lockPath, held.ownerPath);
  }
  heldInProcess.clear();
}

function holdUntilExit(held: HeldClaim): void {
  if (heldInProcess.size === 0) process.on('exit', removeHeldAtExit);
  heldInProcess.add(held);
}

function stopHoldingUntilExit(held: HeldClaim): void {
  if (heldInProcess.delete(held) && heldInProcess.size === 0) {
    process.off('exit', removeHeldAtExit);
  }
}

/** A file-core claim, which can also tell whether it is still held (for Claim.store). */
export interface FileClaim extends Claim {
  /** Whether our owner file is still in the lock folder: false once cleared or taken over. */
  isHeld(): Promise<boolean>;
}

/** What one attempt to make the lock found: won, lost to another owner, or a lock already there. */
type LockAttempt = 'won' | 'held' | 'exists';

/**
 * Makes the lock folder and, in the same step, this claimer's owner file in it: the
 * claimer wins only if no other owner file is there afterwards (see fileOwners.ts).
 * Throws ENOENT when the function folder is gone.
 */
function makeOwnedLockSync(lockPath: string, ownerPath: string, ownerName: string): LockAttempt {
  try {
    fs.mkdirSync(lockPath, { mode: 0o700 });
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return 'exists';
    throw error;
  }
  try {
    writeOwnerSync(ownerPath);
  } catch (error) {
    // The folder was reaped (as an empty, expired one) before our file landed: another
    // claimer may hold the key by now.
    if (errorCode(error) === 'ENOENT') return 'held';
    try {
      fs.rmdirSync(lockPath);
    } catch {
      // Not empty (another owner's file) or gone: not ours to remove.
    }
    throw error;
  }
  let files: string[];
  try {
    files = fs.readdirSync(lockPath);
  } catch (error) {
    // Cleared meanwhile (ENOENT), or unreadable: either way not a claim to keep.
    dropOwnedLockSync(lockPath, ownerPath);
    throw error;
  }
  if (hasOtherOwner(files, ownerName)) {
    fs.unlinkSync(ownerPath);
    return 'held';
  }
  return 'won';
}

/** Removes our owner file and then the folder if it is empty; whatever is gone already is fine. */
function dropOwnedLockSync(lockPath: string, ownerPath: string): void {
  try {
    fs.unlinkSync(ownerPath);
    fs.rmdirSync(lockPath);
  } catch {
    // Gone, or not empty (another owner's file): not ours to remove.
  }
}

/** {@link makeOwnedLockSync} through the thread pool, for a disk that proved slow. */
async function makeOwnedLock(
  lockPath: string,
  ownerPath: string,
  ownerName: string,
): Promise<LockAttempt> {
  try {
    await mkdir(lockPath, { mode: 0o700 });
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return 'exists';
    throw error;
  }
  try {
    await writeOwner(ownerPath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'held';
    await rmdir(lockPath).catch(() => undefined);
    throw error;
  }
  let files: string[];
  try {
    files = await readdir(lockPath);
  } catch (error) {
    dropOwnedLockSync(lockPath, ownerPath);
    throw error;
  }
  if (hasOtherOwner(files, ownerName)) {
    await unlink(ownerPath);
    return 'held';
  }
  return 'won';
}

/** {@link FileClaims.claimFast}'s answer when the claim needs asynchronous work first. */
export const CLAIM_LATER = Symbol('claim later');

async function removeOwnedLock(held: HeldClaim): Promise<void> {
  await unlink(held.ownerPath);
  await rmdir(held.lockPath);
}

/**
 * Our owner file gone: the claim was cleared or taken over, and the folder is not ours.
 * The folder gone or not empty: a new owner made it meanwhile; it is theirs.
 */
function ignoreNotOurs(error: unknown): void {
  const code = errorCode(error);
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') return;
  throw error;
}

/**
 * The file core's claims: a lock folder `<key>.lock` per claimed key, holding the
 * claimer's owner file (pid, host, random token). The lease is the folder's mtime:
 * `renew()` refreshes it after checking that the owner file is still ours, and a folder
 * not refreshed for a lease is taken over; the owner file fences takeovers so that
 * exactly one taker wins (fileOwners.ts). Taking a free key is one synchronous pass
 * (lstat, mkdir, owner file, fencing readdir) while the disk proves fast.
 *
 * @example
 * const claims = new FileClaims(10_000, new SyncBudget());
 * const claim = await claims.tryClaim('/home/me/.cachier/report', key);
 */
export class FileClaims {
  /** This process's claims per function folder, so clearing them marks them lost. */
  private readonly held = new Map<string, Set<HeldClaim>>();
  /** The lock folders of the claims held, so a read of a key we are calculating can look first. */
  private readonly heldLocks = new Set<string>();

  constructor(
    private readonly leaseMs: number,
    private readonly budget: SyncBudget,
  ) {}

  /**
   * Whether this process holds the claim on the entry at `entryPath` (a hint for reads).
   * Asked on every hit: with no claim held it builds no string.
   */
  holdsEntry(entryPath: string): boolean {
    return this.heldLocks.size > 0 && this.heldLocks.has(`${entryPath}.lock`);
  }

  /**
   * The common case in one synchronous pass, while the disk is fast: no lock folder is
   * there, so make it with our owner file and check the fence. {@link CLAIM_LATER} when
   * a lock folder is there (its owner must be judged first) or the disk is slow: then
   * call {@link tryClaim}. Throws ENOENT when the function folder is gone.
   */
  claimFast(folder: string, key: string): FileClaim | undefined | typeof CLAIM_LATER {
    if (!this.budget.sync) return CLAIM_LATER;
    // The folder is normalized and the key is 64 hex characters: no join needed.
    const lockPath = `${folder}${sep}${key}.lock`;
    const ownerName = ownerFileName(randomToken());
    const ownerPath = `${lockPath}${sep}${ownerName}`;
    const attempt = this.budget.timed(() => makeOwnedLockSync(lockPath, ownerPath, ownerName));
    if (attempt === 'exists') return CLAIM_LATER;
    return attempt === 'won' ? this.won(folder, lockPath, ownerPath) : undefined;
  }

  /** Takes the key's claim in `folder` unless a live owner holds it (a dead owner's is taken over). */
  async tryClaim(folder: string, key: string): Promise<FileClaim | undefined> {
    const lockPath = `${folder}${sep}${key}.lock`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const ownerName = ownerFileName(randomToken());
      const ownerPath = `${lockPath}${sep}${ownerName}`;
      const made = this.budget.sync
        ? this.budget.timed(() => makeOwnedLockSync(lockPath, ownerPath, ownerName))
        : await makeOwnedLock(lockPath, ownerPath, ownerName);
      if (made === 'won') return this.won(folder, lockPath, ownerPath);
      if (made === 'held') return undefined;
      // A lock folder is there: take it over if its owner is provably gone, then try once more.
      if (attempt === 0 && (await reapIfDead(lockPath, this.leaseMs)) === 'held') return undefined;
    }
    return undefined;
  }

  /** Drops every claim in `folder`, held here or elsewhere, never following a symlink. */
  async clear(folder: string, files: readonly string[]): Promise<void> {
    // Our own running claims must not later remove a newer owner's lock on release.
    for (const held of this.held.get(folder) ?? []) this.lose(held);
    this.held.delete(folder);
    for (const file of files) {
      if (kindOfName(file) !== 'lock') continue;
      const path = join(folder, file);
      const info = await lstat(path).catch(() => undefined);
      if (info?.isDirectory()) await rm(path, { recursive: true, force: true });
      else if (info) await unlink(path).catch(() => undefined);
    }
  }

  private won(folder: string, lockPath: string, ownerPath: string): FileClaim {
    const held: HeldClaim = { lockPath, ownerPath, lost: false };
    this.remember(folder, held);
    this.heldLocks.add(lockPath);
    holdUntilExit(held);
    return {
      renew: () => this.renew(held),
      release: () => this.release(folder, held),
      isHeld: () => this.isHeld(held),
    };
  }

  /** Whether our owner file is still there (before the owner's store). */
  private isHeld(held: HeldClaim): Promise<boolean> {
    return this.whileHeld(
      held,
      () => fs.lstatSync(held.ownerPath),
      () => lstat(held.ownerPath),
    );
  }

  /**
   * Refreshes the lock folder's mtime (the lease), then checks that our owner file is
   * still in it: gone means the claim was cleared or taken over after its lease lapsed.
   * A refresh that lands on a newer owner's folder only makes a live claim look fresher.
   */
  private renew(held: HeldClaim): Promise<boolean> {
    const now = Date.now() / 1000;
    return this.whileHeld(
      held,
      () => {
        fs.lutimesSync(held.lockPath, now, now);
        fs.lstatSync(held.ownerPath);
      },
      async () => {
        await lutimes(held.lockPath, now, now);
        await lstat(held.ownerPath);
      },
    );
  }

  /**
   * Runs a step on the claim's files (synchronously while the disk is fast): `true` when
   * it found them, `false` (and the claim lost) when they are gone, cleared or taken over.
   */
  private async whileHeld(
    held: HeldClaim,
    sync: () => unknown,
    slow: () => Promise<unknown>,
  ): Promise<boolean> {
    if (held.lost) return false;
    try {
      if (this.budget.sync) this.budget.timed(sync);
      else await slow();
      return true;
    } catch (error) {
      if (!isGone(error)) throw error;
      this.lose(held);
      return false;
    }
  }

  /** Removes our owner file, then the folder if it is still empty; a lost claim is left alone. */
  private release(folder: string, held: HeldClaim): Promise<void> {
    this.forget(folder, held);
    if (held.lost) return Promise.resolve();
    this.lose(held);
    if (!this.budget.sync) return removeOwnedLock(held).catch(ignoreNotOurs);
    try {
      this.budget.timed(() => {
        fs.unlinkSync(held.ownerPath);
        fs.rmdirSync(held.lockPath);
      });
    } catch (error) {
      try {
        ignoreNotOurs(error);
      } catch (failure) {
        return Promise.reject(failure);
      }
    }
    return Promise.resolve();
  }

  /** Marks a claim lost: nothing of it is touched again, not even at exit. */
  private lose(held: HeldClaim): void {
    held.lost = true;
    this.heldLocks.delete(held.lockPath);
    stopHoldingUntilExit(held);
  }

  private remember(folder: string, held: HeldClaim): void {
    let claims = this.held.get(folder);
    if (!claims) {
      claims = new Set();
      this.held.set(folder, claims);
    }
    claims.add(held);
  }

  private forget(folder: string, held: HeldClaim): void {
    const claims = this.held.get(folder);
    claims?.delete(held);
    if (claims?.size === 0) this.held.delete(folder);
  }
}
