import * as fs from 'node:fs';
import { closeSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import lockfile from 'proper-lockfile';
import type { Claim, Core, Entry, SetLimits, SetOutcome, WaitContext } from '../core.js';
import { CorruptEntryError } from '../errors.js';
import { sha256Hex } from '../keys.js';
import {
  decodeEntry,
  decodeHeader,
  encodeEntry,
  HEADER_BYTES,
  serializeValue,
} from '../serialize.js';
import { FolderWatchers } from './folderWatcher.js';

/** Options of {@link FileCore}. */
export interface FileCoreOptions {
  /**
   * Root folder; each cached function gets a subfolder named after it. A leading `~` is
   * the home folder.
   * @default '~/.cachier'
   * @example new FileCore({ cacheDir: '/var/cache/myapp' })
   */
  cacheDir?: string;
  /**
   * How long a claim (lock) lives without renewal: a crashed owner's claim is taken
   * over after this. Renewed every quarter of it (at least every second) while the
   * function runs. At least 2000 ms.
   * @default 10_000
   * @example new FileCore({ leaseMs: 30_000 })
   */
  leaseMs?: number;
}

/** Entries up to this size are read synchronously: microseconds instead of thread-pool round trips. */
const SYNC_READ_LIMIT = 64 * 1024;
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
const scratch = Buffer.allocUnsafe(SYNC_READ_LIMIT);
const IS_WINDOWS = process.platform === 'win32';
/** Windows refuses to replace or open a file that another process holds: retry briefly. */
const TRANSIENT_CODES = new Set(['EPERM', 'EBUSY', 'EACCES']);
const TEMP_FILE_MAX_AGE_MS = 10 * 60_000;
/** Bounds the name → folder memo for programs that make wrappers with ever new names. */
const MAX_REMEMBERED_FOLDERS = 1000;
const watchers = new FolderWatchers();
let tempCounter = 0;

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

/**
 * A folder name for a cache name: names made of letters, digits, `.`, `_` and `-` are
 * used as they are (so `Reports.byId` is readable on disk); others are made safe and
 * suffixed with a short hash so that two different names never share a folder.
 */
export function folderNameFor(name: string): string {
  if (/^[A-Za-z0-9._-]+$/.test(name) && name !== '.' && name !== '..') return name;
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return `${safe}-${sha256Hex(name).slice(0, 12)}`;
}

function isEntryFile(file: string): boolean {
  return !file.endsWith('.lock') && !file.endsWith('.tmp');
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

interface HeldClaim {
  lost: boolean;
}

type Callback = (error: NodeJS.ErrnoException | null, result?: unknown) => void;

/**
 * The `fs` that proper-lockfile uses while the file system is fast: its mkdir, stat, utimes
 * and rmdir run synchronously (microseconds on a local disk, where a thread-pool round trip
 * costs more than the call), with callbacks still deferred so the library sees async
 * behaviour. `took` is told how long each call took (ms).
 */
function syncLockFs(took: (ms: number) => void): typeof fs {
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
      took(performance.now() - started);
      process.nextTick(callback, failure, result);
    };
  return {
    ...fs,
    mkdir: deferred(fs.mkdirSync),
    stat: deferred(fs.statSync),
    utimes: deferred(fs.utimesSync),
    rmdir: deferred(fs.rmdirSync),
    realpath: deferred(fs.realpathSync),
  } as typeof fs;
}

/**
 * Stores one file per entry under `cacheDir/<name>/<key>` (key = SHA-256 of the
 * arguments), written to a temp file and renamed into place, so a reader never sees a
 * partial entry and a hit takes no lock. Claims are `proper-lockfile` locks
 * (`<key>.lock` folders) whose mtime the owner refreshes; waits share one `fs.watch` per
 * folder with polling as the fallback.
 *
 * @example
 * const report = cachier(fetchReport, { backend: new FileCore({ cacheDir: '/var/cache/app' }) });
 */
export class FileCore implements Core {
  readonly kind = 'file';
  readonly crossProcess = true;
  readonly renewIntervalMs = undefined;
  /** The resolved root folder. */
  readonly cacheDir: string;
  private readonly leaseMs: number;
  private readonly readyFolders = new Set<string>();
  private readonly folders = new Map<string, string>();
  private readonly held = new Map<string, Set<HeldClaim>>();
  /** Whether small writes and lock operations run synchronously (while they prove fast). */
  private syncFs = true;
  /** Recent average duration of this core's synchronous file-system calls (ms). */
  private syncCostMs = 0;
  private readonly lockFs = syncLockFs((ms) => this.noteSyncCost(ms));

  constructor(options: FileCoreOptions = {}) {
    const { cacheDir = '~/.cachier', leaseMs = 10_000 } = options;
    if (typeof cacheDir !== 'string' || cacheDir === '') {
      throw new TypeError('cachier: FileCore cacheDir must be a non-empty string');
    }
    if (typeof leaseMs !== 'number' || !(leaseMs >= 2000) || !Number.isFinite(leaseMs)) {
      throw new TypeError(`cachier: FileCore leaseMs must be a number >= 2000, got ${leaseMs}`);
    }
    this.cacheDir = expandCacheDir(cacheDir);
    this.leaseMs = leaseMs;
  }

  location(name: string): string {
    // Asked on every hit: resolve each name's folder once (names are few: one per wrapper).
    let folder = this.folders.get(name);
    if (folder === undefined) {
      if (this.folders.size >= MAX_REMEMBERED_FOLDERS) this.folders.clear();
      folder = join(this.cacheDir, folderNameFor(name));
      this.folders.set(name, folder);
    }
    return folder;
  }

  get(name: string, key: string): Entry | undefined | Promise<Entry | undefined> {
    const path = join(this.location(name), key);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      if (IS_WINDOWS && TRANSIENT_CODES.has(errorCode(error) ?? '')) return this.readLarge(path);
      throw error;
    }
    let length: number;
    try {
      length = readSync(fd, scratch, 0, SYNC_READ_LIMIT, 0);
    } finally {
      closeSync(fd);
    }
    if (length === SYNC_READ_LIMIT) return this.readLarge(path);
    // Copy out of the shared scratch buffer: deserialized Buffers are views of their input.
    return decodeEntry(Buffer.from(scratch.subarray(0, length)));
  }

  async set(name: string, key: string, entry: Entry, limits: SetLimits): Promise<SetOutcome> {
    const payload = serializeValue(entry.value);
    if (limits.entrySizeLimit !== undefined && payload.byteLength > limits.entrySizeLimit) {
      return 'too-large';
    }
    const bytes = encodeEntry(payload, entry.calculatedAt);
    const folder = this.location(name);
    const target = join(folder, key);
    // Threads share the pid and each has its own counter: the thread id keeps names apart.
    const temp = join(folder, `${key}.${process.pid}.${threadId}.${++tempCounter}.tmp`);
    const sync = this.syncFs && bytes.byteLength <= SYNC_WRITE_LIMIT;
    try {
      await this.inFolder(
        folder,
        sync
          ? async () => this.timed(() => writeFileSync(temp, bytes, { mode: 0o600 }))
          : () => writeFile(temp, bytes, { mode: 0o600 }),
      );
      await withTransientRetry(
        sync ? async () => this.timed(() => renameSync(temp, target)) : () => rename(temp, target),
      );
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    return 'stored';
  }

  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    const folder = this.location(name);
    const path = join(folder, key);
    const held: HeldClaim = { lost: false };
    let release: () => Promise<void>;
    try {
      release = await this.inFolder(folder, () =>
        lockfile.lock(path, {
          lockfilePath: `${path}.lock`,
          stale: this.leaseMs,
          update: this.leaseMs / 4,
          retries: 0,
          realpath: false,
          ...(this.syncFs ? { fs: this.lockFs } : {}),
          // The default throws from a timer and kills the process; a lost lock only means
          // another owner may calculate too.
          onCompromised: () => {
            held.lost = true;
          },
        }),
      );
    } catch (error) {
      if (errorCode(error) === 'ELOCKED') return undefined;
      throw error;
    }
    let claims = this.held.get(name);
    if (!claims) {
      claims = new Set();
      this.held.set(name, claims);
    }
    claims.add(held);
    return {
      renew: async () => !held.lost,
      release: async () => {
        this.held.get(name)?.delete(held);
        if (held.lost) return;
        held.lost = true;
        try {
          await release();
        } catch (error) {
          const code = errorCode(error);
          if (code !== 'ERELEASED' && code !== 'ENOTACQUIRED' && code !== 'ENOENT') throw error;
        }
      },
    };
  }

  waitForChange(name: string, key: string, { signal, attempt }: WaitContext): Promise<void> {
    return new Promise((resolveWait) => {
      let unsubscribe: (() => void) | undefined;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        unsubscribe?.();
        resolveWait();
      };
      // The poll is the fallback for lost events, and how a dead owner's lock is noticed.
      const timer = setTimeout(done, Math.min(25 * 2 ** attempt, 1000));
      unsubscribe = watchers.subscribe(this.location(name), key, done);
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }

  async clear(name: string): Promise<void> {
    const folder = this.location(name);
    for (const file of await this.list(folder)) {
      if (isEntryFile(file)) await unlink(join(folder, file)).catch(ignoreMissing);
    }
  }

  async clearClaims(name: string): Promise<void> {
    // Our own running claims must not later remove a newer owner's lock on release.
    for (const held of this.held.get(name) ?? []) held.lost = true;
    this.held.delete(name);
    const folder = this.location(name);
    for (const file of await this.list(folder)) {
      if (file.endsWith('.lock')) await rm(join(folder, file), { recursive: true, force: true });
    }
  }

  async deleteStale(name: string, calculatedBefore: number): Promise<void> {
    const folder = this.location(name);
    const header = Buffer.alloc(HEADER_BYTES);
    for (const file of await this.list(folder)) {
      const path = join(folder, file);
      if (file.endsWith('.tmp')) {
        const info = await stat(path).catch(() => undefined);
        if (info && info.mtimeMs < Date.now() - TEMP_FILE_MAX_AGE_MS)
          await unlink(path).catch(ignoreMissing);
        continue;
      }
      if (!isEntryFile(file)) continue;
      const calculatedAt = await readCalculatedAt(path, header);
      if (calculatedAt !== undefined && calculatedAt < calculatedBefore) {
        await unlink(path).catch(ignoreMissing);
      }
    }
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

  private async readLarge(path: string): Promise<Entry | undefined> {
    let bytes: Buffer;
    try {
      bytes = await withTransientRetry(() => readFile(path));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    return decodeEntry(bytes);
  }

  private async list(folder: string): Promise<string[]> {
    try {
      return await readdir(folder);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
  }

  /** Runs `operation` once the folder exists; recreates it once if it vanished meanwhile. */
  private async inFolder<T>(folder: string, operation: () => Promise<T>): Promise<T> {
    if (!this.readyFolders.has(folder)) await this.makeFolder(folder);
    try {
      return await operation();
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      await this.makeFolder(folder);
      return operation();
    }
  }

  private async makeFolder(folder: string): Promise<void> {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    this.readyFolders.add(folder);
  }
}

function ignoreMissing(error: unknown): void {
  if (errorCode(error) !== 'ENOENT') throw error;
}

/**
 * The entry's calculation time from its header: `-Infinity` for a corrupt file (always
 * stale), `undefined` to keep it (another format version, written by another release of
 * cachier sharing the folder, or a file that vanished meanwhile).
 */
async function readCalculatedAt(path: string, header: Buffer): Promise<number | undefined> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const { bytesRead } = await handle.read(header, 0, HEADER_BYTES, 0);
    return decodeHeader(header, bytesRead)?.calculatedAt;
  } catch (error) {
    return error instanceof CorruptEntryError ? Number.NEGATIVE_INFINITY : undefined;
  } finally {
    await handle?.close();
  }
}
