/**
 * The contract between the call algorithm and a storage backend ("core").
 *
 * The algorithm (src/callAlgorithm.ts) holds all policy: staleness, waiting, who
 * calculates. A core only stores entries and coordinates claims. Every core is
 * store-level: one instance can serve many wrapped functions, each addressed by its
 * cache `name`; `key` is always the hex SHA-256 produced by src/keys.ts (or, for cores
 * that set `acceptsRawKeys`, the canonical encoding itself).
 */

/**
 * One cached result and the time it was calculated.
 *
 * @example
 * const entry: Entry<number> = { value: 42, calculatedAt: Date.now() };
 */
export interface Entry<V = unknown> {
  /** The function's result, as returned to callers. */
  value: V;
  /** When the value was calculated, in milliseconds since the Unix epoch. */
  calculatedAt: number;
}

/**
 * A value or a promise of it: cores may answer synchronously on their fast path.
 *
 * @example
 * get(name: string, key: string): MaybePromise<Entry | undefined> { return this.map.get(key); }
 */
export type MaybePromise<T> = T | Promise<T>;

/**
 * A held "being calculated" mark on one key: atomic, owned, and leased.
 * Only the holder may renew or release it.
 *
 * @example
 * const claim = await core.tryClaim('report', key);
 * if (claim) {
 *   try { await core.set('report', key, { value, calculatedAt: Date.now() }, {}); }
 *   finally { await claim.release(); }
 * }
 */
export interface Claim {
  /**
   * Keeps the lease alive. Resolves `false` when the claim was lost meanwhile
   * (cleared by `clearClaims`, or taken over after the lease lapsed).
   */
  renew(): Promise<boolean>;
  /** Drops the mark so that waiters stop waiting. Never throws for a lost claim. */
  release(): Promise<void>;
}

/**
 * What `Core.set` did with an entry.
 *
 * @example
 * if ((await core.set(name, key, entry, { entrySizeLimit: 1024 })) === 'too-large') skip();
 */
export type SetOutcome = 'stored' | 'too-large';

/**
 * Limits the algorithm passes with every write.
 *
 * @example
 * await core.set(name, key, entry, { entrySizeLimit: 10 * 1024 * 1024 });
 */
export interface SetLimits {
  /** Serialized size above which the entry is not stored (bytes). */
  entrySizeLimit?: number | undefined;
}

/**
 * Passed to `Core.waitForChange`.
 *
 * @example
 * await core.waitForChange(name, key, { signal: AbortSignal.timeout(5000), attempt: 0 });
 */
export interface WaitContext {
  /** Aborted when the caller stops waiting (timeout, or the caller is done). */
  signal: AbortSignal;
  /** 0 for the first wait of a call, then 1, 2, ...: lets a core back off its polling. */
  attempt: number;
}

/**
 * A storage backend. Implement this to add a core; pass an instance as `backend`.
 *
 * Errors: methods reject (or throw) on store failures; the algorithm turns every
 * failure into a warning and still returns the function's value. A corrupt entry must
 * be reported by throwing {@link CorruptEntryError} from `get` (it is then treated as a
 * miss and replaced); an entry of an unknown format version is simply a miss.
 *
 * @example
 * class RedisCore implements Core {
 *   readonly kind = 'redis';
 *   readonly crossProcess = true;
 *   // get, set, tryClaim, waitForChange, clear, clearClaims, deleteStale, location ...
 * }
 * const cached = cachier(fn, { name: 'fn', backend: new RedisCore() });
 */
export interface Core {
  /** A short label for messages: 'memory', 'file', 'mongo', ... */
  readonly kind: string;
  /**
   * How often (ms) the algorithm renews a held claim. `undefined` when the core keeps
   * its own claims alive (the file core's lock library does).
   */
  readonly renewIntervalMs?: number | undefined;
  /** Whether claims and entries are seen by other processes (informational, for messages). */
  readonly crossProcess: boolean;
  /**
   * `true` when keys never leave this process, so the algorithm may pass the canonical
   * argument encoding itself instead of its SHA-256 (saves a hash on every hit).
   */
  readonly rawKeys?: boolean | undefined;

  /** Reads an entry; `undefined` when absent or of an unknown format version. */
  get(name: string, key: string): MaybePromise<Entry | undefined>;
  /** Stores an entry (replacing any), atomically: readers see the old or the new entry. */
  set(name: string, key: string, entry: Entry, limits: SetLimits): Promise<SetOutcome>;
  /** Takes the key's claim if no live claim exists; `undefined` when another owner holds it. */
  tryClaim(name: string, key: string): Promise<Claim | undefined>;
  /**
   * Resolves when the key's entry or claim may have changed, when the core's polling
   * interval for `attempt` elapses, or when `signal` aborts: the caller then looks again.
   */
  waitForChange(name: string, key: string, context: WaitContext): Promise<void>;
  /** Deletes every entry of `name`. */
  clear(name: string): Promise<void>;
  /** Drops every claim of `name` (held or stuck). */
  clearClaims(name: string): Promise<void>;
  /** Deletes the entries of `name` calculated before `calculatedBefore` (epoch ms). */
  deleteStale(name: string, calculatedBefore: number): Promise<void>;
  /** Where `name`'s entries live, when that is a folder on this machine. */
  location(name: string): string | undefined;
}
