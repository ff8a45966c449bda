import { serialize } from 'node:v8';
import type { LRUCache } from 'lru-cache';
import { CachierError } from '../errors.js';
import type { Claim, ValueCore, ValueEntry } from './contract.js';
import { checkOptionNames } from './coreOptions.js';

/** Options of {@link MemoryCore}. */
export interface MemoryCoreOptions {
  /**
   * How many entries each cache name keeps; beyond it the least recently used entry is
   * evicted. `Infinity` for no bound.
   * @default 10_000
   * @example new MemoryCore({ maxEntries: 500 })
   */
  maxEntries?: number;
  /**
   * Bound on the entries' total size per cache name, in bytes as `sizeOf` measures them;
   * least recently used entries are evicted to stay under it. Off by default (measuring
   * costs a serialization per stored value).
   * @default no size bound
   * @example new MemoryCore({ maxSize: 64 * 1024 * 1024 })
   */
  maxSize?: number;
  /**
   * Measures a value for `maxSize`.
   * @default the length of its `node:v8` serialization
   * @example new MemoryCore({ maxSize: 1e6, sizeOf: (value) => JSON.stringify(value).length })
   */
  sizeOf?: (value: unknown) => number;
}

const DEFAULT_MAX_ENTRIES = 10_000;

type LruClass = typeof LRUCache;

/**
 * lru-cache, loaded by the first store of a value rather than at import, so importing
 * cachier (or using only other cores) never pays for it; a read before any store finds
 * nothing and needs no cache.
 */
let lruClass: LruClass | undefined;

async function loadLru(): Promise<LruClass> {
  lruClass = (await import('lru-cache')).LRUCache;
  return lruClass;
}

function checkBound(value: unknown, option: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 1) {
    throw new TypeError(`cachier: MemoryCore ${option} must be a number >= 1 (or Infinity)`);
  }
}

/**
 * The default `sizeOf`. node:v8's own errors quote the value (`() => ... could not be
 * cloned`), and a store error reaches warnings and logs: this one names only its kind.
 * (With a custom serializer the memory core keeps values node:v8 cannot serialize.)
 */
function v8Size(value: unknown): number {
  try {
    return serialize(value).byteLength;
  } catch (error) {
    const kind = error instanceof Error ? error.name : typeof error;
    throw new CachierError(
      'CACHIER_UNMEASURABLE',
      `cachier: MemoryCore could not measure a value for maxSize (node:v8 threw ${kind}); pass a sizeOf option`,
      { cause: error },
    );
  }
}

function tooLargeForMaxSize(maxSize: number): CachierError {
  return new CachierError(
    'CACHIER_ENTRY_TOO_LARGE',
    `cachier: MemoryCore keeps entries up to its maxSize (${maxSize}, as sizeOf measures); this one is larger`,
  );
}

/**
 * Keeps entries in this process's memory (per thread: each worker thread has its own),
 * bounded per cache name with least-recently-used eviction (`lru-cache`). Values are
 * kept by reference, as p-memoize and Python cachier's memory core do: mutating a
 * returned object mutates the cached one. Claims live in this process and die with it.
 *
 * @example
 * const store = new MemoryCore({ maxEntries: 1000 });
 * const lookup = cachier(fetchUser, { backend: store });
 */
export class MemoryCore implements ValueCore {
  readonly kind = 'memory';
  readonly stores = 'values';
  readonly leaseMs = undefined;

  private readonly entries = new Map<string, LRUCache<string, ValueEntry>>();
  private readonly claims = new Map<string, Map<string, symbol>>();
  private readonly maxEntries: number;
  private readonly maxSize: number | undefined;
  private readonly sizeOf: (value: unknown) => number;

  constructor(options: MemoryCoreOptions = {}) {
    checkOptionNames(
      'MemoryCore',
      options,
      ['maxEntries', 'maxSize', 'sizeOf'],
      'new MemoryCore({ maxEntries: 1000 })',
    );
    checkBound(options.maxEntries, 'maxEntries');
    checkBound(options.maxSize, 'maxSize');
    if (options.sizeOf !== undefined && typeof options.sizeOf !== 'function') {
      throw new TypeError('cachier: MemoryCore sizeOf must be a function');
    }
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxSize = options.maxSize === Number.POSITIVE_INFINITY ? undefined : options.maxSize;
    this.sizeOf = options.sizeOf ?? v8Size;
  }

  get(name: string, key: string): ValueEntry | undefined {
    const entry = this.entries.get(name)?.get(key);
    // Made on the first read, on the entry object only this key's current value has.
    if (entry !== undefined) entry.settled ??= Promise.resolve(entry.value);
    return entry;
  }

  async set(name: string, key: string, entry: ValueEntry): Promise<void> {
    let entries = this.entries.get(name);
    if (!entries) {
      const Lru = lruClass ?? (await loadLru());
      // Another store of this name may have made the cache while lru-cache loaded.
      entries = this.entries.get(name);
      if (!entries) {
        entries = this.makeStore(Lru);
        this.entries.set(name, entries);
      }
    }
    entries.set(key, { value: entry.value, calculatedAt: entry.calculatedAt });
    // lru-cache drops an entry larger than maxSize without a word: say so, or the call would
    // report a value as stored that the next call must calculate again.
    if (this.maxSize !== undefined && !entries.has(key)) throw tooLargeForMaxSize(this.maxSize);
  }

  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    let claims = this.claims.get(name);
    if (!claims) {
      claims = new Map();
      this.claims.set(name, claims);
    }
    if (claims.has(key)) return undefined;
    const token = Symbol(key);
    claims.set(key, token);
    return {
      renew: async () => this.claims.get(name)?.get(key) === token,
      release: async () => {
        const current = this.claims.get(name);
        if (current?.get(key) === token) current.delete(key);
      },
    };
  }

  async delete(name: string, key: string): Promise<void> {
    this.entries.get(name)?.delete(key);
  }

  async clear(name: string): Promise<void> {
    this.entries.delete(name);
  }

  async clearClaims(name: string): Promise<void> {
    this.claims.delete(name);
  }

  async deleteStale(name: string, calculatedBefore: number): Promise<void> {
    const entries = this.entries.get(name);
    if (!entries) return;
    for (const [key, entry] of entries.entries()) {
      if (entry.calculatedAt < calculatedBefore) entries.delete(key);
    }
  }

  private makeStore(Lru: LruClass): LRUCache<string, ValueEntry> {
    const max = Number.isFinite(this.maxEntries) ? this.maxEntries : undefined;
    if (this.maxSize !== undefined) {
      return new Lru<string, ValueEntry>({
        ...(max === undefined ? {} : { max }),
        maxSize: this.maxSize,
        sizeCalculation: (entry) => Math.max(1, this.sizeOf(entry.value)),
      });
    }
    if (max !== undefined) return new Lru<string, ValueEntry>({ max });
    // lru-cache needs some bound: an entry count no process reaches stands for none.
    return new Lru<string, ValueEntry>({
      maxSize: Number.MAX_SAFE_INTEGER,
      sizeCalculation: () => 1,
    });
  }
}
