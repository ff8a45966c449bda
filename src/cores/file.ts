import { closeSync, type Dirent, lstatSync, renameSync, unlinkSync } from 'node:fs';
import { lstat, readdir, rename, rm, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { CorruptEntryError } from '../errors.js';
import { shared } from '../processState.js';
import { MAX_TIMER_MS } from '../timeLimits.js';
import type { Claim, Core, EntryInfo, StoredEntry } from './contract.js';
import { checkOptionNames } from './coreOptions.js';
import { CLAIM_LATER, type FileClaim, FileClaims } from './fileClaims.js';
import { type EntryBinding, encodeFileEntry, nameTagOf } from './fileEntry.js';
import {
  checkExistingFolder,
  othersCanMakeFolders,
  prepareFolder,
  readMarker,
} from './fileFolders.js';
import { removeIfDead } from './fileLeftovers.js';
import { folderNameFor, isKey, kindOfName, tempNameFor } from './fileNames.js';
import { hostTag } from './fileOwners.js';
import { openEntrySync, readEntry, readHeader, readSmallEntry } from './fileRead.js';
import { SyncBudget } from './fileSyncBudget.js';
import { removeName, writeNewFile, writeNewFileSync } from './fileWrite.js';
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
   * Kept alive every quarter of it while the function runs. At least 2000 ms: the lease
   * is judged by the lock folder's mtime, which some file systems keep to 1–2 seconds.
   * @default 10_000
   * @example new FileCore({ leaseMs: 30_000 })
   */
  leaseMs?: number;
}

/** Entries up to this size are written synchronously while the file system proves fast. */
const SYNC_WRITE_LIMIT = 64 * 1024;
/** Crash leftovers of a folder are looked for at most this often on claims. */
const SWEEP_INTERVAL_MS = 30_000;
/** Bounds the name → folder memo for programs that make wrappers with ever new names. */
const MAX_REMEMBERED_FOLDERS = 1000;
const IS_WINDOWS = process.platform === 'win32';
/** Windows refuses to replace or open a file that another process holds: retry briefly. */
const TRANSIENT_CODES = new Set(['EPERM', 'EBUSY', 'EACCES']);
/** One watch per folder for every copy of cachier in this process (the ESM and CJS builds). */
const folderWatchers = () => shared('folderWatchers', () => new FolderWatchers());

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

/** Where an entry of `state`'s name and `key` belongs (its header must say so). */
function bindingOf(state: FolderState, key: string): EntryBinding {
  return { nameTag: state.nameTag, key };
}

/** Whether nothing is at `path` (an lstat that does not throw for a missing file). */
function isAbsent(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) === undefined;
  } catch {
    return false;
  }
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
  /** The name's tag in entry headers, which binds each entry to this name (fileEntry.ts). */
  nameTag: Buffer;
  /** Checked safe (or made by this core): reads may use it. */
  checked: boolean;
  /** Exists, safe, marked: writes may use it. */
  prepared: boolean;
  /**
   * Others can make folders in cacheDir (sticky, as /tmp): the folder is checked again
   * before every use, since it may have been deleted and made again by someone else.
   */
  recheck: boolean;
  /** When crash leftovers were last looked for (ms). */
  lastSweep: number;
  /** Whether files cachier did not write were reported already. */
  reportedForeign: boolean;
}

/**
 * Stores one file per entry under `cacheDir/<name>/<key>` (key = SHA-256 of the
 * arguments), written to a new temp file and renamed into place, so a reader never sees
 * a partial entry and a hit takes no lock. Claims are lock folders (`<key>.lock`) holding
 * an owner file that records pid and host; the folder's mtime is the lease, refreshed by
 * `renew()` (fileClaims.ts). Folders are checked before use (SECURITY.md), and only names
 * cachier writes are ever deleted.
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
  /** Name → folder state, oldest first (a plain Map: lru-cache stays unloaded for this memo). */
  private readonly folders = new Map<string, FolderState>();
  /** Whether small writes and lock operations run synchronously (while they prove fast). */
  private readonly budget = new SyncBudget();
  private readonly claims: FileClaims;
  /** Whether the last entry read found nothing: misses come in runs (a cold cache, new keys). */
  private lastReadMissed = false;

  constructor(options: FileCoreOptions = {}) {
    checkOptionNames(
      'FileCore',
      options,
      ['cacheDir', 'leaseMs'],
      "new FileCore({ cacheDir: '/var/cache/app' })",
    );
    const { cacheDir = '~/.cachier', leaseMs = 10_000 } = options;
    if (typeof cacheDir !== 'string' || cacheDir === '') {
      throw new TypeError('cachier: FileCore cacheDir must be a non-empty string');
    }
    if (typeof leaseMs !== 'number' || !(leaseMs >= 2000) || !(leaseMs <= MAX_TIMER_MS)) {
      throw new TypeError(
        `cachier: FileCore leaseMs must be a number >= 2000 and at most ${MAX_TIMER_MS} (milliseconds)`,
      );
    }
    this.cacheDir = expandCacheDir(cacheDir);
    this.leaseMs = leaseMs;
    this.claims = new FileClaims(leaseMs, this.budget);
  }

  location(name: string): string {
    return this.folder(name).path;
  }

  get(name: string, key: string): StoredEntry | undefined | Promise<StoredEntry | undefined> {
    assertKey(key);
    const state = this.folder(name);
    if (!state.checked || state.recheck) {
      if (!this.checkExisting(state)) return undefined;
    }
    // The folder's path is normalized and the key is 64 hex characters: no join needed.
    const path = `${state.path}${sep}${key}`;
    // Re-read after winning the claim, or a read right after a miss: the entry is likely
    // absent, and an lstat says so without the Error a failed open builds (a fifth of a
    // miss on tmpfs). A hit opens first, so a run of hits pays nothing for this; anything
    // found is read as usual.
    if ((this.lastReadMissed || this.claims.holdsEntry(path)) && isAbsent(path)) {
      this.lastReadMissed = true;
      return undefined;
    }
    const binding = bindingOf(state, key);
    let fd: number | undefined;
    try {
      fd = openEntrySync(path);
    } catch (error) {
      if (IS_WINDOWS && TRANSIENT_CODES.has(errorCode(error) ?? '')) {
        return withTransientRetry(() => readEntry(path, binding));
      }
      throw error;
    }
    this.lastReadMissed = fd === undefined;
    if (fd === undefined) return undefined;
    let entry: ReturnType<typeof readSmallEntry>;
    try {
      entry = readSmallEntry(fd, binding);
    } finally {
      closeSync(fd);
    }
    return entry === 'large' ? withTransientRetry(() => readEntry(path, binding)) : entry;
  }

  set(name: string, key: string, entry: StoredEntry): Promise<void> {
    let content: Buffer;
    let state: FolderState;
    try {
      assertKey(key);
      state = this.folder(name);
      content = encodeFileEntry(entry.bytes, entry.calculatedAt, bindingOf(state, key));
    } catch (error) {
      return Promise.reject(error);
    }
    if (
      this.budget.sync &&
      content.byteLength <= SYNC_WRITE_LIMIT &&
      this.setFast(state, key, content)
    ) {
      return Promise.resolve();
    }
    return this.setSlowly(state, key, content);
  }

  /**
   * A small entry on a fast disk in one synchronous pass: a new temp file renamed onto
   * the entry. `false` (and no temp file left) when anything went wrong: the slow path
   * then does it again and deals with what is in the way, or reports the error.
   */
  private setFast(state: FolderState, key: string, content: Buffer): boolean {
    let temp: string | undefined;
    try {
      this.prepareIfNeeded(state);
      temp = `${state.path}${sep}${tempNameFor(key, hostTag)}`;
      const target = `${state.path}${sep}${key}`;
      const written = temp;
      this.budget.timed(() => {
        writeNewFileSync(written, content);
        renameSync(written, target);
      });
      return true;
    } catch {
      if (temp !== undefined) {
        try {
          unlinkSync(temp);
        } catch {
          // Never written, or renamed already.
        }
      }
      return false;
    }
  }

  private async setSlowly(state: FolderState, key: string, content: Buffer): Promise<void> {
    const target = join(state.path, key);
    const sync = this.budget.sync && content.byteLength <= SYNC_WRITE_LIMIT;
    await this.inFolder(state, async () => {
      const temp = join(state.path, tempNameFor(key, hostTag));
      try {
        if (sync) this.budget.timed(() => writeNewFileSync(temp, content));
        else await writeNewFile(temp, content);
        await this.replace(temp, target, sync);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw error;
      }
    });
  }

  tryClaim(name: string, key: string): Promise<Claim | undefined> {
    try {
      assertKey(key);
      const state = this.folder(name);
      this.prepareIfNeeded(state);
      // A miss on a fast disk: one synchronous pass and an already settled promise.
      const claim = this.claims.claimFast(state.path, key);
      if (claim !== CLAIM_LATER) {
        this.sweepSoon(state);
        return Promise.resolve(claim && this.storingThrough(claim, name, key));
      }
    } catch (error) {
      // The folder vanished meanwhile: the slow path prepares it again.
      if (errorCode(error) !== 'ENOENT') return Promise.reject(error);
    }
    return this.tryClaimSlowly(name, key);
  }

  /** A lock folder is there (its owner is judged first), the disk is slow, or the folder vanished. */
  private async tryClaimSlowly(name: string, key: string): Promise<Claim | undefined> {
    const state = this.folder(name);
    const claim = await this.inFolder(state, () => this.claims.tryClaim(state.path, key));
    // After the claim: a sweep removing the same dead owner's lock would make it look taken.
    this.sweepSoon(state);
    return claim && this.storingThrough(claim, name, key);
  }

  /**
   * The claim with its Claim.store: the entry is written only while our owner file is
   * still in the lock folder (a clearCache elsewhere removes it). The check and the
   * rename are two steps: a clear landing between them (microseconds) is not caught.
   */
  private storingThrough(claim: FileClaim, name: string, key: string): Claim {
    return {
      renew: claim.renew,
      release: claim.release,
      store: async (entry) => {
        if (!(await claim.isHeld())) return false;
        await this.set(name, key, entry);
        return true;
      },
    };
  }

  /**
   * Watches the function folder, made first if missing (as the first write would make
   * it): a watch opened on a folder that is not there yet would see nothing, leaving the
   * waiter to polling. A folder that cannot be made or is unsafe leaves it to polling too.
   */
  subscribe(name: string, key: string, onChange: () => void): () => void {
    const state = this.folder(name);
    if (!state.prepared) {
      try {
        this.prepare(state);
      } catch {
        // Polling carries on; the next get or set reports the folder's problem.
      }
    }
    return folderWatchers().subscribe(state.path, key, onChange);
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
    await this.cleanFolder(name, (calculatedAt) => calculatedAt < calculatedBefore);
  }

  async clearClaims(name: string): Promise<void> {
    const state = this.folder(name);
    if (!this.checkedForCleanup(state)) {
      await this.claims.clear(state.path, []);
      return;
    }
    await this.claims.clear(state.path, await this.filesOf(state));
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
        header = await readHeader(join(state.path, file), bindingOf(state, file));
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
          if (await this.isEntryToDelete(path, bindingOf(state, file), isStale)) {
            await removeName(path);
          }
          break;
        case 'temp':
        case 'lock':
          await removeIfDead(path, file, this.leaseMs);
          break;
        case 'foreign':
          foreign++;
          break;
      }
    }
    this.reportForeign(state, foreign);
  }

  private async isEntryToDelete(
    path: string,
    binding: EntryBinding,
    isStale: (calculatedAt: number) => boolean,
  ) {
    try {
      const header = await readHeader(path, binding);
      // Another format version (a later release shares the folder): its own to judge.
      return header !== undefined && isStale(header.calculatedAt);
    } catch (error) {
      if (error instanceof CorruptEntryError) return true;
      throw error;
    }
  }

  /** Looks for crash leftovers in the folder, at most every SWEEP_INTERVAL_MS, in the background. */
  private sweepSoon(state: FolderState): void {
    const now = Date.now();
    if (now - state.lastSweep < SWEEP_INTERVAL_MS) return;
    state.lastSweep = now;
    void (async () => {
      for (const file of await this.filesOf(state)) {
        await removeIfDead(join(state.path, file), file, this.leaseMs);
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
    if (state.checked && !state.recheck) return true;
    return this.checkExisting(state);
  }

  /** Checks an existing folder (false: it is not there); throws the refusal of an unsafe one. */
  private checkExisting(state: FolderState): boolean {
    if (!checkExistingFolder(this.cacheDir, state.path)) {
      // Gone: the next write makes (and checks) it again.
      state.prepared = false;
      return false;
    }
    this.markChecked(state);
    return true;
  }

  /** The folder passed its checks: on first use, learn whether it must be checked on every use. */
  private markChecked(state: FolderState): void {
    if (state.checked) return;
    state.checked = true;
    state.recheck = othersCanMakeFolders(this.cacheDir);
  }

  private folder(name: string): FolderState {
    // Asked on every hit: resolve each name's folder once (names are few: one per wrapper).
    let state = this.folders.get(name);
    if (state === undefined) {
      state = {
        name,
        path: join(this.cacheDir, folderNameFor(name)),
        nameTag: nameTagOf(name),
        checked: false,
        prepared: false,
        recheck: false,
        lastSweep: 0,
        reportedForeign: false,
      };
      // Forgetting a folder only costs a re-check: drop the one remembered longest.
      if (this.folders.size >= MAX_REMEMBERED_FOLDERS) {
        this.folders.delete(this.folders.keys().next().value as string);
      }
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
        sync
          ? async () => this.budget.timed(() => renameSync(temp, target))
          : () => rename(temp, target),
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

  /** Runs `operation` once the folder is ready; prepares it again once if it vanished meanwhile. */
  private async inFolder<T>(state: FolderState, operation: () => Promise<T>): Promise<T> {
    this.prepareIfNeeded(state);
    try {
      return await operation();
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      this.prepare(state);
      return operation();
    }
  }

  private prepareIfNeeded(state: FolderState): void {
    if (!state.prepared || state.recheck) this.prepare(state);
  }

  private prepare(state: FolderState): void {
    prepareFolder(this.cacheDir, state.path, state.name);
    this.markChecked(state);
    state.prepared = true;
  }
}
