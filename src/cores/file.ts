import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { closeSync, constants, type Dirent, openSync, renameSync, writeSync } from 'node:fs';
import { lstat, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { LRUCache } from 'lru-cache';
import lockfile from 'proper-lockfile';
import { CorruptEntryError } from '../errors.js';
import type { Claim, Core, EntryInfo, StoredEntry } from './contract.js';
import { encodeFileEntry } from './fileEntry.js';
import { checkExistingFolder, prepareFolder, readMarker } from './fileFolders.js';
import { folderNameFor, isKey, kindOfName, tempNameFor, tempWriter } from './fileNames.js';
import {
  hasOtherOwner,
  hostTag,
  isWriterGone,
  ownerFileName,
  ownerRecordBytes,
  reapIfDead,
} from './fileOwners.js';
import { openEntrySync, readEntry, readHeader, readSmallEntry } from './fileRead.js';
import { FolderWatchers } from './folderWatcher.js';

export { folderNameFor } from './fileNames.js';

/** Options of {@link FileCore}. */
export interface FileCoreOptions {
  /**
   * Root folder; each cached function gets a subfolder named after it. A leading `~` is
   * the home folder. It must not let other users replace the folders in it (see SECURITY.md).
   * @default '~/.cachier'
   * @example new FileCore({ cacheDir: '/var/cache/myapp' })
   */
  cacheDir?: string;
  /**
   * How long a claim (lock) lives without renewal: the claim of an owner that died on
   * another machine is taken over after this (one that died on this machine, at once).
   * Kept alive every quarter of it while the function runs. At least 2000 ms.
   * @default 10_000
   * @example new FileCore({ leaseMs: 30_000 })
   */
  leaseMs?: number;
  /**
   * The clock entries are dated by (the one given to cachier): an entry dated more than a
   * minute after it is damaged, a miss.
   * @default Date.now
   * @example new FileCore({ now: () => clock.now() })
   */
  now?: () => number;
}

/** Entries up to this size are written synchronously while the file system proves fast. */
const SYNC_WRITE_LIMIT = 64 * 1024;
/**
 * When this core's synchronous file-system calls average more than this (ms), its writes
 * and locks move to the thread pool for good: on a slow or network disk creating a file
 * can take milliseconds, and the event loop must not wait for that.
 */
const SLOW_SYNC_MS = 0.5;
/**
 * The average is over about the last 32 calls, each counted as at most 2 ms, so a call
 * that the OS scheduler happened to pause on a busy machine does not make a fast disk
 * look slow, while a disk that is slow call after call is noticed within a few misses.
 */
const SYNC_COST_WEIGHT = 1 / 32;
const SYNC_COST_CLIP_MS = 2;
/** Clocks of machines sharing a folder differ a little; an entry further in the future is damaged. */
const FUTURE_TOLERANCE_MS = 60_000;
/** A temp file untouched this long belongs to a writer that is gone. */
const TEMP_FILE_MAX_AGE_MS = 10 * 60_000;
/** Crash leftovers of a folder are looked for at most this often on claims. */
const SWEEP_INTERVAL_MS = 30_000;
/** Bounds the name → folder memo for programs that make wrappers with ever new names. */
const MAX_REMEMBERED_FOLDERS = 1000;
const IS_WINDOWS = process.platform === 'win32';
/** Windows refuses to replace or open a file that another process holds: retry briefly. */
const TRANSIENT_CODES = new Set(['EPERM', 'EBUSY', 'EACCES']);
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
/** How temp files are created: new (never an existing file or a planted symlink), private. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW;
const watchers = new FolderWatchers();

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** `~` → home folder, relative → absolute. */
export function expandCacheDir(dir: string): string {
  if (dir === '~' || dir.startsWith('~/') || dir.startsWith('~\\')) {
    return resolve(homedir(), dir.slice(2));
  }
  return resolve(dir);
}

function assertKey(key: string): void {
  if (typeof key !== 'string' || !isKey(key)) {
    throw new TypeError('cachier: FileCore keys must be 64 lowercase hex characters (a SHA-256)');
  }
}

async function withTransientRetry<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!IS_WINDOWS || attempt >= 20 || !TRANSIENT_CODES.has(errorCode(error) ?? '')) throw error;
      await new Promise((done) => setTimeout(done, 5 * (attempt + 1)));
    }
  }
}

/** What the core remembers about one cache name's folder. */
interface FolderState {
  /** The cache name (for the folder's marker). */
  name: string;
  path: string;
  /** Checked safe (or made by this core): reads may use it. */
  checked: boolean;
  /** Exists, safe, marked: writes may use it. */
  prepared: boolean;
  /** When crash leftovers were last looked for (ms). */
  lastSweep: number;
  /** Whether files cachier did not write were reported already. */
  reportedForeign: boolean;
}

interface HeldClaim {
  lost: boolean;
}

type Callback = (error: NodeJS.ErrnoException | null, result?: unknown) => void;

/** Writes a new file that must not exist yet (O_EXCL, no symlink followed), mode 0600. */
function writeNewFileSync(path: string, content: Uint8Array): void {
  const fd = openSync(path, CREATE_FLAGS, 0o600);
  try {
    let written = 0;
    while (written < content.byteLength) {
      written += writeSync(fd, content, written, content.byteLength - written);
    }
  } finally {
    closeSync(fd);
  }
}

async function writeNewFile(path: string, content: Uint8Array): Promise<void> {
  const handle = await open(path, CREATE_FLAGS, 0o600);
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
}

/** Removes whatever is at a name cachier owns, never following a symlink. */
async function removeName(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return;
    if (code !== 'EISDIR' && code !== 'EPERM') throw error;
    // A directory at an entry name: it can only block entries, and it is cachier's name.
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isDirectory()) throw error;
    await rm(path, { recursive: true, force: true });
  }
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
    // Leave no empty lock behind; a folder that holds another owner's file stays.
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

function lockedError(): NodeJS.ErrnoException {
  return Object.assign(new Error('the claim is held by another owner'), { code: 'ELOCKED' });
}

/**
 * Stores one file per entry under `cacheDir/<name>/<key>` (key = SHA-256 of the
 * arguments), written to a new temp file and renamed into place, so a reader never sees
 * a partial entry and a hit takes no lock. Claims are `proper-lockfile` lock folders
 * (`<key>.lock`) holding an owner file that records pid and host; the holder refreshes the
 * folder's mtime. Folders are checked before use (SECURITY.md), and only names cachier
 * writes are ever deleted.
 *
 * @example
 * const report = cachier(fetchReport, { backend: new FileCore({ cacheDir: '/var/cache/app' }) });
 */
export class FileCore implements Core {
  readonly kind = 'file';
  /** The resolved root folder. */
  readonly cacheDir: string;
  /** How long a claim lives without renewal (ms). */
  readonly leaseMs: number;
  private readonly now: () => number;
  private readonly folders = new LRUCache<string, FolderState>({ max: MAX_REMEMBERED_FOLDERS });
  private readonly held = new Map<string, Set<HeldClaim>>();
  /** What every claim's `fs` inherits (see keepProbedPrecision). */
  private readonly sharedLockFs: typeof fs = Object.create(fs);
  /** Whether small writes and lock operations run synchronously (while they prove fast). */
  private syncFs = true;
  /** Recent average duration of this core's synchronous file-system calls (ms). */
  private syncCostMs = 0;

  constructor(options: FileCoreOptions = {}) {
    const { cacheDir = '~/.cachier', leaseMs = 10_000, now = Date.now } = options;
    if (typeof cacheDir !== 'string' || cacheDir === '') {
      throw new TypeError('cachier: FileCore cacheDir must be a non-empty string');
    }
    if (typeof leaseMs !== 'number' || !(leaseMs >= 2000) || !Number.isFinite(leaseMs)) {
      throw new TypeError(`cachier: FileCore leaseMs must be a number >= 2000, got ${leaseMs}`);
    }
    if (typeof now !== 'function') throw new TypeError('cachier: FileCore now must be a function');
    this.cacheDir = expandCacheDir(cacheDir);
    this.leaseMs = leaseMs;
    this.now = now;
  }

  location(name: string): string {
    return this.folder(name).path;
  }

  get(name: string, key: string): StoredEntry | undefined | Promise<StoredEntry | undefined> {
    assertKey(key);
    const state = this.folder(name);
    if (!state.checked) {
      if (!checkExistingFolder(this.cacheDir, state.path)) return undefined;
      state.checked = true;
    }
    const path = join(state.path, key);
    const notAfter = this.now() + FUTURE_TOLERANCE_MS;
    let fd: number | undefined;
    try {
      fd = openEntrySync(path);
    } catch (error) {
      if (IS_WINDOWS && TRANSIENT_CODES.has(errorCode(error) ?? '')) {
        return withTransientRetry(() => readEntry(path, notAfter));
      }
      throw error;
    }
    if (fd === undefined) return undefined;
    let entry: ReturnType<typeof readSmallEntry>;
    try {
      entry = readSmallEntry(fd, notAfter);
    } finally {
      closeSync(fd);
    }
    return entry === 'large' ? withTransientRetry(() => readEntry(path, notAfter)) : entry;
  }

  async set(name: string, key: string, entry: StoredEntry): Promise<void> {
    assertKey(key);
    const content = encodeFileEntry(entry.bytes, entry.calculatedAt);
    const state = this.folder(name);
    const target = join(state.path, key);
    const sync = this.syncFs && content.byteLength <= SYNC_WRITE_LIMIT;
    await this.inFolder(state, async () => {
      const temp = join(state.path, tempNameFor(key, hostTag));
      try {
        if (sync) this.timed(() => writeNewFileSync(temp, content));
        else await writeNewFile(temp, content);
        await this.replace(temp, target, sync);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw error;
      }
    });
  }

  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    assertKey(key);
    const state = this.folder(name);
    return this.inFolder(state, async () => {
      this.sweepSoon(state);
      const lockPath = join(state.path, `${key}.lock`);
      // The common miss finds no lock: one synchronous lstat instead of a thread-pool trip.
      const existing = fs.lstatSync(lockPath, { throwIfNoEntry: false });
      if (existing && (await reapIfDead(lockPath, this.leaseMs)) === 'held') return undefined;
      const ownerPath = join(lockPath, ownerFileName(randomBytes(16).toString('hex')));
      const held: HeldClaim = { lost: false };
      const lockFs = this.lockFs(lockPath, ownerPath);
      let release: () => Promise<void>;
      try {
        // The `file` argument is only proper-lockfile's bookkeeping key: one per claim, so
        // a claim of this process that was lost never releases a newer claim's record.
        release = await lockfile.lock(ownerPath, {
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
      let claims = this.held.get(name);
      if (!claims) {
        claims = new Set();
        this.held.set(name, claims);
      }
      claims.add(held);
      const forget = () => {
        const set = this.held.get(name);
        set?.delete(held);
        if (set?.size === 0) this.held.delete(name);
      };
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
          forget();
          if (held.lost) return;
          held.lost = true;
          try {
            if (this.syncFs) this.timed(() => fs.unlinkSync(ownerPath));
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
    });
  }

  subscribe(name: string, key: string, onChange: () => void): () => void {
    return watchers.subscribe(this.location(name), key, onChange);
  }

  async delete(name: string, key: string): Promise<void> {
    assertKey(key);
    const state = this.folder(name);
    if (!this.checkedForCleanup(state)) return;
    await removeName(join(state.path, key));
  }

  async clear(name: string): Promise<void> {
    await this.cleanFolder(name, () => true);
  }

  async deleteStale(name: string, calculatedBefore: number): Promise<void> {
    await this.cleanFolder(name, (calculatedAt) => {
      return calculatedAt < calculatedBefore || calculatedAt > this.now() + FUTURE_TOLERANCE_MS;
    });
  }

  async clearClaims(name: string): Promise<void> {
    // Our own running claims must not later remove a newer owner's lock on release.
    for (const held of this.held.get(name) ?? []) held.lost = true;
    this.held.delete(name);
    const state = this.folder(name);
    if (!this.checkedForCleanup(state)) return;
    for (const file of await this.filesOf(state)) {
      if (kindOfName(file) !== 'lock') continue;
      const path = join(state.path, file);
      const info = await lstat(path).catch(() => undefined);
      if (info?.isDirectory()) await rm(path, { recursive: true, force: true });
      else if (info) await unlink(path).catch(ignoreMissing);
    }
  }

  async names(): Promise<string[]> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(this.cacheDir, { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    const names: string[] = [];
    for (const dirent of dirents) {
      if (!dirent.isDirectory()) continue;
      const name = readMarker(join(this.cacheDir, dirent.name));
      if (name !== undefined) names.push(name);
    }
    return names.sort();
  }

  async *list(name: string): AsyncIterable<EntryInfo> {
    const state = this.folder(name);
    if (!this.checkedForCleanup(state)) return;
    for (const file of await this.filesOf(state)) {
      if (kindOfName(file) !== 'entry') continue;
      let header: Awaited<ReturnType<typeof readHeader>>;
      try {
        header = await readHeader(join(state.path, file));
      } catch (error) {
        if (error instanceof CorruptEntryError) continue;
        throw error;
      }
      if (header) yield { key: file, calculatedAt: header.calculatedAt, size: header.size };
    }
  }

  /**
   * Deletes the entries `isStale` picks (and damaged ones), dead owners' claims and dead
   * writers' temp files; leaves every name cachier does not write alone.
   */
  private async cleanFolder(name: string, isStale: (calculatedAt: number) => boolean) {
    const state = this.folder(name);
    if (!this.checkedForCleanup(state)) return;
    let foreign = 0;
    for (const file of await this.filesOf(state)) {
      const path = join(state.path, file);
      switch (kindOfName(file)) {
        case 'entry':
          if (await this.isEntryToDelete(path, isStale)) await removeName(path);
          break;
        case 'temp':
        case 'lock':
          await this.removeIfDead(path, file);
          break;
        case 'foreign':
          foreign++;
          break;
      }
    }
    this.reportForeign(state, foreign);
  }

  private async isEntryToDelete(path: string, isStale: (calculatedAt: number) => boolean) {
    try {
      const header = await readHeader(path);
      // Another format version (a later release shares the folder): its own to judge.
      return header !== undefined && isStale(header.calculatedAt);
    } catch (error) {
      if (error instanceof CorruptEntryError) return true;
      throw error;
    }
  }

  /** Removes a temp file or claim folder whose writer or owner is provably gone. */
  private async removeIfDead(path: string, file: string): Promise<void> {
    if (kindOfName(file) === 'lock') {
      await reapIfDead(path, this.leaseMs);
      return;
    }
    const info = await lstat(path).catch(() => undefined);
    if (!info) return;
    const writer = tempWriter(file);
    const gone =
      !info.isFile() ||
      (writer !== undefined && isWriterGone(writer.pid, writer.hostTag)) ||
      info.mtimeMs < Date.now() - TEMP_FILE_MAX_AGE_MS;
    if (gone) await removeName(path);
  }

  /** Looks for crash leftovers in the folder, at most every SWEEP_INTERVAL_MS, in the background. */
  private sweepSoon(state: FolderState): void {
    const now = Date.now();
    if (now - state.lastSweep < SWEEP_INTERVAL_MS) return;
    state.lastSweep = now;
    void (async () => {
      for (const file of await this.filesOf(state)) {
        const kind = kindOfName(file);
        if (kind === 'temp' || kind === 'lock')
          await this.removeIfDead(join(state.path, file), file);
      }
    })().catch(() => undefined);
  }

  private reportForeign(state: FolderState, count: number): void {
    if (count === 0 || state.reportedForeign) return;
    state.reportedForeign = true;
    process.emitWarning(
      `cachier: left ${count} file(s) in ${state.path} alone because cachier did not write them; ` +
        'keep other files out of cache folders.',
      { code: 'CACHIER_FOREIGN_FILES' },
    );
  }

  /** Whether the folder exists and is safe to clean; throws when it is not safe. */
  private checkedForCleanup(state: FolderState): boolean {
    if (state.checked) return true;
    if (!checkExistingFolder(this.cacheDir, state.path)) return false;
    state.checked = true;
    return true;
  }

  private folder(name: string): FolderState {
    // Asked on every hit: resolve each name's folder once (names are few: one per wrapper).
    let state = this.folders.get(name);
    if (state === undefined) {
      state = {
        name,
        path: join(this.cacheDir, folderNameFor(name)),
        checked: false,
        prepared: false,
        lastSweep: 0,
        reportedForeign: false,
      };
      this.folders.set(name, state);
    }
    return state;
  }

  private async filesOf(state: FolderState): Promise<string[]> {
    try {
      return await readdir(state.path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
  }

  /** Moves a written temp file onto the entry name, replacing a directory that is in the way. */
  private async replace(temp: string, target: string, sync: boolean): Promise<void> {
    const move = () =>
      withTransientRetry(
        sync ? async () => this.timed(() => renameSync(temp, target)) : () => rename(temp, target),
      );
    try {
      await move();
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM') {
        throw error;
      }
      const info = await lstat(target).catch(() => undefined);
      if (!info?.isDirectory()) throw error;
      await rm(target, { recursive: true, force: true });
      await move();
    }
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
    if (!this.syncFs) {
      return Object.assign(Object.create(this.sharedLockFs), {
        mkdir: (path: string, callback: Callback) => {
          makeOwnedLock(path, ownerPath).then(() => callback(null), callback);
        },
        rmdirSync: exitRemove,
      });
    }
    const deferred =
      (call: (...args: never[]) => unknown) =>
      (...args: unknown[]) => {
        const callback = args.pop() as Callback;
        const started = performance.now();
        let result: unknown;
        let failure: NodeJS.ErrnoException | null = null;
        try {
          result = call(...(args as never[]));
        } catch (error) {
          failure = error as NodeJS.ErrnoException;
        }
        this.noteSyncCost(performance.now() - started);
        process.nextTick(callback, failure, result);
      };
    // Per claim, but cheap: only these differ from `fs` itself.
    return Object.assign(Object.create(this.sharedLockFs), {
      mkdir: deferred((path: string) => makeOwnedLockSync(path, ownerPath)),
      stat: deferred(fs.statSync),
      utimes: deferred(fs.utimesSync),
      rmdir: deferred(fs.rmdirSync),
      realpath: deferred(fs.realpathSync),
      rmdirSync: exitRemove,
    });
  }

  /** Runs `operation` once the folder is ready; prepares it again once if it vanished meanwhile. */
  private async inFolder<T>(state: FolderState, operation: () => Promise<T>): Promise<T> {
    if (!state.prepared) this.prepare(state);
    try {
      return await operation();
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      this.prepare(state);
      return operation();
    }
  }

  private prepare(state: FolderState): void {
    prepareFolder(this.cacheDir, state.path, state.name);
    state.prepared = true;
    state.checked = true;
  }

  /** Runs a synchronous file-system call and accounts for its duration. */
  private timed(call: () => void): void {
    const started = performance.now();
    try {
      call();
    } finally {
      this.noteSyncCost(performance.now() - started);
    }
  }

  private noteSyncCost(ms: number): void {
    this.syncCostMs += (Math.min(ms, SYNC_COST_CLIP_MS) - this.syncCostMs) * SYNC_COST_WEIGHT;
    if (this.syncCostMs > SLOW_SYNC_MS) this.syncFs = false;
  }
}

function ignoreMissing(error: unknown): void {
  if (errorCode(error) !== 'ENOENT') throw error;
}
