import * as fs from 'node:fs';
import { lstat, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type * as ProperLockfile from 'proper-lockfile';
import type { Claim } from './contract.js';
import { kindOfName, randomToken } from './fileNames.js';
import { hasOtherOwner, ownerFileName, ownerRecordBytes, reapIfDead } from './fileOwners.js';
import type { SyncBudget } from './fileSyncBudget.js';
import { writeNewFile, writeNewFileSync } from './fileWrite.js';

type Callback = (error: NodeJS.ErrnoException | null, result?: unknown) => void;
type LockFunction = typeof ProperLockfile.lock;

/**
 * proper-lockfile, loaded on the first claim rather than at import: it pulls in
 * graceful-fs (which patches `fs`) and signal-exit (which hooks the process's signals),
 * work that a program using only the memory or a database core should never pay for.
 */
let lockFunction: LockFunction | undefined;

async function loadLock(): Promise<LockFunction> {
  const loaded = (await import('proper-lockfile')) as typeof ProperLockfile & {
    default?: typeof ProperLockfile;
  };
  lockFunction = (loaded.default ?? loaded).lock;
  return lockFunction;
}

interface HeldClaim {
  lost: boolean;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function lockedError(): NodeJS.ErrnoException {
  return Object.assign(new Error('the claim is held by another owner'), { code: 'ELOCKED' });
}

/**
 * Makes the lock folder and, in the same step, this claimer's owner file in it: the
 * claimer wins only if no other owner file is there afterwards (see fileOwners.ts).
 */
function makeOwnedLockSync(lockPath: string, ownerPath: string): void {
  fs.mkdirSync(lockPath, { mode: 0o700 });
  try {
    writeNewFileSync(ownerPath, ownerRecordBytes());
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw lockedError();
    try {
      fs.rmdirSync(lockPath);
    } catch {
      // Not empty (another owner's file) or gone: not ours to remove.
    }
    throw error;
  }
  if (hasOtherOwner(fs.readdirSync(lockPath), ownerPath.slice(lockPath.length + 1))) {
    fs.unlinkSync(ownerPath);
    throw lockedError();
  }
}

async function makeOwnedLock(lockPath: string, ownerPath: string): Promise<void> {
  await fs.promises.mkdir(lockPath, { mode: 0o700 });
  try {
    await writeNewFile(ownerPath, ownerRecordBytes());
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw lockedError();
    await fs.promises.rmdir(lockPath).catch(() => undefined);
    throw error;
  }
  if (hasOtherOwner(await readdir(lockPath), ownerPath.slice(lockPath.length + 1))) {
    await unlink(ownerPath);
    throw lockedError();
  }
}

/**
 * The file core's claims: a `proper-lockfile` lock folder `<key>.lock` per claimed key,
 * holding the claimer's owner file (pid, host, random token). proper-lockfile makes the
 * folder and keeps it fresh (mtime refresh every quarter lease, loss detection); the owner
 * file fences takeovers so that exactly one taker wins (fileOwners.ts).
 *
 * @example
 * const claims = new FileClaims(10_000, new SyncBudget());
 * const claim = await claims.tryClaim('/home/me/.cachier/report', key);
 */
export class FileClaims {
  /** This process's claims per function folder, so clearing them marks them lost. */
  private readonly held = new Map<string, Set<HeldClaim>>();
  /** What every claim's `fs` inherits (see keepProbedPrecision). */
  private readonly sharedLockFs: typeof fs = Object.create(fs);

  constructor(
    private readonly leaseMs: number,
    private readonly budget: SyncBudget,
  ) {}

  /** Takes the key's claim in `folder` unless a live owner holds it. */
  async tryClaim(folder: string, key: string): Promise<Claim | undefined> {
    const lockPath = join(folder, `${key}.lock`);
    // The common miss finds no lock: one synchronous lstat instead of a thread-pool trip.
    const existing = fs.lstatSync(lockPath, { throwIfNoEntry: false });
    if (existing && (await reapIfDead(lockPath, this.leaseMs)) === 'held') return undefined;
    const ownerPath = join(lockPath, ownerFileName(randomToken()));
    const held: HeldClaim = { lost: false };
    const lock = lockFunction ?? (await loadLock());
    const lockFs = this.lockFs(lockPath, ownerPath);
    let release: () => Promise<void>;
    try {
      // The `file` argument is only proper-lockfile's bookkeeping key: one per claim, so
      // a claim of this process that was lost never releases a newer claim's record.
      release = await lock(ownerPath, {
        lockfilePath: lockPath,
        stale: this.leaseMs,
        update: this.leaseMs / 4,
        retries: 0,
        realpath: false,
        fs: lockFs,
        // The default throws from a timer and kills the process; a lost lock only means
        // another owner may calculate too, and renew() reports it.
        onCompromised: () => {
          held.lost = true;
        },
      });
    } catch (error) {
      const code = errorCode(error);
      // ENOTEMPTY: proper-lockfile found the folder stale but it still has an owner file.
      if (code === 'ELOCKED' || code === 'EEXIST' || code === 'ENOTEMPTY') return undefined;
      throw error;
    }
    this.keepProbedPrecision(lockFs);
    this.remember(folder, held);
    return {
      // proper-lockfile keeps the lease itself (it refreshes the folder's mtime every
      // quarter lease and would take a refresh of ours for a takeover): renew checks.
      renew: async () => {
        if (held.lost) return false;
        try {
          await lstat(ownerPath);
          return true;
        } catch (error) {
          if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTDIR') throw error;
          held.lost = true;
          return false;
        }
      },
      release: async () => {
        this.forget(folder, held);
        if (held.lost) return;
        held.lost = true;
        try {
          if (this.budget.sync) this.budget.timed(() => fs.unlinkSync(ownerPath));
          else await unlink(ownerPath);
        } catch (error) {
          // Gone: the claim was cleared or taken over; the folder is not ours to remove.
          if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
          throw error;
        }
        try {
          await release();
        } catch (error) {
          const code = errorCode(error);
          if (!['ERELEASED', 'ENOTACQUIRED', 'ENOENT', 'ENOTEMPTY'].includes(code ?? '')) {
            throw error;
          }
        }
      },
    };
  }

  /** Drops every claim in `folder`, held here or elsewhere, never following a symlink. */
  async clear(folder: string, files: readonly string[]): Promise<void> {
    // Our own running claims must not later remove a newer owner's lock on release.
    for (const held of this.held.get(folder) ?? []) held.lost = true;
    this.held.delete(folder);
    for (const file of files) {
      if (kindOfName(file) !== 'lock') continue;
      const path = join(folder, file);
      const info = await lstat(path).catch(() => undefined);
      if (info?.isDirectory()) await rm(path, { recursive: true, force: true });
      else if (info) await unlink(path).catch(() => undefined);
    }
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

  /**
   * proper-lockfile probes the file system's mtime precision on the first lock of an `fs`
   * object and keeps the answer on it under a symbol: kept on the object every claim's
   * `fs` inherits from, later claims skip the probe's extra `utimes`.
   */
  private keepProbedPrecision(claimFs: object): void {
    for (const symbol of Object.getOwnPropertySymbols(claimFs)) {
      if (Object.getOwnPropertySymbols(this.sharedLockFs).includes(symbol)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(claimFs, symbol);
      if (descriptor) Object.defineProperty(this.sharedLockFs, symbol, descriptor);
    }
  }

  /** The `fs` proper-lockfile uses for one claim: its mkdir also writes the owner file. */
  private lockFs(lockPath: string, ownerPath: string): typeof fs {
    const exitRemove = (path: string) => {
      // proper-lockfile's exit handler: our owner file first, or the folder is not empty.
      if (path === lockPath) fs.rmSync(ownerPath, { force: true });
      fs.rmdirSync(path);
    };
    if (!this.budget.sync) {
      return Object.assign(Object.create(this.sharedLockFs), {
        mkdir: (path: string, callback: Callback) => {
          makeOwnedLock(path, ownerPath).then(() => callback(null), callback);
        },
        rmdirSync: exitRemove,
      });
    }
    const { budget } = this;
    // Per claim, but cheap: only these differ from `fs` itself.
    return Object.assign(Object.create(this.sharedLockFs), {
      mkdir: budget.deferred((path: string) => makeOwnedLockSync(path, ownerPath)),
      stat: budget.deferred(fs.statSync),
      utimes: budget.deferred(fs.utimesSync),
      rmdir: budget.deferred(fs.rmdirSync),
      realpath: budget.deferred(fs.realpathSync),
      rmdirSync: exitRemove,
    });
  }
}
