import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { CachierError, CorruptEntryError } from '../errors.js';
import { withDeadline } from '../timeLimits.js';
import { Breaker, breakerPauseMs } from './breaker.js';
import type { Claim, Core, EntryInfo, StoredEntry } from './contract.js';
import { checkOptionNames, checkTimings } from './coreOptions.js';
import { describeError, LazySource } from './lazySource.js';
import type { RedisClientLike, RedisClientSource, RedisCommandOptionsLike } from './redisClient.js';
import { ALL_KEYS, hubOf } from './redisSubscriptions.js';

/**
 * Options of {@link RedisCore}.
 *
 * @example
 * const client = await createClient({ url: 'redis://127.0.0.1:6379' }).connect();
 * const store = new RedisCore({ client, prefix: 'myapp:cache:', leaseMs: 30_000 });
 */
export interface RedisCoreOptions {
  /**
   * A connected node-redis 5 client (`await createClient(...).connect()`), or a function
   * returning one or a promise of one. cachier never connects, closes or configures it.
   * @example new RedisCore({ client: await createClient({ url }).connect() })
   */
  client: RedisClientSource;
  /**
   * Starts every key (and pub/sub channel) the core writes. Must end with `:`, so that
   * the keys of two prefixes never overlap.
   * @default 'cachier:'
   * @example new RedisCore({ client, prefix: 'billing:cache:' })
   */
  prefix?: string;
  /**
   * How long a claim ("being calculated" mark) lives without renewal, measured by the
   * Redis server (`PX`), so client clock skew does not matter. cachier renews a held claim
   * every `leaseMs / 4`; a crashed owner's claim is taken over once it lapses. At least 200.
   * @default 10_000
   * @example new RedisCore({ client, leaseMs: 30_000 })
   */
  leaseMs?: number;
  /**
   * Upper bound on every Redis operation, so a server that is down or never answers
   * cannot hold a call: the operation rejects (cachier warns and returns the function's
   * value). A command still queued when it expires is dropped, never sent later. After a
   * timeout or a lost connection, the core skips Redis for `max(1000, operationTimeoutMs)`
   * ms, so the rest of a call does not wait again; then one operation probes while the
   * others keep failing fast.
   * @default 5_000
   * @example new RedisCore({ client, operationTimeoutMs: 1_000 })
   */
  operationTimeoutMs?: number;
  /**
   * Optional native expiry: every stored entry gets `PEXPIRE entryTtlMs`, so Redis drops
   * it by itself (no `deleteStale` run needed). The core does not know a wrapper's
   * `staleAfter`: choose at least your longest `staleAfter` (plus the time you want stale
   * values served with `nextTime`), or pass a function of the cache name; `undefined`
   * from it stores that name's entries without expiry.
   * @default undefined (entries never expire)
   * @example new RedisCore({ client, entryTtlMs: 24 * 3600_000 })
   * @example new RedisCore({ client, entryTtlMs: (name) => (name === 'rates' ? 60_000 : undefined) })
   */
  entryTtlMs?: number | ((name: string) => number | undefined);
}

/** The stored layout's version (field `f`); entries of other versions read as misses. */
const ENTRY_FORMAT_VERSION = '1';
const DEFAULT_PREFIX = 'cachier:';
const DEFAULT_LEASE_MS = 10_000;
const DEFAULT_OPERATION_TIMEOUT_MS = 5_000;
const MIN_LEASE_MS = 200;
const OPTION_NAMES = ['client', 'prefix', 'leaseMs', 'operationTimeoutMs', 'entryTtlMs'];
const SCAN_COUNT = '1000';
/** node-redis 5 `RESP_TYPES.BLOB_STRING` ('$'): mapped to Buffer, so values come back as exact bytes. */
const BLOB_STRING = 36;
const KEY_PATTERN = /^[0-9a-f]{64}$/;
const HEX_GLOB = '[0-9a-f]'.repeat(64);

/** Entry: a HASH `{ v: bytes, t: calculatedAt (decimal ms), f: format version }`, replaced whole. */
const SET_ENTRY = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 't', ARGV[2], 'f', ARGV[3])
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1`;
/**
 * SET_ENTRY for a claim's owner (ARGV[7]): written while the claim (KEYS[2]) is the
 * owner's, or gone with its lease while nobody took it (a function that blocked the event
 * loop past its lease) and no clearClaims ran since the claim was won: the name's clear
 * generation (KEYS[3]) is still ARGV[8]. A claim taken over or cleared writes nothing.
 */
const SET_ENTRY_IF_CLAIMED = `
local holder = redis.call('GET', KEYS[2])
if holder ~= ARGV[7] then
  if holder or (redis.call('GET', KEYS[3]) or '0') ~= ARGV[8] then return 0 end
end
${SET_ENTRY.trim()}`;
/**
 * `SET NX PX`; a key in the claim's place that has no expiry (a string without a TTL, a
 * list, a hash: never a claim cachier wrote, as every claim is set with its lease) would
 * never lapse and would hold every caller waiting for ever, so it is taken over at once.
 */
const TRY_CLAIM = `
local won = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
if not won and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  won = true
end
if not won then return 0 end
return 'won:' .. (redis.call('GET', KEYS[2]) or '0')`;
const RENEW_CLAIM = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE_CLAIM = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0`;
const DELETE_ENTRY = `
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1`;
/** Each key is checked and deleted inside one script, so a fresh value stored meanwhile survives. */
const DELETE_STALE = `
local deleted = 0
local before = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local ok, t = pcall(redis.call, 'HGET', key, 't')
  t = ok and tonumber(t)
  if t and t < before then
    redis.call('DEL', key)
    deleted = deleted + 1
  end
end
return deleted`;

interface Script {
  source: string;
  sha: string;
}
const script = (source: string): Script => ({
  source,
  sha: createHash('sha1').update(source).digest('hex'),
});
const SCRIPTS = {
  setEntry: script(SET_ENTRY),
  setEntryIfClaimed: script(SET_ENTRY_IF_CLAIMED),
  tryClaim: script(TRY_CLAIM),
  renewClaim: script(RENEW_CLAIM),
  releaseClaim: script(RELEASE_CLAIM),
  deleteEntry: script(DELETE_ENTRY),
  deleteStale: script(DELETE_STALE),
};

/** node-redis errors that mean "Redis cannot be reached now", not "this request is bad". */
const UNAVAILABLE_ERRORS = new Set([
  'ClientClosedError',
  'ClientOfflineError',
  'ConnectionTimeoutError',
  'SocketClosedUnexpectedlyError',
  'SocketTimeoutError',
  'ReconnectStrategyError',
  'TimeoutError',
  'DisconnectsClientError',
]);
const UNAVAILABLE_CODES = new Set(['CACHIER_REDIS_TIMEOUT', 'CACHIER_REDIS_CLIENT_FAILED']);

function isUnavailable(error: unknown): boolean {
  if (error instanceof CachierError) return UNAVAILABLE_CODES.has(error.code);
  const name = (error as object | null)?.constructor?.name ?? '';
  return UNAVAILABLE_ERRORS.has(name);
}

/** Redis's answer to a command on a key that holds another type (a list where a hash belongs). */
const isWrongType = (error: unknown) =>
  /^WRONGTYPE/.test((error as Error | undefined)?.message ?? '');

/** An operation that only ran out of time: Redis is slow, not gone. */
function isTimeout(error: unknown): boolean {
  if (error instanceof CachierError) return error.code === 'CACHIER_REDIS_TIMEOUT';
  return (error as object | null)?.constructor?.name === 'TimeoutError';
}

let machine: string | undefined;

/** Unique per claim; host and pid make a stuck claim traceable with `GET` in redis-cli. */
function newOwnerId(): string {
  machine ??= `${hostname()}:${process.pid}`;
  return `${machine}:${randomUUID()}`;
}

/**
 * The name's part of every key: percent-encoded, so it never contains `:` (keeping the
 * layout injective) nor a glob character (so SCAN patterns need no escaping), and stays
 * readable in redis-cli for ordinary names.
 */
function encodeName(name: string): string {
  try {
    return encodeURIComponent(name).replace(/\*/g, '%2A');
  } catch {
    throw new TypeError('cachier: a RedisCore cache name must be valid Unicode text');
  }
}

function decodeName(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const text = (reply: unknown): string | undefined =>
  Buffer.isBuffer(reply) ? reply.toString('utf8') : typeof reply === 'string' ? reply : undefined;

function isClient(value: unknown): value is RedisClientLike {
  const candidate = value as Partial<Record<string, unknown>> | null | undefined;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.sendCommand === 'function' &&
    typeof candidate.duplicate === 'function' &&
    typeof candidate.on === 'function' &&
    // A cluster client's sendCommand takes (firstKey, isReadonly, args): not supported.
    !('masters' in candidate)
  );
}

/**
 * Stores entries in Redis, so that processes on many machines share them and calculate
 * each key once. Needs the optional `redis` package (node-redis 5); you pass the client.
 *
 * Keys (`<p>` = `prefix`, `<n>` = the cache name percent-encoded, `<k>` = the 64-hex key):
 * - `<p><n>:e:<k>`: the entry, a HASH `{ v: value bytes, t: calculatedAt ms, f: format version }`;
 *   one `HMGET` per read;
 * - `<p><n>:c:<k>`: the claim, a string holding its owner (`host:pid:uuid`), set with
 *   `SET NX PX leaseMs` (in a Lua script that takes over a key there without expiry, which
 *   cachier never writes), renewed and released by Lua scripts that check the owner;
 * - channel `<p><n>:changes`: the key (or `*` for all) is published whenever an entry is
 *   stored or deleted or a claim released, waking waiters on other machines at once.
 *
 * @example
 * import { createClient } from 'redis';
 * import { cachier, RedisCore } from 'cachier';
 *
 * const client = await createClient({ url: 'redis://127.0.0.1:6379' }).connect();
 * const store = new RedisCore({ client });
 * const report = cachier(fetchReport, { backend: store, staleAfter: '1h' });
 * // ... at shutdown: await client.quit();
 */
export class RedisCore implements Core {
  readonly kind = 'redis';
  readonly leaseMs: number;
  private readonly source: LazySource<RedisClientLike>;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly entryTtlMs: RedisCoreOptions['entryTtlMs'];
  private readonly commandOptions: RedisCommandOptionsLike;
  /** Opens on a lost connection, a failing client function, and on timeouts (see `run`). */
  private readonly breaker: Breaker;

  constructor(options: RedisCoreOptions) {
    checkOptionNames(
      'RedisCore',
      options,
      OPTION_NAMES,
      'new RedisCore({ client: await createClient().connect() })',
    );
    const {
      client,
      prefix = DEFAULT_PREFIX,
      leaseMs = DEFAULT_LEASE_MS,
      operationTimeoutMs = DEFAULT_OPERATION_TIMEOUT_MS,
      entryTtlMs,
    } = options;
    if (typeof client !== 'function' && !isClient(client)) {
      throw new TypeError(
        'cachier: RedisCore client must be a node-redis client (from createClient()) or a function returning one',
      );
    }
    if (typeof prefix !== 'string' || !prefix.endsWith(':')) {
      throw new TypeError(
        "cachier: RedisCore prefix must be a string ending with ':' (e.g. 'cachier:'), so that the keys of two prefixes never overlap",
      );
    }
    checkTimings('RedisCore', leaseMs, MIN_LEASE_MS, operationTimeoutMs);
    if (entryTtlMs !== undefined && typeof entryTtlMs !== 'function' && !isValidTtl(entryTtlMs)) {
      throw new TypeError(
        'cachier: RedisCore entryTtlMs must be a positive whole number of ms, or a function of the cache name',
      );
    }
    this.source = new LazySource<RedisClientLike>(client, isClient, {
      code: 'CACHIER_REDIS_CLIENT_FAILED',
      what: 'the RedisCore client function',
      expected: 'a node-redis client (from createClient())',
    });
    this.prefix = prefix;
    this.leaseMs = Math.ceil(leaseMs);
    this.timeoutMs = operationTimeoutMs;
    this.entryTtlMs = entryTtlMs;
    this.breaker = new Breaker({
      opensOn: isUnavailable,
      pauseMs: breakerPauseMs(operationTimeoutMs),
      // A server that was only slow stays "slow" (a caller may keep waiting on a live
      // claim); one that could not be reached stays "unreachable".
      skipped: (what, openedBy) => {
        const slow = isTimeout(openedBy);
        return new CachierError(
          slow ? 'CACHIER_REDIS_TIMEOUT' : 'CACHIER_REDIS_UNAVAILABLE',
          `skipped ${what}: Redis ${slow ? 'did not answer in time' : 'was unreachable'} moments ago (${describeError(openedBy)})`,
          { cause: openedBy },
        );
      },
      // Ask a client function again on the next attempt.
      onOpen: () => this.source.forget(),
    });
    this.commandOptions = {
      typeMapping: { [BLOB_STRING]: Buffer },
      timeout: Math.ceil(operationTimeoutMs),
    };
  }

  async get(name: string, key: string): Promise<StoredEntry | undefined> {
    const entryKey = this.entryKey(name, key);
    let reply: unknown;
    try {
      reply = await this.run('a read', (c) => this.send(c, ['HMGET', entryKey, 'v', 't', 'f']));
    } catch (error) {
      if (isWrongType(error)) {
        throw new CorruptEntryError(
          'cachier found a Redis key of the wrong type where an entry belongs',
        );
      }
      throw error;
    }
    const [value, calculatedAt, format] = Array.isArray(reply) ? reply : [];
    if (value == null && calculatedAt == null && format == null) return undefined;
    const version = text(format);
    // Written by another release of cachier: not ours to read, simply a miss.
    if (version !== undefined && version !== ENTRY_FORMAT_VERSION) return undefined;
    const time = Number(text(calculatedAt));
    if (version === undefined || !Buffer.isBuffer(value) || !Number.isFinite(time)) {
      throw new CorruptEntryError('cachier found a damaged Redis cache entry');
    }
    // Copy: the reply's Buffer is a view into the connection's receive buffer.
    return { bytes: Buffer.from(value), calculatedAt: time };
  }

  async set(name: string, key: string, entry: StoredEntry): Promise<void> {
    await this.runScript(
      'a write',
      SCRIPTS.setEntry,
      [this.entryKey(name, key)],
      this.setArgs(name, key, entry),
    );
  }

  /** The owner's write (Claim.store): in one script with the check that the claim is still `owner`'s. */
  private async setIfClaimed(
    name: string,
    key: string,
    entry: StoredEntry,
    owner: string,
    generation: string,
  ): Promise<boolean> {
    const reply = await this.runScript(
      'a write',
      SCRIPTS.setEntryIfClaimed,
      [this.entryKey(name, key), this.claimKey(name, key), this.generationKey(name)],
      [...this.setArgs(name, key, entry), owner, generation],
    );
    return Number(reply) === 1;
  }

  private setArgs(name: string, key: string, entry: StoredEntry): (string | Buffer)[] {
    return [
      asBuffer(entry.bytes),
      String(entry.calculatedAt),
      ENTRY_FORMAT_VERSION,
      String(this.ttlFor(name) ?? 0),
      this.channel(name),
      key,
    ];
  }

  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    const owner = newOwnerId();
    const claimKey = this.claimKey(name, key);
    const reply = text(
      await this.runScript(
        'a claim',
        SCRIPTS.tryClaim,
        [claimKey, this.generationKey(name)],
        [owner, String(this.leaseMs)],
      ),
    );
    if (!reply?.startsWith('won:')) return undefined;
    const generation = reply.slice('won:'.length);
    return {
      renew: async () =>
        Number(
          await this.runScript(
            'a lease renewal',
            SCRIPTS.renewClaim,
            [claimKey],
            [owner, String(this.leaseMs)],
          ),
        ) === 1,
      store: (entry) => this.setIfClaimed(name, key, entry, owner, generation),
      release: async () => {
        await this.runScript(
          'a claim release',
          SCRIPTS.releaseClaim,
          [claimKey],
          [owner, this.channel(name), key],
        );
      },
    };
  }

  async delete(name: string, key: string): Promise<void> {
    await this.runScript(
      'a delete',
      SCRIPTS.deleteEntry,
      [this.entryKey(name, key)],
      [this.channel(name), key],
    );
  }

  async clear(name: string): Promise<void> {
    await this.forEachPage('a clear', this.pattern(name, 'e'), (c, keys) =>
      this.send(c, ['UNLINK', ...keys]),
    );
    await this.publishAll(name);
  }

  async clearClaims(name: string): Promise<void> {
    // First: an owner whose claim lapsed unseen must not store after this clear (SET_ENTRY_IF_CLAIMED).
    await this.run('a claim clear', (c) => this.send(c, ['INCR', this.generationKey(name)]));
    await this.forEachPage('a claim clear', this.pattern(name, 'c'), (c, keys) =>
      this.send(c, ['DEL', ...keys]),
    );
    await this.publishAll(name);
  }

  async deleteStale(name: string, calculatedBefore: number): Promise<void> {
    await this.forEachPage('a stale-entry cleanup', this.pattern(name, 'e'), (c, keys) =>
      this.evalScript(c, SCRIPTS.deleteStale, keys, [String(calculatedBefore)]),
    );
  }

  subscribe(name: string, key: string, onChange: () => void): () => void {
    const channel = this.channel(name);
    let unsubscribe: (() => void) | undefined;
    let cancelled = false;
    this.client().then(
      (client) => {
        if (!cancelled) unsubscribe = hubOf(client).add(channel, key, onChange);
      },
      () => undefined, // no client now: the waiter polls
    );
    return () => {
      cancelled = true;
      unsubscribe?.();
    };
  }

  async names(): Promise<string[]> {
    const names = new Set<string>();
    const layout = /^([^:]*):[ec]:[0-9a-f]{64}$/;
    await this.forEachPage('a listing', `${escapeGlob(this.prefix)}*`, async (_c, keys) => {
      for (const raw of keys) {
        const match = layout.exec(raw.toString('utf8').slice(this.prefix.length));
        const name = match ? decodeName(match[1] as string) : undefined;
        if (name !== undefined) names.add(name);
      }
    });
    return [...names].sort();
  }

  async *list(name: string): AsyncIterable<EntryInfo> {
    const start = this.prefix.length + encodeName(name).length + ':e:'.length;
    for await (const page of this.pages('a listing', this.pattern(name, 'e'))) {
      const infos = await this.run('a listing', (c) =>
        Promise.all(page.map((raw) => this.describeEntry(c, raw, start))),
      );
      for (const info of infos) if (info) yield info;
    }
  }

  /** Reads an entry's time and size without its value; `undefined` if not a readable entry. */
  private async describeEntry(
    client: RedisClientLike,
    raw: Buffer,
    keyStart: number,
  ): Promise<EntryInfo | undefined> {
    let fields: unknown;
    let size: unknown;
    try {
      [fields, size] = await Promise.all([
        this.send(client, ['HMGET', raw, 't', 'f']),
        this.send(client, ['HSTRLEN', raw, 'v']),
      ]);
    } catch (error) {
      // Another program's key of another type in an entry's place: not an entry to list,
      // and no reason to fail the listing of the others.
      if (isWrongType(error)) return undefined;
      throw error;
    }
    const [t, f] = Array.isArray(fields) ? fields : [];
    const calculatedAt = Number(text(t));
    if (text(f) !== ENTRY_FORMAT_VERSION || !Number.isFinite(calculatedAt)) return undefined;
    return { key: raw.toString('utf8').slice(keyStart), calculatedAt, size: Number(size) };
  }

  private entryKey(name: string, key: string): string {
    return `${this.prefix}${encodeName(name)}:e:${checkKey(key)}`;
  }

  private claimKey(name: string, key: string): string {
    return `${this.prefix}${encodeName(name)}:c:${checkKey(key)}`;
  }

  /** How many times `name`'s claims were cleared: a claim's owner may store only if it is unchanged. */
  private generationKey(name: string): string {
    return `${this.prefix}${encodeName(name)}:g`;
  }

  private channel(name: string): string {
    return `${this.prefix}${encodeName(name)}:changes`;
  }

  /** Matches exactly the entry (`e`) or claim (`c`) keys of `name` under this prefix. */
  private pattern(name: string, kind: 'e' | 'c'): string {
    return `${escapeGlob(this.prefix)}${encodeName(name)}:${kind}:${HEX_GLOB}`;
  }

  private ttlFor(name: string): number | undefined {
    const option = this.entryTtlMs;
    const ttl = typeof option === 'function' ? option(name) : option;
    if (ttl === undefined) return undefined;
    if (!isValidTtl(ttl)) {
      throw new TypeError(
        'cachier: RedisCore entryTtlMs(name) must return a positive whole number of ms or undefined',
      );
    }
    return ttl;
  }

  private async publishAll(name: string): Promise<void> {
    const channel = this.channel(name);
    await this.run('a change notice', (c) => this.send(c, ['PUBLISH', channel, ALL_KEYS]));
  }

  /** SCANs `pattern` (never KEYS: it would block the server), one page of keys at a time. */
  private async *pages(what: string, pattern: string): AsyncGenerator<Buffer[]> {
    let cursor = '0';
    do {
      const reply = await this.run(what, (c) =>
        this.send(c, ['SCAN', cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT]),
      );
      const [next, keys] = Array.isArray(reply) ? reply : [];
      cursor = text(next) ?? '0';
      const page = Array.isArray(keys) ? keys.filter(Buffer.isBuffer) : [];
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }

  private async forEachPage(
    what: string,
    pattern: string,
    onPage: (client: RedisClientLike, keys: Buffer[]) => Promise<unknown>,
  ): Promise<void> {
    for await (const page of this.pages(what, pattern)) {
      await this.run(what, (c) => onPage(c, page));
    }
  }

  private send(client: RedisClientLike, args: ReadonlyArray<string | Buffer>): Promise<unknown> {
    return client.sendCommand(args, this.commandOptions);
  }

  private runScript(
    what: string,
    source: Script,
    keys: ReadonlyArray<string | Buffer>,
    args: ReadonlyArray<string | Buffer>,
  ): Promise<unknown> {
    return this.run(what, (c) => this.evalScript(c, source, keys, args));
  }

  /** EVALSHA, falling back to EVAL once when the server does not have the script cached. */
  private async evalScript(
    client: RedisClientLike,
    { source, sha }: Script,
    keys: ReadonlyArray<string | Buffer>,
    args: ReadonlyArray<string | Buffer>,
  ): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.send(client, ['EVALSHA', sha, ...tail]);
    } catch (error) {
      if (!/^NOSCRIPT/.test((error as Error | undefined)?.message ?? '')) throw error;
      return this.send(client, ['EVAL', source, ...tail]);
    }
  }

  /**
   * Runs one operation within `operationTimeoutMs` (client getter included). node-redis
   * drops a command still queued at the timeout (the `timeout` command option); our timer
   * also covers a command sent to a server that never answers.
   *
   * A breaker spares callers a server that cannot be used: a lost connection, a failing
   * client function or a timeout makes operations fail at once for
   * `max(1000, operationTimeoutMs)` ms; then one operation probes while the others still
   * fail fast, and its outcome closes or reopens the breaker. Timeouts open it too, unlike
   * MongoDB's: node-redis has no server monitor, so a hung server only ever shows as
   * timeouts, and without the pause each call would wait out one timeout per operation.
   * An operation skipped after a timeout still rejects as a timeout, so a caller waiting
   * on a live claim keeps waiting. A client that is reconnecting fails each operation at
   * once by itself (no network, no wait) and does not open the breaker, so the first call
   * after it reconnected reaches Redis.
   */
  private run<T>(what: string, operation: (client: RedisClientLike) => Promise<T>): Promise<T> {
    return this.breaker.run(what, () => {
      const attempt = this.client().then((client) => {
        // Open but not ready: the client lost its connection and is reconnecting. Fail now
        // rather than wait in node-redis's offline queue: the server is down, not slow.
        if (client.isOpen && client.isReady === false) {
          throw new CachierError(
            'CACHIER_REDIS_UNAVAILABLE',
            `skipped ${what}: the Redis client is not connected (it is reconnecting)`,
          );
        }
        return operation(client);
      });
      return withDeadline(
        attempt,
        this.timeoutMs,
        () =>
          new CachierError(
            'CACHIER_REDIS_TIMEOUT',
            `Redis did not complete ${what} within ${this.timeoutMs} ms (RedisCore operationTimeoutMs)`,
          ),
      );
    });
  }

  private client(): Promise<RedisClientLike> {
    return this.source.get();
  }
}

function isValidTtl(ttl: unknown): ttl is number {
  return typeof ttl === 'number' && Number.isSafeInteger(ttl) && ttl > 0;
}

function checkKey(key: string): string {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new TypeError('cachier: a RedisCore key must be a 64-character lowercase hex SHA-256');
  }
  return key;
}
