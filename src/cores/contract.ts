/**
 * The contract between cachier's call algorithm and a storage backend ("core").
 *
 * A core stores opaque entries and coordinates claims; nothing else. Everything a core
 * used to repeat lives once above it: serialization and the size limit, same-process
 * wake-ups after this process's own writes and releases, the polling schedule, claim
 * renewal and loss detection, fail-open error handling, and the clock. Every core is
 * store-level: one instance serves many wrapped functions, each addressed by its cache
 * `name`; `key` is always a 64-character lowercase hex SHA-256.
 *
 * Check a core of your own with the conformance kit: `import { coreConformance } from
 * 'cachier/testing'`.
 */

/**
 * A value or a promise of it: a core may answer `get` synchronously on its fast path
 * (a hit then costs no extra turn of the event loop).
 *
 * @example
 * get(name: string, key: string): MaybePromise<StoredEntry | undefined> { return this.map.get(key); }
 */
export type MaybePromise<T> = T | Promise<T>;

/**
 * One entry as a byte-storing core keeps it: the serialized value and its calculation time.
 *
 * @example
 * await core.set('report', key, { bytes: new Uint8Array([1, 2, 3]), calculatedAt: Date.now() });
 */
export interface StoredEntry {
  /** The serialized value. Opaque to the core: store and return exactly these bytes. */
  bytes: Uint8Array;
  /** When the value was calculated, in milliseconds since the Unix epoch (cachier's clock). */
  calculatedAt: number;
}

/**
 * One entry as a value-keeping core (`stores: 'values'`) keeps it: the value itself.
 *
 * @example
 * const entry: ValueEntry = { value: { total: 3 }, calculatedAt: Date.now() };
 */
export interface ValueEntry {
  /** The function's result, by reference. */
  value: unknown;
  /** When the value was calculated, in milliseconds since the Unix epoch (cachier's clock). */
  calculatedAt: number;
  /**
   * Optional: a promise already resolved to `value`, which a hit returns as it is instead
   * of making a new one (making and awaiting a fresh promise is most of a memory hit).
   * A core that offers it must never let one entry object stand for another value: it
   * makes a new entry object whenever a key's value changes, as MemoryCore does.
   */
  settled?: Promise<unknown>;
}

/**
 * A held "being calculated" mark on one key: atomic (one winner among concurrent
 * claimers, in every process and on every machine), owned, and leased. Only its holder
 * renews or releases it. cachier renews a held claim every `leaseMs / 4` while the
 * function runs and reports a lost claim as a `claim-lost` event.
 *
 * @example
 * const claim = await core.tryClaim('report', key);
 * if (claim) {
 *   try { await core.set('report', key, entry); }
 *   finally { await claim.release(); }
 * }
 */
export interface Claim {
  /**
   * Extends the lease to `leaseMs` from now. Resolves `false` when the claim was lost
   * meanwhile (dropped by `clearClaims`, or taken over after its lease lapsed).
   */
  renew(): Promise<boolean>;
  /** Drops the claim if it is still this holder's, so waiters stop waiting. Never throws for a lost claim. */
  release(): Promise<void>;
  /**
   * Optional, for byte-storing cores: stores `entry` for the claimed key only while this
   * claim is still held, in one step where the store allows it (a script, one statement),
   * and resolves `false`, writing nothing, when it was lost (dropped by `clearClaims`,
   * which `clearCache()` calls, or taken over). cachier stores an owner's value through
   * it, so a calculation begun before a clear in another process never lands after the
   * clear. Without it the owner's value is stored with `set` whatever happened meanwhile.
   *
   * @example
   * store: async (entry) => (await this.stillOwned(key, owner)) && (await this.set(name, key, entry), true),
   */
  store?(entry: StoredEntry): Promise<boolean>;
}

/** What every core offers, whatever it stores. */
export interface CoreBase {
  /** A short label for messages and metrics: 'memory', 'file', 'mongo', 'redis', ... */
  readonly kind: string;
  /**
   * How long a claim lives without renewal (ms); a dead owner's claim is taken over
   * after it. `undefined` when claims cannot outlive their owner (the memory core's die
   * with the process), so they are never renewed.
   */
  readonly leaseMs?: number | undefined;
  /** Takes the key's claim if no live claim exists; `undefined` when another owner holds it. */
  tryClaim(name: string, key: string): Promise<Claim | undefined>;
  /** Deletes one entry (absent is fine). A claim on the key is left to its owner. */
  delete(name: string, key: string): Promise<void>;
  /** Deletes every entry of `name`. Claims are left to their owners. */
  clear(name: string): Promise<void>;
  /** Drops every claim of `name`, held or stuck. */
  clearClaims(name: string): Promise<void>;
  /** Deletes the entries of `name` calculated before `calculatedBefore` (epoch ms). */
  deleteStale(name: string, calculatedBefore: number): Promise<void>;
  /**
   * Optional push signal for changes made by other processes or machines (`fs.watch`,
   * pub/sub, `LISTEN/NOTIFY`, change streams): calls `onChange` when the key's entry or
   * claim may have changed. Returns the unsubscribe. Spurious calls are fine; missed
   * ones only cost a poll. Changes made through this process are signalled by cachier
   * itself, and a core without this method is polled. Must not keep the process alive.
   */
  subscribe?(name: string, key: string, onChange: () => void): () => void;
  /** Where `name`'s entries live, when that is a folder on this machine. */
  location?(name: string): string | undefined;
  /** Optional, for tools such as the `cachier` CLI: every cache name this store holds. */
  names?(): Promise<string[]>;
  /** Optional, for tools: every entry of `name`, described without reading its value. */
  list?(name: string): AsyncIterable<EntryInfo>;
}

/**
 * An entry as listed by {@link CoreBase.list}, without its value.
 *
 * @example
 * for await (const info of core.list('report')) console.log(info.key, info.size);
 */
export interface EntryInfo {
  /** The entry's key (hex SHA-256). */
  key: string;
  /** When its value was calculated (epoch ms). */
  calculatedAt: number;
  /** Stored size in bytes, as far as the core knows it. */
  size: number;
}

/**
 * A storage backend that keeps serialized entries: implement this to add a core, and pass
 * an instance as `backend`. Methods reject on store failures; cachier turns each failure
 * into one warning and still returns the function's value. A damaged entry is reported by
 * throwing {@link CorruptEntryError} from `get` (a miss, then replaced); an entry this core
 * cannot read because a later release wrote it is simply `undefined`. An operation that
 * only timed out (the store is slow, not gone) should reject with an error whose `code`
 * ends in `_TIMEOUT` (e.g. `CACHIER_MONGODB_TIMEOUT`): a caller waiting on another
 * owner's claim then keeps waiting instead of calculating too.
 *
 * @example
 * class MapCore implements Core {
 *   readonly kind = 'map';
 *   readonly leaseMs = 10_000;
 *   private readonly entries = new Map<string, StoredEntry>();
 *   get(name: string, key: string) { return this.entries.get(`${name}/${key}`); }
 *   async set(name: string, key: string, entry: StoredEntry) { this.entries.set(`${name}/${key}`, entry); }
 *   // tryClaim, delete, clear, clearClaims, deleteStale ...
 * }
 * const cached = cachier(fn, { backend: new MapCore() });
 */
export interface Core extends CoreBase {
  /** What `get` and `set` carry: serialized bytes (the default when left out). */
  readonly stores?: 'bytes';
  /** Reads an entry; `undefined` when absent. */
  get(name: string, key: string): MaybePromise<StoredEntry | undefined>;
  /** Stores an entry, replacing any, atomically: readers see the old or the new entry, never a mix. */
  set(name: string, key: string, entry: StoredEntry): Promise<void>;
}

/**
 * A core that keeps values by reference in this process (the memory core): cachier
 * skips serialization for it but applies the same rules about what may be stored, so
 * every core returns the same values.
 *
 * @example
 * class WeakishCore implements ValueCore {
 *   readonly kind = 'weakish';
 *   readonly stores = 'values';
 *   // get, set with ValueEntry; tryClaim, delete, clear, clearClaims, deleteStale ...
 * }
 */
export interface ValueCore extends CoreBase {
  /** What `get` and `set` carry: values by reference. */
  readonly stores: 'values';
  /** Reads an entry; `undefined` when absent. */
  get(name: string, key: string): MaybePromise<ValueEntry | undefined>;
  /** Stores an entry, replacing any. */
  set(name: string, key: string, entry: ValueEntry): Promise<void>;
}

/**
 * Any core cachier can use.
 *
 * @example
 * const backend: AnyCore = useMemory ? new MemoryCore() : new FileCore();
 */
export type AnyCore = Core | ValueCore;
