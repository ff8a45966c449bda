import type { Claim, Core, Entry } from './core.js';
import { currentDefaults, isCachingEnabled } from './defaults.js';
import { toMilliseconds } from './durations.js';
import { CachierError, CorruptEntryError, SerializationError } from './errors.js';
import {
  type CachierEvent,
  type CachierEventListener,
  formatEvent,
  type StoreOperation,
} from './events.js';
import { defaultKey, encodeArgs, keyFromHashArgs, sha256Hex } from './keys.js';
import type { ResolvedCallOptions } from './options.js';
import { parseSize } from './sizes.js';
import { isStale } from './staleness.js';
import { OncePerCodeWarner } from './warnings.js';

/** The options of a wrapper that may follow `setDefaultParams` when the wrapper left them out. */
export interface LivePolicyOptions {
  staleAfter?: unknown;
  nextTime?: boolean | undefined;
  waitForCalcTimeout?: unknown;
  allowNone?: boolean | undefined;
  entrySizeLimit?: unknown;
}

/** Everything fixed when a wrapper is made. */
export interface AlgorithmSettings {
  name: string;
  core: Core;
  fn: (this: unknown, ...args: unknown[]) => unknown;
  hashArgs: ((args: unknown[], self: unknown) => string) | undefined;
  own: LivePolicyOptions;
  onEvent: CachierEventListener | undefined;
}

/** The live policy of one call, durations and sizes already converted. */
interface Policy {
  staleAfterMs: number | undefined;
  nextTime: boolean;
  waitMs: number;
  allowNone: boolean;
  entrySizeLimit: number | undefined;
}

type Report = ((event: CachierEvent) => void) | undefined;
type ClaimAttempt = Claim | 'held' | 'failed';

function isPromiseLike(value: unknown): value is PromiseLike<Entry | undefined> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** Memory-core keys: short encodings are used as they are, long ones hashed to bound memory. */
const RAW_KEY_LIMIT = 200;

/**
 * The SHA-256 key that a raw memory-core key stands for (the key every other core uses):
 * events and verbose lines never show argument data.
 */
function publicKey(rawKey: string): string {
  const body = rawKey.slice(1);
  return rawKey[0] === 'r' || rawKey[0] === 'h' ? sha256Hex(body) : body;
}

/**
 * The one call algorithm of SPEC 2, shared by every core: read, serve or refresh stale
 * values, share one calculation per key in this process, claim the key across processes,
 * wait for another owner, calculate, store, release. A core only stores and coordinates.
 */
export class CallAlgorithm {
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly refreshing = new Map<string, symbol>();
  /** Calculations and refreshes still running, for `settle()`; clearBeingCalculated keeps it. */
  private readonly pending = new Set<Promise<unknown>>();
  private readonly warner: OncePerCodeWarner;
  private policy: Policy | undefined;
  private policyVersion = -1;

  constructor(private readonly settings: AlgorithmSettings) {
    this.warner = new OncePerCodeWarner(settings.name);
  }

  /** Runs one call of the wrapped function under the cache. */
  call(self: unknown, args: unknown[], options: ResolvedCallOptions): Promise<unknown> {
    const report = this.reporterFor(options);
    if (options.ignoreCache || !isCachingEnabled()) {
      report?.({
        type: 'bypass',
        name: this.settings.name,
        reason: options.ignoreCache ? 'ignore-cache' : 'caching-disabled',
      });
      return this.invoke(self, args);
    }
    let key: string;
    try {
      key = this.keyFor(self, args);
    } catch (error) {
      return Promise.reject(error);
    }
    const policy = this.currentPolicy();
    if (options.overwriteCache) {
      report?.({ type: 'miss', name: this.settings.name, key, reason: 'overwrite-cache' });
      return this.calculateOverwriting(key, self, args, policy, report);
    }
    let read: Entry | undefined | Promise<Entry | undefined>;
    try {
      read = this.settings.core.get(this.settings.name, key);
    } catch (error) {
      read = this.readFailed(key, error, report);
    }
    if (isPromiseLike(read)) {
      return Promise.resolve(read).then(
        (entry) => this.decide(entry, key, self, args, policy, options, report),
        (error: unknown) =>
          this.decide(
            this.readFailed(key, error, report),
            key,
            self,
            args,
            policy,
            options,
            report,
          ),
      );
    }
    return this.decide(read, key, self, args, policy, options, report);
  }

  /**
   * Stores a value for `args` without calling the function. Unlike a call, a value the
   * cache would not keep or serve is an error: the caller asked for exactly this write.
   */
  async precache(self: unknown, args: unknown[], value: unknown): Promise<unknown> {
    const key = this.keyFor(self, args);
    const policy = this.currentPolicy();
    if (value == null && !policy.allowNone) {
      throw new TypeError(
        `cachier(${this.settings.name}): precacheValue got ${value}, which is never served without allowNone: true`,
      );
    }
    const outcome = await this.settings.core.set(
      this.settings.name,
      key,
      { value, calculatedAt: Date.now() },
      { entrySizeLimit: policy.entrySizeLimit },
    );
    if (outcome === 'too-large') {
      throw new CachierError(
        'CACHIER_ENTRY_TOO_LARGE',
        `cachier(${this.settings.name}): precacheValue's value is larger than entrySizeLimit (${policy.entrySizeLimit} bytes) and was not stored`,
      );
    }
    return value;
  }

  /** Resolves once every calculation and background refresh started so far has settled. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async clearCache(): Promise<void> {
    await this.settings.core.clear(this.settings.name);
  }

  async clearBeingCalculated(): Promise<void> {
    this.inflight.clear();
    this.refreshing.clear();
    await this.settings.core.clearClaims(this.settings.name);
  }

  async deleteStale(): Promise<void> {
    const { staleAfterMs } = this.currentPolicy();
    if (staleAfterMs === undefined) return;
    await this.settings.core.deleteStale(this.settings.name, Date.now() - staleAfterMs);
  }

  location(): string | undefined {
    return this.settings.core.location(this.settings.name);
  }

  private invoke(self: unknown, args: unknown[]): Promise<unknown> {
    try {
      return Promise.resolve(this.settings.fn.apply(self, args));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private keyFor(self: unknown, args: unknown[]): string {
    const { hashArgs, core } = this.settings;
    if (hashArgs) {
      const custom = hashArgs(args, self);
      if (!core.rawKeys) return keyFromHashArgs(custom);
      if (typeof custom !== 'string') keyFromHashArgs(custom); // throws the named TypeError
      return custom.length <= RAW_KEY_LIMIT ? `h${custom}` : `H${sha256Hex(custom)}`;
    }
    if (!core.rawKeys) return defaultKey(args);
    const encoded = encodeArgs(args);
    return encoded.length <= RAW_KEY_LIMIT ? `r${encoded}` : `R${sha256Hex(encoded)}`;
  }

  /** Resolves the live options against the defaults, once per change of the defaults. */
  private currentPolicy(): Policy {
    const { params, version } = currentDefaults();
    if (this.policy && version === this.policyVersion) return this.policy;
    const own = this.settings.own;
    const staleAfter = own.staleAfter ?? params.staleAfter;
    const wait = own.waitForCalcTimeout ?? params.waitForCalcTimeout;
    const sizeLimit = own.entrySizeLimit ?? params.entrySizeLimit;
    this.policy = {
      staleAfterMs: staleAfter === undefined ? undefined : toMilliseconds(staleAfter, 'staleAfter'),
      nextTime: own.nextTime ?? params.nextTime ?? false,
      waitMs: wait === undefined ? 0 : toMilliseconds(wait, 'waitForCalcTimeout'),
      allowNone: own.allowNone ?? params.allowNone ?? false,
      entrySizeLimit: sizeLimit === undefined ? undefined : parseSize(sizeLimit, 'entrySizeLimit'),
    };
    this.policyVersion = version;
    return this.policy;
  }

  private reporterFor(options: ResolvedCallOptions): Report {
    const listener = this.settings.onEvent;
    if (!options.verboseCache && !listener) return undefined;
    const rawKeys = this.settings.core.rawKeys === true;
    return (original) => {
      const event =
        rawKeys && 'key' in original ? { ...original, key: publicKey(original.key) } : original;
      if (options.verboseCache) console.log(formatEvent(event));
      if (listener) {
        try {
          listener(event);
        } catch {
          // A listener's own bug must not turn a good call into a failed one.
        }
      }
    };
  }

  private decide(
    entry: Entry | undefined,
    key: string,
    self: unknown,
    args: unknown[],
    policy: Policy,
    options: ResolvedCallOptions,
    report: Report,
  ): Promise<unknown> {
    const name = this.settings.name;
    if (!entry) {
      report?.({ type: 'miss', name, key, reason: 'absent' });
    } else if (entry.value == null && !policy.allowNone) {
      report?.({ type: 'miss', name, key, reason: 'none-not-allowed' });
    } else {
      const now = Date.now();
      const ageMs = now - entry.calculatedAt;
      if (!isStale(entry.calculatedAt, now, policy.staleAfterMs, options.maxAgeMs)) {
        report?.({ type: 'hit', name, key, ageMs });
        return Promise.resolve(entry.value);
      }
      if (policy.nextTime) {
        const running = this.refreshing.has(key) || this.inflight.has(key);
        report?.({
          type: 'stale',
          name,
          key,
          ageMs,
          action: running ? 'serve-stale-refresh-running' : 'serve-stale-and-refresh',
        });
        if (!running) this.refreshInBackground(key, self, args, policy, options, report);
        return Promise.resolve(entry.value);
      }
      report?.({ type: 'stale', name, key, ageMs, action: 'recalculate' });
    }
    return this.obtain(key, self, args, policy, options, report);
  }

  /** No usable value: join this process's calculation of the key, or start one. */
  private obtain(
    key: string,
    self: unknown,
    args: unknown[],
    policy: Policy,
    options: ResolvedCallOptions,
    report: Report,
  ): Promise<unknown> {
    const running = this.inflight.get(key);
    if (running) {
      report?.({ type: 'wait', name: this.settings.name, key, on: 'this-process' });
      return policy.waitMs > 0
        ? this.joinWithTimeout(running, key, self, args, policy, report)
        : running;
    }
    return this.track(key, this.claimAndCalculate(key, self, args, policy, options, report));
  }

  private track(key: string, calculation: Promise<unknown>): Promise<unknown> {
    this.inflight.set(key, calculation);
    this.keepPending(calculation);
    const forget = () => {
      if (this.inflight.get(key) === calculation) this.inflight.delete(key);
    };
    calculation.then(forget, forget);
    return calculation;
  }

  private keepPending(work: Promise<unknown>): void {
    this.pending.add(work);
    const done = () => this.pending.delete(work);
    work.then(done, done);
  }

  /** Waits for this process's running calculation, but at most `waitMs`; then calculates. */
  private joinWithTimeout(
    running: Promise<unknown>,
    key: string,
    self: unknown,
    args: unknown[],
    policy: Policy,
    report: Report,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        report?.({ type: 'wait-end', name: this.settings.name, key, reason: 'timeout' });
        this.calculateAndStore(key, undefined, self, args, policy, report, false).then(
          resolve,
          reject,
        );
      }, policy.waitMs);
      running.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /**
   * Steps 5 and 6 across processes: take the key's claim, or wait for its owner until a
   * value arrives, the claim is gone (released or expired), or `waitForCalcTimeout` ends.
   */
  private async claimAndCalculate(
    key: string,
    self: unknown,
    args: unknown[],
    policy: Policy,
    options: ResolvedCallOptions,
    report: Report,
  ): Promise<unknown> {
    const name = this.settings.name;
    const deadline = policy.waitMs > 0 ? Date.now() + policy.waitMs : Number.POSITIVE_INFINITY;
    for (let attempt = 0; ; attempt++) {
      const claim = await this.tryClaim(key, report);
      if (claim === 'failed') {
        return this.calculateAndStore(key, undefined, self, args, policy, report, false);
      }
      if (claim !== 'held') {
        // Another owner may have stored the value between our read and our claim.
        const stored = await this.freshEntry(key, policy, options, report);
        if (stored) {
          await this.release(key, claim, report);
          return stored.value;
        }
        return this.calculateAndStore(key, claim, self, args, policy, report, false);
      }
      if (attempt === 0) report?.({ type: 'wait', name, key, on: 'other-owner' });
      const stored = await this.freshEntry(key, policy, options, report);
      if (stored) {
        report?.({ type: 'wait-end', name, key, reason: 'value-arrived' });
        return stored.value;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        report?.({ type: 'wait-end', name, key, reason: 'timeout' });
        return this.calculateAndStore(key, undefined, self, args, policy, report, false);
      }
      await this.waitForChange(key, attempt, remaining, report);
    }
  }

  /** `overwriteCache`: calculate and store now; claim if free so waiters elsewhere wait for us. */
  private async calculateOverwriting(
    key: string,
    self: unknown,
    args: unknown[],
    policy: Policy,
    report: Report,
  ): Promise<unknown> {
    const claim = await this.tryClaim(key, report);
    const held = claim === 'held' || claim === 'failed' ? undefined : claim;
    return this.calculateAndStore(key, held, self, args, policy, report, false);
  }

  private refreshInBackground(
    key: string,
    self: unknown,
    args: unknown[],
    policy: Policy,
    options: ResolvedCallOptions,
    report: Report,
  ): void {
    const name = this.settings.name;
    const token = Symbol(key);
    this.refreshing.set(key, token);
    const refresh = async () => {
      const claim = await this.tryClaim(key, report);
      if (claim === 'failed') return;
      if (claim === 'held') {
        report?.({ type: 'refresh-skipped', name, key, reason: 'claimed-elsewhere' });
        return;
      }
      if (await this.freshEntry(key, policy, options, report)) {
        report?.({ type: 'refresh-skipped', name, key, reason: 'fresh-elsewhere' });
        await this.release(key, claim, report);
        return;
      }
      await this.track(key, this.calculateAndStore(key, claim, self, args, policy, report, true));
    };
    const work = refresh()
      .catch((error: unknown) => {
        report?.({ type: 'refresh-failed', name, key, error });
        this.warner.warn(
          'CACHIER_REFRESH_FAILED',
          'a background refresh failed; the stale value stays until the next refresh',
          error,
        );
      })
      .finally(() => {
        if (this.refreshing.get(key) === token) this.refreshing.delete(key);
      });
    this.keepPending(work);
  }

  private async calculateAndStore(
    key: string,
    claim: Claim | undefined,
    self: unknown,
    args: unknown[],
    policy: Policy,
    report: Report,
    background: boolean,
  ): Promise<unknown> {
    report?.({ type: 'calculate', name: this.settings.name, key, background, claimed: !!claim });
    const stopRenewing = claim ? this.keepAlive(key, claim, report) : undefined;
    try {
      const value = await this.settings.fn.apply(self, args);
      await this.store(key, value, policy, report);
      return value;
    } finally {
      stopRenewing?.();
      if (claim) await this.release(key, claim, report);
    }
  }

  private async store(key: string, value: unknown, policy: Policy, report: Report): Promise<void> {
    const name = this.settings.name;
    if (value == null && !policy.allowNone) {
      report?.({ type: 'not-stored', name, key, reason: 'none-not-allowed' });
      return;
    }
    try {
      const outcome = await this.settings.core.set(
        name,
        key,
        { value, calculatedAt: Date.now() },
        { entrySizeLimit: policy.entrySizeLimit },
      );
      report?.(
        outcome === 'stored'
          ? { type: 'stored', name, key }
          : { type: 'not-stored', name, key, reason: 'too-large' },
      );
    } catch (error) {
      if (error instanceof SerializationError) {
        this.warner.warn(
          'CACHIER_UNSERIALIZABLE',
          'a result could not be serialized and was not cached',
          error,
        );
        report?.({ type: 'not-stored', name, key, reason: 'unserializable' });
      } else {
        this.storeFailed(key, 'set', error, report);
        report?.({ type: 'not-stored', name, key, reason: 'store-failed' });
      }
    }
  }

  /** A value that the current call may use as it is, or undefined. */
  private async freshEntry(
    key: string,
    policy: Policy,
    options: ResolvedCallOptions,
    report: Report,
  ): Promise<Entry | undefined> {
    let entry: Entry | undefined;
    try {
      entry = await this.settings.core.get(this.settings.name, key);
    } catch (error) {
      entry = this.readFailed(key, error, report);
    }
    if (!entry || (entry.value == null && !policy.allowNone)) return undefined;
    return isStale(entry.calculatedAt, Date.now(), policy.staleAfterMs, options.maxAgeMs)
      ? undefined
      : entry;
  }

  private readFailed(key: string, error: unknown, report: Report): undefined {
    const name = this.settings.name;
    if (error instanceof CorruptEntryError) {
      this.warner.warn(
        'CACHIER_CORRUPT_ENTRY',
        'a corrupt cache entry was ignored and will be replaced',
        error,
      );
      report?.({ type: 'miss', name, key, reason: 'corrupt-entry' });
    } else {
      this.storeFailed(key, 'get', error, report);
    }
    return undefined;
  }

  private async tryClaim(key: string, report: Report): Promise<ClaimAttempt> {
    try {
      return (await this.settings.core.tryClaim(this.settings.name, key)) ?? 'held';
    } catch (error) {
      this.storeFailed(key, 'claim', error, report);
      return 'failed';
    }
  }

  private async release(key: string, claim: Claim, report: Report): Promise<void> {
    try {
      await claim.release();
    } catch (error) {
      this.storeFailed(key, 'release', error, report);
    }
  }

  /** Renews a held claim on the core's schedule; the timer never keeps the process alive. */
  private keepAlive(key: string, claim: Claim, report: Report): (() => void) | undefined {
    const interval = this.settings.core.renewIntervalMs;
    if (interval === undefined) return undefined;
    let renewing = false;
    const timer = setInterval(() => {
      if (renewing) return;
      renewing = true;
      claim
        .renew()
        .then(
          (held) => {
            if (!held) report?.({ type: 'claim-lost', name: this.settings.name, key });
          },
          (error: unknown) => this.storeFailed(key, 'renew', error, report),
        )
        .finally(() => {
          renewing = false;
        });
    }, interval);
    timer.unref();
    return () => clearInterval(timer);
  }

  private async waitForChange(
    key: string,
    attempt: number,
    remainingMs: number,
    report: Report,
  ): Promise<void> {
    const controller = new AbortController();
    const timer = Number.isFinite(remainingMs)
      ? setTimeout(() => controller.abort(), remainingMs)
      : undefined;
    try {
      await this.settings.core.waitForChange(this.settings.name, key, {
        signal: controller.signal,
        attempt,
      });
    } catch (error) {
      this.storeFailed(key, 'wait', error, report);
      // Without the core's signal, poll with the same backoff instead of spinning.
      await new Promise((resolve) => setTimeout(resolve, Math.min(25 * 2 ** attempt, 1000)));
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  }

  private storeFailed(
    key: string,
    operation: StoreOperation,
    error: unknown,
    report: Report,
  ): void {
    report?.({ type: 'store-error', name: this.settings.name, key, operation, error });
    this.warner.warn(
      'CACHIER_STORE_FAILED',
      `the ${this.settings.core.kind} cache failed (${operation}); calls go on without it`,
      error,
    );
  }
}
