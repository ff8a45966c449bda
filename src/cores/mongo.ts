import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
// Types only: erased at build time, so importing cachier never loads the optional driver.
import type { Collection, Document } from 'mongodb';
import { CachierError, CorruptEntryError } from '../errors.js';
import { MAX_TIMER_MS } from '../timeLimits.js';
import { Breaker, breakerPauseMs } from './breaker.js';
import type { Claim, Core, EntryInfo, StoredEntry } from './contract.js';
import { checkOptionNames, checkTimings } from './coreOptions.js';
import { describeError } from './lazySource.js';
import { changeStreamHubOf } from './mongoChangeStream.js';
import type { MongoCollectionLike, MongoGetter } from './mongoCollection.js';

/**
 * Options of {@link MongoCore}.
 *
 * @example
 * const core = new MongoCore({
 *   mongetter: () => client.db('app').collection('cachier'),
 *   leaseMs: 30_000,
 * });
 */
export interface MongoCoreOptions {
  /**
   * Returns the `mongodb` driver Collection that holds the cache. Called before the first
   * operation and again after a failure, never at construction.
   * @example () => client.db('app').collection('cachier')
   */
  mongetter: MongoGetter;
  /**
   * How long a claim ("being calculated" mark) lives without renewal, measured on the
   * database server's clock. The owner renews it every `leaseMs / 4` while the function
   * runs; a crashed owner's claim is taken over once it lapses. At least 200.
   * @default 10_000
   * @example new MongoCore({ mongetter, leaseMs: 30_000 })
   */
  leaseMs?: number;
  /**
   * Upper bound on every database operation (including the mongetter), so a database that
   * is slow or never answers cannot hold a call: the operation fails, a warning is emitted,
   * and the call returns the function's value. The driver is told too (`maxTimeMS`, and an
   * AbortSignal that makes it close the connection of an abandoned operation). A slow
   * operation does not make the core skip the database; a connection failure (server
   * selection, network, mongetter) does, for `max(1000, operationTimeoutMs)` ms, after
   * which one operation probes while the others keep failing fast.
   * @default 5_000
   * @example new MongoCore({ mongetter, operationTimeoutMs: 2_000 })
   */
  operationTimeoutMs?: number;
}

/** The document shape's version, stored in every entry; other versions read as misses. */
const DOCUMENT_FORMAT_VERSION = 1;
const DEFAULT_LEASE_MS = 10_000;
const DEFAULT_OPERATION_TIMEOUT_MS = 5_000;
const MIN_LEASE_MS = 200;
const OPTION_NAMES = ['mongetter', 'leaseMs', 'operationTimeoutMs'];
/** BSON documents are limited to 16 MiB; leave room for the other fields. */
const MAX_VALUE_BYTES = 16 * 1024 * 1024 - 16 * 1024;
const DUPLICATE_KEY = 11000;
/** The fields of a stored value; a document without them holds at most a claim. */
const VALUE_FIELDS = { value: '', calculatedAt: '', formatVersion: '' } as const;
/** A document with neither a value nor a claim: nothing to keep. */
const EMPTY_DOCUMENT = { value: { $exists: false }, claim: { $exists: false } } as const;
/** A claim's live expiry, judged on the server's clock (`$$NOW`). */
const LIVE_CLAIM = {
  $and: [
    { $eq: [{ $type: '$claim.expiresAt' }, 'date'] },
    { $gt: ['$claim.expiresAt', '$$NOW'] },
    { $lte: ['$claim.expiresAt', { $add: ['$$NOW', MAX_TIMER_MS] }] },
  ],
} as const;
const AUTHENTICATION_FAILED = 18;
/**
 * Driver errors that mean "the database cannot be reached now". A socket timeout
 * (MongoNetworkTimeoutError) is left out on purpose: it means slow, not gone.
 */
const CONNECTION_ERRORS = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
]);

/** Options every operation passes to the driver. */
interface OperationOptions {
  maxTimeMS: number;
  signal: AbortSignal;
}

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

const CONNECTION_CODES = new Set(['CACHIER_MONGETTER_FAILED', 'CACHIER_MONGODB_MISSING']);

/** True for failures that say the database cannot be reached (or used) now, not that it is slow. */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof CachierError) return CONNECTION_CODES.has(error.code);
  const name = (error as Error | undefined)?.name ?? '';
  return CONNECTION_ERRORS.has(name) || errorCode(error) === AUTHENTICATION_FAILED;
}

/** cachier's unique index, on which a claim's upsert collides with a held claim. */
const INDEX_NAME = 'name_1_key_1';

/**
 * True for a duplicate-key error on cachier's `{ name: 1, key: 1 }` index, told by the
 * error's `keyPattern` (MongoDB 4.4+) or else by the index name in its message.
 */
function isCollisionOnCachierIndex(error: unknown): boolean {
  if (errorCode(error) !== DUPLICATE_KEY) return false;
  const { keyPattern, message } = error as { keyPattern?: unknown; message?: unknown };
  if (typeof keyPattern === 'object' && keyPattern !== null) {
    return Object.keys(keyPattern).join() === 'name,key';
  }
  return typeof message === 'string' && message.includes(`index: ${INDEX_NAME} `);
}

/** One cache entry as stored. `value` and `claim` may each be absent. */
interface CacheDocument {
  name: string;
  key: string;
  value?: Uint8Array;
  calculatedAt?: Date;
  formatVersion?: number;
  claim?: { owner: string; expiresAt: Date };
}

type CacheCollection = Collection<CacheDocument>;

let driver: Promise<unknown> | undefined;

/**
 * Loads the optional `mongodb` package once, when the first MongoDB core is made. The core
 * works through the user's Collection and needs nothing from the module itself; loading it
 * here turns a missing install into one clear message.
 */
function loadDriver(): Promise<unknown> {
  driver ??= import('mongodb').catch((error: unknown) => {
    driver = undefined;
    throw new CachierError(
      'CACHIER_MONGODB_MISSING',
      "cachier's MongoDB core needs the optional 'mongodb' package: npm install mongodb",
      { cause: error },
    );
  });
  return driver;
}

/** An index build under way or done, and how to abandon it (it closes its connection). */
interface IndexBuild {
  done: Promise<void>;
  abandon(reason: Error): void;
}

/** Index builds per Collection object: one per collection, retried after a failure. */
const indexBuilds = new WeakMap<object, IndexBuild>();

/** Getting the collection ready: the step it is at, so that a deadline can say what hung. */
interface CollectionAttempt {
  ready: Promise<CacheCollection>;
  step: 'mongetter' | 'index build';
  collection?: CacheCollection;
  build?: IndexBuild;
}

function isCollection(value: unknown): value is CacheCollection {
  const candidate = value as Partial<Record<string, unknown>> | null | undefined;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.findOne === 'function' &&
    typeof candidate.findOneAndUpdate === 'function' &&
    typeof candidate.updateOne === 'function' &&
    typeof candidate.createIndex === 'function'
  );
}

/** The stored payload bytes: a BSON Binary, or a Buffer when the client sets `promoteBuffers`. */
function payloadOf(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  const binary = value as { _bsontype?: unknown; buffer?: unknown; position?: unknown } | null;
  if (binary?._bsontype === 'Binary' && binary.buffer instanceof Uint8Array) {
    const length = typeof binary.position === 'number' ? binary.position : binary.buffer.length;
    return binary.buffer.subarray(0, length);
  }
  return undefined;
}

let machine: string | undefined;

/** Unique per claim; host and pid make a stuck claim traceable in the database. */
function newOwnerId(): string {
  machine ??= `${hostname()}:${process.pid}`;
  return `${machine}:${randomUUID()}`;
}

/** The `$set` that stores an entry; throws for a value larger than a document can hold. */
function entryUpdate(entry: StoredEntry) {
  const { bytes } = entry;
  if (bytes.byteLength > MAX_VALUE_BYTES) {
    throw new CachierError(
      'CACHIER_ENTRY_TOO_LARGE',
      `a ${bytes.byteLength}-byte entry does not fit in a MongoDB document (16 MiB); set entrySizeLimit to skip such results quietly`,
    );
  }
  // A Buffer is written as BSON Binary (subtype 0) by whichever driver copy owns the
  // collection; a Binary made from cachier's own copy could be refused by another one.
  return {
    $set: {
      value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      calculatedAt: new Date(entry.calculatedAt),
      formatVersion: DOCUMENT_FORMAT_VERSION,
    },
  };
}

/**
 * Stores one document per entry in a MongoDB collection, so that processes on many
 * machines share entries and calculate each key once:
 * `{ name, key, value: Binary, calculatedAt: Date, formatVersion: 1, claim?: { owner, expiresAt } }`
 * with a unique index on `{ name: 1, key: 1 }`. A claim is one atomic `findOneAndUpdate`
 * that succeeds only when no live claim exists; lease expiry is computed and compared on
 * the database server's clock (`$$NOW`), so client clock skew never decides who owns a key.
 * Waiters learn of other processes' changes from one change stream per collection where
 * the server offers them (a replica set or sharded cluster), and by polling everywhere
 * (a standalone server has no change streams). Needs the optional `mongodb` package.
 *
 * @example
 * import { MongoClient } from 'mongodb';
 * import { cachier, MongoCore } from 'cachier';
 *
 * const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 });
 * const store = new MongoCore({ mongetter: () => client.db('app').collection('cachier') });
 * const report = cachier(fetchReport, { backend: store });
 */
export class MongoCore implements Core {
  readonly kind = 'mongo';
  /** How long a claim lives without renewal (ms), on the database server's clock. */
  readonly leaseMs: number;
  private readonly mongetter: MongoGetter;
  private readonly timeoutMs: number;
  private readonly driverReady: Promise<unknown>;
  private attempt: CollectionAttempt | undefined;
  /** Opens on connection failures only: a slow operation proves the database reachable. */
  private readonly breaker: Breaker;

  constructor(options: MongoCoreOptions) {
    checkOptionNames(
      'MongoCore',
      options,
      OPTION_NAMES,
      'new MongoCore({ mongetter: () => collection })',
    );
    const {
      mongetter,
      leaseMs = DEFAULT_LEASE_MS,
      operationTimeoutMs = DEFAULT_OPERATION_TIMEOUT_MS,
    } = options;
    if (typeof mongetter !== 'function') {
      throw new TypeError(
        'cachier: MongoCore needs a mongetter option: () => Collection (from the mongodb driver)',
      );
    }
    checkTimings('MongoCore', leaseMs, MIN_LEASE_MS, operationTimeoutMs);
    this.mongetter = mongetter;
    this.leaseMs = leaseMs;
    this.timeoutMs = operationTimeoutMs;
    this.breaker = new Breaker({
      opensOn: isConnectionFailure,
      pauseMs: breakerPauseMs(operationTimeoutMs),
      skipped: (what, openedBy) =>
        new CachierError(
          'CACHIER_MONGODB_UNAVAILABLE',
          `skipped ${what}: MongoDB was unreachable moments ago (${describeError(openedBy)})`,
          { cause: openedBy },
        ),
      // Ask the mongetter again on the next attempt: it may reconnect.
      onOpen: () => {
        this.attempt = undefined;
      },
    });
    this.driverReady = loadDriver();
    // Reported when an operation awaits it; until then it must not be an unhandled rejection.
    this.driverReady.catch(() => undefined);
  }

  async get(name: string, key: string): Promise<StoredEntry | undefined> {
    const doc = await this.run('a read', (c, o) =>
      c.findOne(
        { name, key },
        {
          projection: { _id: 0, value: 1, calculatedAt: 1, formatVersion: 1 },
          ...o,
        },
      ),
    );
    // A document that only carries a claim has no value yet.
    if (!doc || doc.value === undefined) return undefined;
    if (Number(doc.formatVersion) !== DOCUMENT_FORMAT_VERSION) return undefined;
    const payload = payloadOf(doc.value);
    const calculatedAt = doc.calculatedAt instanceof Date ? doc.calculatedAt.getTime() : Number.NaN;
    if (!payload || !Number.isFinite(calculatedAt)) {
      throw new CorruptEntryError('cachier found a damaged MongoDB cache document');
    }
    // A copy: the driver's Binary may be a view into its reply buffer.
    return { bytes: new Uint8Array(payload), calculatedAt };
  }

  async set(name: string, key: string, entry: StoredEntry): Promise<void> {
    const update = entryUpdate(entry);
    // `$set` keeps any claim on the document: the owner releases it after storing.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.run('a write', (c, o) =>
          c.updateOne({ name, key }, update, { upsert: true, ...o }),
        );
        return;
      } catch (error) {
        // Two upserts of a new key raced: the loser's retry updates the winner's document.
        if (attempt > 0 || errorCode(error) !== DUPLICATE_KEY) throw error;
      }
    }
  }

  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    const owner = newOwnerId();
    const doc: Document | null = await this.run('a claim', (c, o) =>
      c
        .findOneAndUpdate(
          {
            name,
            key,
            // Free unless a claim as a MongoCore writes it holds: an expiry that is a date,
            // later than now by the server's clock, and within the longest lease a MongoCore
            // writes. Anything else (no claim; an expiry missing, null, of another BSON type or
            // too far ahead; a claim that is not a document) was not written by a live owner,
            // nobody renews it, and it must not hold every caller forever. The type is tested,
            // not left to BSON's cross-type order.
            $expr: { $not: [LIVE_CLAIM] },
          },
          // A pipeline update, so that the expiry is computed on the server's clock too. The
          // old claim is dropped first: `$set` would merge into an array in its place.
          [
            { $unset: 'claim' },
            {
              $set: {
                claim: {
                  owner: { $literal: owner },
                  expiresAt: { $add: ['$$NOW', this.leaseMs] },
                },
              },
            },
          ],
          {
            upsert: true,
            returnDocument: 'after',
            projection: { _id: 0, claim: 1 },
            ...o,
          },
        )
        .catch((error: unknown) => {
          // A live claim made the filter miss, so the upsert collided with the existing
          // document on cachier's index. Only that E11000 says so: a failed index build
          // (foreign documents colliding on it), or a collision on another program's unique
          // index, is E11000 too, and is a failure, not a claim that anyone will release.
          if (isCollisionOnCachierIndex(error)) return null;
          throw error;
        }),
    );
    if ((doc?.claim as { owner?: unknown } | undefined)?.owner !== owner) return undefined;
    return {
      renew: () => this.renew(name, key, owner),
      store: (entry) => this.setIfClaimed(name, key, entry, owner),
      release: () => this.release(name, key, owner),
    };
  }

  async delete(name: string, key: string): Promise<void> {
    // As in clear: strip the value, so that a running owner keeps its claim.
    await this.run('a delete', (c, o) => c.updateOne({ name, key }, { $unset: VALUE_FIELDS }, o));
    await this.run('a delete', (c, o) => c.deleteOne({ name, key, ...EMPTY_DOCUMENT }, o));
  }

  async clear(name: string): Promise<void> {
    // Strip values rather than delete documents, so that running owners keep their claims
    // (deleting them would let a second caller calculate the same key).
    await this.run('a clear', (c, o) => c.updateMany({ name }, { $unset: VALUE_FIELDS }, o));
    await this.dropEmptyDocuments(name);
  }

  async clearClaims(name: string): Promise<void> {
    await this.run('a claim clear', (c, o) =>
      c.updateMany({ name, claim: { $exists: true } }, { $unset: { claim: '' } }, o),
    );
    await this.dropEmptyDocuments(name);
  }

  async deleteStale(name: string, calculatedBefore: number): Promise<void> {
    await this.run('a stale-entry cleanup', (c, o) =>
      c.updateMany(
        { name, calculatedAt: { $lt: new Date(calculatedBefore) } },
        { $unset: VALUE_FIELDS },
        o,
      ),
    );
    await this.dropEmptyDocuments(name);
  }

  /**
   * Wakes a waiter when another process may have changed the entry, through the
   * collection's shared change stream (see mongoChangeStream.ts). Fails open: without a
   * collection, or on a server without change streams, the waiter only polls.
   */
  subscribe(name: string, key: string, onChange: () => void): () => void {
    let unsubscribe: (() => void) | undefined;
    let cancelled = false;
    // Resolved already once the waiter has read the entry; a failure leaves the poll.
    this.collection()
      .ready.then((collection) => {
        if (!cancelled)
          unsubscribe = changeStreamHubOf(collection).add(collection, name, key, onChange);
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
      unsubscribe?.();
    };
  }

  async names(): Promise<string[]> {
    const names = await this.run('a listing', (c, o) => c.distinct('name', {}, o));
    return names.filter((name): name is string => typeof name === 'string').sort();
  }

  /**
   * Lists `name`'s entries; the server measures each value (`$binarySize`), so none is read.
   * Only binary values are listed: `$binarySize` fails the whole listing on a number or an
   * object (another program's or a damaged document), and a read treats them as damaged.
   */
  async *list(name: string): AsyncIterable<EntryInfo> {
    const docs = await this.run('a listing', (c, o) =>
      c
        .find(
          { name, value: { $type: 'binData' }, formatVersion: DOCUMENT_FORMAT_VERSION },
          {
            projection: { _id: 0, key: 1, calculatedAt: 1, size: { $binarySize: '$value' } },
            ...o,
          },
        )
        .toArray(),
    );
    for (const doc of docs) {
      const info = doc as Document;
      if (typeof info.key !== 'string' || !(info.calculatedAt instanceof Date)) continue;
      yield {
        key: info.key,
        calculatedAt: info.calculatedAt.getTime(),
        size: typeof info.size === 'number' ? info.size : 0,
      };
    }
  }

  /** The owner's write (Claim.store): one update, of the document only while `owner` claims it. */
  private async setIfClaimed(
    name: string,
    key: string,
    entry: StoredEntry,
    owner: string,
  ): Promise<boolean> {
    const update = entryUpdate(entry);
    const result = await this.run('a write', (c, o) =>
      c.updateOne({ name, key, 'claim.owner': owner }, update, o),
    );
    return result.matchedCount > 0;
  }

  private async renew(name: string, key: string, owner: string): Promise<boolean> {
    const result = await this.run('a lease renewal', (c, o) =>
      c.updateOne(
        { name, key, 'claim.owner': owner },
        [{ $set: { 'claim.expiresAt': { $add: ['$$NOW', this.leaseMs] } } }],
        o,
      ),
    );
    return result.matchedCount > 0;
  }

  private async release(name: string, key: string, owner: string): Promise<void> {
    const doc = await this.run('a claim release', (c, o) =>
      c.findOneAndUpdate(
        { name, key, 'claim.owner': owner },
        { $unset: { claim: '' } },
        {
          returnDocument: 'after',
          projection: { _id: 0, calculatedAt: 1 },
          ...o,
        },
      ),
    );
    if (!doc) return; // lost meanwhile (cleared or taken over): nothing of ours to drop
    if (doc.calculatedAt === undefined) {
      // Released without a value (the function failed): drop the empty document.
      await this.run('a claim release', (c, o) => c.deleteOne({ name, key, ...EMPTY_DOCUMENT }, o));
    }
  }

  /** Deletes documents of `name` left with neither a value nor a claim. */
  private async dropEmptyDocuments(name: string): Promise<void> {
    await this.run('a cleanup', (c, o) => c.deleteMany({ name, ...EMPTY_DOCUMENT }, o));
  }

  /**
   * Runs one database operation within `operationTimeoutMs` (mongetter and index build
   * included). The driver gets the deadline too, as an AbortSignal (its per-operation
   * cancellation; `timeoutMS` is a no-op in driver 7), so it closes the connection of an
   * operation cachier gave up on instead of leaving it busy, and sends `maxTimeMS` so the
   * server stops working on it.
   *
   * A breaker spares callers a database that cannot be reached: a connection-level failure
   * (server selection, network, mongetter) makes operations fail at once for
   * `max(1000, operationTimeoutMs)` ms; then one operation probes while the others still
   * fail fast, and its outcome closes or reopens the breaker. A slow operation (a timeout)
   * or a server error proves the database reachable, so it never opens the breaker:
   * waiters keep polling a live claim instead of calculating the key themselves.
   */
  private run<T>(
    what: string,
    operation: (collection: CacheCollection, options: OperationOptions) => Promise<T>,
  ): Promise<T> {
    return this.breaker.run(what, () => this.runWithin(what, operation));
  }

  private async runWithin<T>(
    what: string,
    operation: (collection: CacheCollection, options: OperationOptions) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    const attempt = this.collection();
    let collected = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = collected
          ? new CachierError(
              'CACHIER_MONGODB_TIMEOUT',
              `MongoDB did not complete ${what} within ${this.timeoutMs} ms (MongoCore operationTimeoutMs)`,
            )
          : this.giveUp(attempt);
        controller.abort(error);
        reject(error);
      }, this.timeoutMs);
    });
    const options: OperationOptions = { maxTimeMS: this.timeoutMs, signal: controller.signal };
    try {
      return await Promise.race([
        attempt.ready.then((collection) => {
          collected = true;
          return operation(collection, options);
        }),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The collection, with its unique index ensured; a failure is not cached. */
  private collection(): CollectionAttempt {
    if (!this.attempt) {
      const steps: Omit<CollectionAttempt, 'ready'> = { step: 'mongetter' };
      const attempt: CollectionAttempt = Object.assign(steps, {
        ready: this.resolveCollection(steps),
      });
      this.attempt = attempt;
      attempt.ready.catch(() => {
        if (this.attempt === attempt) this.attempt = undefined;
      });
    }
    return this.attempt;
  }

  /**
   * The collection did not come within an operation's deadline: the mongetter or the index
   * build may never answer (a connect that hangs, a reply lost with its connection), so the
   * attempt is forgotten and the next operation starts anew. A mongetter that hangs is a
   * connection failure (the breaker opens); an index build that hangs is a slow server.
   */
  private giveUp(attempt: CollectionAttempt): CachierError {
    if (this.attempt === attempt) this.attempt = undefined;
    if (attempt.step === 'mongetter') {
      return new CachierError(
        'CACHIER_MONGETTER_FAILED',
        `the mongetter did not return a Collection within ${this.timeoutMs} ms (MongoCore operationTimeoutMs)`,
      );
    }
    const error = new CachierError(
      'CACHIER_MONGODB_TIMEOUT',
      `MongoDB did not build cachier's index within ${this.timeoutMs} ms (MongoCore operationTimeoutMs)`,
    );
    const { collection, build } = attempt;
    if (collection && build && indexBuilds.get(collection) === build) {
      indexBuilds.delete(collection);
      build.abandon(error);
    }
    return error;
  }

  private async resolveCollection(
    attempt: Omit<CollectionAttempt, 'ready'>,
  ): Promise<CacheCollection> {
    await this.driverReady;
    let collection: MongoCollectionLike;
    try {
      collection = await this.mongetter();
    } catch (error) {
      throw new CachierError(
        'CACHIER_MONGETTER_FAILED',
        `the mongetter failed: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    if (!isCollection(collection)) {
      throw new CachierError(
        'CACHIER_MONGETTER_FAILED',
        'the mongetter must return a mongodb driver Collection (e.g. client.db(name).collection(name))',
      );
    }
    attempt.step = 'index build';
    attempt.collection = collection;
    attempt.build = this.ensureIndex(collection);
    await attempt.build.done;
    return collection;
  }

  /**
   * The unique index on `{ name, key }` makes claims exclusive (two racing upserts of one
   * key cannot both insert) and serves every query of this core (`name` alone is a prefix).
   * Creating an existing identical index is a no-op on the server.
   */
  private ensureIndex(collection: CacheCollection): IndexBuild {
    const existing = indexBuilds.get(collection);
    if (existing) return existing;
    const controller = new AbortController();
    // The driver takes an AbortSignal on every operation (its typings list it on few).
    const options = { unique: true, maxTimeMS: this.timeoutMs, signal: controller.signal };
    const build: IndexBuild = {
      done: collection.createIndex({ name: 1, key: 1 }, options).then(() => undefined),
      abandon: (reason) => controller.abort(reason),
    };
    indexBuilds.set(collection, build);
    build.done.catch(() => {
      if (indexBuilds.get(collection) === build) indexBuilds.delete(collection);
    });
    return build;
  }
}
