import type { AnyCore, ValueEntry } from '../cores/contract.js';
import { isCachingEnabled } from '../defaults.js';
import { CachierError } from '../errors.js';
import { type CachierEvent, type CachierEventListener, formatEvent } from '../events.js';
import { KeyMemo } from '../keyMemo.js';
import { cacheKey, publicKey } from '../keys.js';
import { StaleCleanup } from '../ops/cleanup.js';
import { type CachierMetrics, MetricsRecorder } from '../ops/metrics.js';
import type { ResolvedCallOptions } from '../options.js';
import { MAX_TIMER_MS } from '../timeLimits.js';
import type { ValueCodec } from '../valueCodec.js';
import { OncePerCodeWarner } from '../warnings.js';
import { onAbort } from './abortListeners.js';
import type { Clock } from './clock.js';
import { type ClaimAttempt, GuardedCore, type Report, type WriteOutcome } from './guardedCore.js';
import {
  isStale,
  LivePolicy,
  type LivePolicyOptions,
  type Policy,
  withCallOverrides,
} from './policy.js';
import { type StoreOrder, storeOrderOf } from './storeOrder.js';
import { waitForChange } from './waiting.js';

/** Everything fixed when a wrapper is made. */
export interface AlgorithmSettings {
  name: string;
  core: AnyCore;
  fn: (this: unknown, ...args: unknown[]) => unknown;
  hashArgs: ((args: unknown[], self: unknown) => string) | undefined;
  own: LivePolicyOptions;
  onEvent: CachierEventListener | undefined;
  clock: Clock;
  codec: ValueCodec;
  shouldCache: ((value: unknown, args: unknown[]) => boolean) | undefined;
}

/** One call's state, built once and passed through every step. */
interface Call {
  readonly self: unknown;
  readonly args: unknown[];
  readonly key: string;
  readonly policy: Policy;
  readonly report: Report;
}

/** A calculation of one key in this process, shared by every caller that joins it. */
interface Running {
  readonly promise: Promise<unknown>;
  /**
   * Aborted when every caller that joined stopped waiting (their signals aborted); absent
   * when the first caller had no signal, since then the calculation is wanted for good.
   */
  readonly abandon: AbortController | undefined;
  callers: number;
}

/** The abandon signal of a calculation that no caller can call off (made on first use). */
let neverAborted: AbortSignal | undefined;

function neverAbortedSignal(): AbortSignal {
  neverAborted ??= new AbortController().signal;
  return neverAborted;
}

/**
 * Milliseconds elapsed since this was made: on the injected clock (a test moves a fake one
 * forward to end a wait), but never less than on the monotonic clock, so that a wall
 * clock stepped back (NTP, a VM resumed) does not stretch a wait by the step.
 */
function elapsedClock(clock: Clock): () => number {
  const wallStart = clock.now();
  const monotonicStart = performance.now();
  return () => Math.max(clock.now() - wallStart, performance.now() - monotonicStart);
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as PromiseLike<T> | undefined)?.then === 'function';
}

/**
 * The call algorithm (docs/design.md, "How a call flows"), written once for every core, as a state machine: read;
 * serve a fresh value; serve a stale one and refresh in the background (`nextTime`);
 * join this process's calculation of the key; claim the key or wait for its owner;
 * calculate, store, release. Storage, fail-open handling, wake-ups and renewal are the
 * {@link GuardedCore}'s; time is the injected clock's.
 */
export class CallAlgorithm {
  private readonly inflight = new Map<string, Running>();
  private readonly refreshing = new Map<string, symbol>();
  /** Calculations and refreshes still running, for `settle()`; clearBeingCalculated keeps it. */
  private readonly pending = new Set<Promise<unknown>>();
  /** Newer wins: the order of calculations and writes of this cache, shared by its wrappers. */
  private readonly order: StoreOrder;
  private readonly warner: OncePerCodeWarner;
  private readonly live: LivePolicy;
  private readonly store: GuardedCore;
  private readonly rawKeys: boolean;
  /** Raw keys of repeated primitive arguments (value cores without `hashArgs`). */
  private readonly keyMemo: KeyMemo | undefined;
  /** Made on the first call with metrics on (`enableMetrics`, also through the defaults). */
  private recorder: MetricsRecorder | undefined;
  /** Made on the first call with `cleanupStale` on. */
  private cleanup: StaleCleanup | undefined;

  constructor(private readonly settings: AlgorithmSettings) {
    this.warner = new OncePerCodeWarner(settings.name);
    this.live = new LivePolicy(settings.own);
    this.store = new GuardedCore(settings.core, settings.name, settings.codec, this.warner);
    this.order = storeOrderOf(settings.core, settings.name);
    this.order.join(this);
    // Keys of a core that keeps values in this process never leave it: skip the hash.
    this.rawKeys = settings.core.stores === 'values';
    if (this.rawKeys && settings.hashArgs === undefined) {
      this.keyMemo = new KeyMemo((args) => cacheKey(args, undefined, undefined, true));
    }
  }

  /** Runs one call of the wrapped function under the cache. */
  call(self: unknown, args: unknown[], options: ResolvedCallOptions): Promise<unknown> {
    const { signal } = options;
    if (signal === undefined) return this.run(self, args, options);
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const stop = onAbort(signal, () => reject(signal.reason));
      this.run(self, args, options, signal).then(
        (value) => {
          stop();
          resolve(value);
        },
        (error: unknown) => {
          stop();
          reject(error);
        },
      );
    });
  }

  /**
   * Stores a value for `args` without calling the function. Unlike a call, a value the
   * cache would not keep or serve is an error: the caller asked for exactly this write.
   */
  async precache(self: unknown, args: unknown[], value: unknown): Promise<unknown> {
    const name = this.settings.name;
    if (!Array.isArray(args)) {
      // precacheValue(7, v) for precacheValue([7], v) would store under another key, and
      // a later call would miss. The value itself is never quoted: it may be user data.
      throw new TypeError(
        `cachier(${name}): precacheValue takes the array of the arguments first, precacheValue([arg1, arg2], value); got ${args === null ? 'null' : typeof args}`,
      );
    }
    const key = this.keyFor(self, args);
    const policy = this.live.current();
    if (value == null && !policy.allowNone) {
      throw new TypeError(
        `cachier(${name}): precacheValue got ${value}, which is never served without allowNone: true`,
      );
    }
    const errors: unknown[] = [];
    // Every calculation of the key running now began before this write: the user's value
    // wins over them. A clear asked while it waits for an earlier write wins over it.
    const order = this.order.begin(key);
    let outcome: WriteOutcome;
    try {
      outcome = await this.order.write(key, order, () =>
        this.store.write(key, value, this.settings.clock.now(), policy.entrySizeLimit, (event) => {
          if (event.type === 'store-error') errors.push(event.error);
        }),
      );
    } finally {
      this.order.end(key);
    }
    switch (outcome) {
      case 'stored':
      case 'superseded':
        return value;
      case 'too-large':
        throw new CachierError(
          'CACHIER_ENTRY_TOO_LARGE',
          `cachier(${name}): precacheValue's value is larger than entrySizeLimit (${policy.entrySizeLimit} bytes) and was not stored`,
        );
      case 'unserializable':
        throw new CachierError(
          'CACHIER_UNSERIALIZABLE',
          `cachier(${name}): precacheValue's value would not come back from the cache as it was, so it was not stored (see the serializer option)`,
        );
      default:
        throw new CachierError(
          'CACHIER_STORE_FAILED',
          `cachier(${name}): precacheValue could not write to the ${this.settings.core.kind} cache`,
          { cause: errors[0] },
        );
    }
  }

  /** Resolves once every calculation and background refresh started so far has settled. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Drops every entry and (on a byte core) the claims. A calculation still running
   * (through any wrapper of this cache) keeps its value for its own callers but does not
   * store it, and a call made from now on does not join it; a write already on its way
   * lands before the clear. With the claims gone, an owner in another process cannot store
   * through its claim (Claim.store) and its waiters calculate afresh; entries are cleared
   * once more after the claims, for a value stored in between.
   */
  clearCache(): Promise<void> {
    return this.explicit('clearCache', () =>
      this.order.clearAll(async () => {
        await this.store.clear();
        // A value core's claims never leave this process, where the order already cancels
        // the running calculations; one clear keeps an unawaited clear immediate there.
        if (this.settings.core.stores === 'values') return;
        await this.store.clearClaims();
        await this.store.clear();
      }),
    );
  }

  /**
   * Deletes the one entry of these arguments, as {@link clearCache} does for all; a write
   * of the key asked after it lands after the delete.
   */
  clearEntry(self: unknown, args: unknown[]): Promise<void> {
    const key = this.keyFor(self, args);
    return this.explicit('clearEntry', () =>
      this.order.clearKey(key, () => this.store.delete(key)),
    );
  }

  /** Called by a clear through any wrapper of this cache (see {@link StoreOrder}). */
  forgetRunning(key: string | undefined): void {
    if (key === undefined) {
      this.inflight.clear();
      this.refreshing.clear();
    } else {
      this.inflight.delete(key);
      this.refreshing.delete(key);
    }
  }

  clearBeingCalculated(): Promise<void> {
    this.inflight.clear();
    this.refreshing.clear();
    return this.explicit('clearBeingCalculated', () => this.store.clearClaims());
  }

  deleteStale(): Promise<void> {
    const { staleAfterMs } = this.live.current();
    if (staleAfterMs === undefined) return Promise.resolve();
    const before = this.settings.clock.now() - staleAfterMs;
    return this.explicit('deleteStale', () => this.store.deleteStale(before));
  }

  /** `cleanupStale`: starts a background `deleteStale` when one is due. */
  private cleanupIfDue(intervalMs: number): void {
    this.cleanup ??= new StaleCleanup({
      clock: this.settings.clock,
      warner: this.warner,
      settings: () => this.live.current(),
      deleteStale: () => this.deleteStale(),
      keepPending: (work) => this.keepPending(work),
    });
    this.cleanup.poke(intervalMs);
  }

  location(): string | undefined {
    return this.settings.core.location?.(this.settings.name);
  }

  /** A requested store operation: its failure is a CachierError naming it, with the cause. */
  private async explicit(operation: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      throw new CachierError(
        'CACHIER_STORE_FAILED',
        `cachier(${this.settings.name}): ${operation} failed in the ${this.settings.core.kind} cache`,
        { cause: error },
      );
    }
  }

  private run(
    self: unknown,
    args: unknown[],
    options: ResolvedCallOptions,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const base = this.live.current();
    const verbose = options.verboseCache || base.verbose;
    const started = base.metrics ? performance.now() : 0;
    const report = this.reporterFor(verbose, base.metrics, started);
    const name = this.settings.name;
    if (options.ignoreCache || !isCachingEnabled()) {
      report?.({
        type: 'bypass',
        name,
        reason: options.ignoreCache ? 'ignore-cache' : 'caching-disabled',
      });
      return this.invoke(self, args);
    }
    if (base.cleanupStale) this.cleanupIfDue(base.cleanupIntervalMs);
    let key: string;
    try {
      key = this.keyFor(self, args);
    } catch (error) {
      return Promise.reject(error);
    }
    const policy = withCallOverrides(base, options);
    if (options.overwriteCache) {
      report?.({ type: 'miss', name, key, reason: 'overwrite-cache' });
      return this.overwrite({ self, args, key, policy, report });
    }
    const read = this.store.read(key, report, true);
    if (isPromiseLike(read)) {
      return read.then((entry) => this.decide({ self, args, key, policy, report }, entry, signal));
    }
    // The common hit of a value core with nobody listening (or only the metrics recorder):
    // what decide() would do, minus the call state and the event it need not build.
    const onlyMetrics = report !== undefined && !verbose && this.settings.onEvent === undefined;
    if (
      read !== undefined &&
      (report === undefined || onlyMetrics) &&
      (read.value != null || policy.allowNone) &&
      (this.neverStale(policy) || !isStale(read.calculatedAt, this.settings.clock.now(), policy))
    ) {
      if (onlyMetrics) this.recorder?.hitSince(started);
      return read.settled ?? Promise.resolve(read.value);
    }
    return this.decide({ self, args, key, policy, report }, read, signal);
  }

  private invoke(self: unknown, args: unknown[]): Promise<unknown> {
    try {
      return Promise.resolve(this.settings.fn.apply(self, args));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private keyFor(self: unknown, args: unknown[]): string {
    if (this.keyMemo) return this.keyMemo.keyOf(args);
    return cacheKey(args, self, this.settings.hashArgs, this.rawKeys);
  }

  /** The wrapper's counts and latencies; all zero while metrics are off. */
  metrics(): CachierMetrics {
    return (
      this.recorder ?? new MetricsRecorder(this.settings.name, this.settings.core.kind, false)
    ).snapshot();
  }

  resetMetrics(): void {
    this.recorder?.reset();
  }

  private reporterFor(verbose: boolean, metrics: boolean, started: number): Report {
    const listener = this.settings.onEvent;
    if (!verbose && !listener && !metrics) return undefined;
    let track: ((event: CachierEvent) => void) | undefined;
    if (metrics) {
      this.recorder ??= new MetricsRecorder(this.settings.name, this.settings.core.kind);
      track = this.recorder.track(started);
      if (!verbose && !listener) return track;
    }
    const rawKeys = this.rawKeys;
    return (original) => {
      track?.(original);
      const event =
        rawKeys && 'key' in original ? { ...original, key: publicKey(original.key) } : original;
      // stderr: verbose lines must never mix into the program's own output.
      if (verbose) process.stderr.write(`${formatEvent(event)}\n`);
      if (listener) {
        try {
          listener(event);
        } catch {
          // A listener's own bug must not turn a good call into a failed one.
        }
      }
    };
  }

  /** Step 3 and 4: serve what the store holds, or go on to obtain a value. */
  private decide(
    call: Call,
    entry: ValueEntry | undefined,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const { key, policy, report } = call;
    const name = this.settings.name;
    if (!entry) {
      report?.({ type: 'miss', name, key, reason: 'absent' });
    } else if (entry.value == null && !policy.allowNone) {
      report?.({ type: 'miss', name, key, reason: 'none-not-allowed' });
    } else {
      const now = this.settings.clock.now();
      const ageMs = now - entry.calculatedAt;
      if (this.neverStale(policy) || !isStale(entry.calculatedAt, now, policy)) {
        report?.({ type: 'hit', name, key, ageMs });
        return entry.settled ?? Promise.resolve(entry.value);
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
        if (!running) this.refreshInBackground(call);
        return Promise.resolve(entry.value);
      }
      report?.({ type: 'stale', name, key, ageMs, action: 'recalculate' });
    }
    return this.obtain(call, signal);
  }

  /** Step 5 in this process: join its running calculation of the key, or start one. */
  private obtain(call: Call, signal?: AbortSignal): Promise<unknown> {
    // Aborted while the read was on its way: the caller is gone (its call already
    // rejected), so it neither joins nor starts a calculation.
    if (signal?.aborted) return Promise.reject(signal.reason);
    const running = this.inflight.get(call.key);
    // A calculation whose callers all gave up is winding down to their abort: a caller
    // that comes now never aborted anything, so it starts anew instead of joining it.
    if (running && !running.abandon?.signal.aborted) {
      const { report, key } = call;
      if (report) {
        const name = this.settings.name;
        report({ type: 'wait', name, key, on: 'this-process' });
        running.promise.then(
          () => report({ type: 'wait-end', name, key, reason: 'value-arrived' }),
          () => undefined,
        );
      }
      this.join(running, signal);
      // A wait longer than a timer can run (Infinity included) is joined for good: Node
      // would run that timer after 1 ms and make this caller calculate the key again.
      const { waitMs } = call.policy;
      return waitMs > 0 && waitMs <= MAX_TIMER_MS
        ? this.joinWithTimeout(running.promise, call, signal)
        : running.promise;
    }
    // AbortControllers are costly to make (~2 µs): only a caller that can abort needs one.
    const abandon = signal === undefined ? undefined : new AbortController();
    const promise = this.claimAndCalculate(call, abandon?.signal ?? neverAbortedSignal());
    const entry: Running = { promise, abandon, callers: 0 };
    this.join(entry, signal);
    this.track(call.key, entry);
    return promise;
  }

  /** Counts a caller in; when every caller's signal aborted, the shared wait stops. */
  private join(running: Running, signal: AbortSignal | undefined): void {
    running.callers++;
    if (signal === undefined) {
      // A caller that cannot abort keeps the calculation wanted for good.
      running.callers = Number.POSITIVE_INFINITY;
      return;
    }
    const leave = () => {
      if (--running.callers === 0) running.abandon?.abort();
    };
    // One signal may serve a program's every call (a shutdown signal): a listener left
    // behind would keep this calculation, and its value, alive as long as the signal.
    const settled = onAbort(signal, leave);
    running.promise.then(settled, settled);
  }

  private track(key: string, running: Running): void {
    this.inflight.set(key, running);
    this.keepPending(running.promise);
    const forget = () => {
      if (this.inflight.get(key) === running) this.inflight.delete(key);
    };
    running.promise.then(forget, forget);
  }

  private keepPending(work: Promise<unknown>): void {
    this.pending.add(work);
    const done = () => this.pending.delete(work);
    work.then(done, done);
  }

  /**
   * Waits for this process's running calculation, but at most `waitMs`; then calculates,
   * unless this caller's signal aborted meanwhile (nobody would get that value).
   */
  private joinWithTimeout(
    running: Promise<unknown>,
    call: Call,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let stopListening: (() => void) | undefined;
      const stopWaiting = () => {
        clearTimeout(timer);
        stopListening?.();
      };
      const timer = setTimeout(() => {
        stopWaiting();
        call.report?.({
          type: 'wait-end',
          name: this.settings.name,
          key: call.key,
          reason: 'timeout',
        });
        this.calculate(call, undefined, false).then(resolve, reject);
      }, call.policy.waitMs);
      if (signal) stopListening = onAbort(signal, stopWaiting);
      running.then(
        (value) => {
          stopWaiting();
          resolve(value);
        },
        (error: unknown) => {
          stopWaiting();
          reject(error);
        },
      );
    });
  }

  /**
   * Steps 5 and 6 across processes: take the key's claim, or wait for its owner until a
   * value arrives, the claim is gone (released or lapsed), `waitForCalcTimeout` ends, or
   * every caller stopped waiting (`abandon`).
   */
  private async claimAndCalculate(call: Call, abandon: AbortSignal): Promise<unknown> {
    const { key, policy, report } = call;
    const name = this.settings.name;
    const clock = this.settings.clock;
    const waitMs = policy.waitMs > 0 ? policy.waitMs : Number.POSITIVE_INFINITY;
    const waitStarted = elapsedClock(clock);
    let seenHeld = false;
    let slowSince: (() => number) | undefined;
    for (let attempt = 0; ; attempt++) {
      const claim = await this.store.claim(key, report);
      if (claim === 'failed' || claim === 'slow') {
        // A slow store while another owner's claim is known: keep waiting for a lease's
        // time rather than calculate the key a second time. Any other failure: fail open.
        slowSince ??= elapsedClock(clock);
        const patience = this.settings.core.leaseMs ?? 0;
        if (claim === 'failed' || !seenHeld || slowSince() >= patience) {
          return this.calculate(call, undefined, false);
        }
      } else {
        slowSince = undefined;
      }
      if (typeof claim === 'object') {
        // Another owner may have stored the value between our read and our claim.
        const stored = await this.freshEntry(call);
        if (seenHeld) {
          report?.({
            type: 'wait-end',
            name,
            key,
            reason: stored ? 'value-arrived' : 'owner-gone',
          });
        }
        if (stored) {
          await this.store.release(key, claim, report);
          return stored.value;
        }
        return this.calculate(call, claim, false);
      }
      if (!seenHeld) report?.({ type: 'wait', name, key, on: 'other-owner' });
      seenHeld = true;
      const stored = await this.freshEntry(call);
      if (stored) {
        report?.({ type: 'wait-end', name, key, reason: 'value-arrived' });
        return stored.value;
      }
      const remaining = waitMs - waitStarted();
      if (remaining <= 0) {
        report?.({ type: 'wait-end', name, key, reason: 'timeout' });
        return this.calculate(call, undefined, false);
      }
      if (abandon.aborted) throw abandon.reason;
      await this.waitUntilChange(key, attempt, remaining, abandon);
    }
  }

  private async waitUntilChange(
    key: string,
    attempt: number,
    remainingMs: number,
    abandon: AbortSignal,
  ): Promise<void> {
    const stop = new AbortController();
    // Beyond a timer's reach the poll (at most a second) comes first anyway, and the caller
    // checks its deadline after each; Node would run such a timer after 1 ms (a busy poll).
    const timer =
      remainingMs <= MAX_TIMER_MS ? setTimeout(() => stop.abort(), remainingMs) : undefined;
    // One listener per signal however many keys wait on it (the never-aborted one is shared).
    const stopListening = onAbort(abandon, () => stop.abort());
    try {
      await waitForChange(this.settings.core, this.settings.name, key, attempt, stop.signal);
    } finally {
      clearTimeout(timer);
      stopListening();
    }
  }

  /** `overwriteCache`: calculate and store now; claim if free so waiters elsewhere wait for us. */
  private async overwrite(call: Call): Promise<unknown> {
    const claim = await this.store.claim(call.key, call.report);
    return this.calculate(call, typeof claim === 'object' ? claim : undefined, false);
  }

  private refreshInBackground(call: Call): void {
    const { key, report } = call;
    const name = this.settings.name;
    const token = Symbol(key);
    this.refreshing.set(key, token);
    const refresh = async () => {
      const claim: ClaimAttempt = await this.store.claim(key, report);
      if (claim === 'failed' || claim === 'slow') return;
      if (claim === 'held') {
        report?.({ type: 'refresh-skipped', name, key, reason: 'claimed-elsewhere' });
        return;
      }
      if (await this.freshEntry(call)) {
        report?.({ type: 'refresh-skipped', name, key, reason: 'fresh-elsewhere' });
        await this.store.release(key, claim, report);
        return;
      }
      const running: Running = {
        promise: this.calculate(call, claim, true),
        abandon: undefined,
        callers: Number.POSITIVE_INFINITY,
      };
      this.track(key, running);
      await running.promise;
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

  /**
   * Step 6, kept for `settle()`: an overwrite, or a waiter's own calculation after its
   * `waitForCalcTimeout`, goes on storing after its caller gave up, as a shared one does.
   */
  private calculate(
    call: Call,
    claim: Exclude<ClaimAttempt, string> | undefined,
    background: boolean,
  ): Promise<unknown> {
    const work = this.runAndStore(call, claim, background);
    this.keepPending(work);
    return work;
  }

  /** Step 6: run the function (renewing the claim meanwhile), store, release. */
  private async runAndStore(
    call: Call,
    claim: Exclude<ClaimAttempt, string> | undefined,
    background: boolean,
  ): Promise<unknown> {
    const { key, report } = call;
    report?.({ type: 'calculate', name: this.settings.name, key, background, claimed: !!claim });
    const stopRenewing = claim ? this.store.hold(key, claim, report) : undefined;
    const order = this.order.begin(key);
    try {
      const value = await this.settings.fn.apply(call.self, call.args);
      await this.storeResult(call, value, order, claim);
      return value;
    } finally {
      this.order.end(key);
      stopRenewing?.();
      if (claim) await this.store.release(key, claim, report);
    }
  }

  private async storeResult(
    call: Call,
    value: unknown,
    order: number,
    claim: Exclude<ClaimAttempt, string> | undefined,
  ): Promise<void> {
    const { key, policy, report } = call;
    const name = this.settings.name;
    if (value == null && !policy.allowNone) {
      report?.({ type: 'not-stored', name, key, reason: 'none-not-allowed' });
      return;
    }
    const { shouldCache } = this.settings;
    if (shouldCache) {
      let keep: boolean;
      try {
        keep = shouldCache(value, call.args);
      } catch (error) {
        // The predicate's own bug must not fail a good call: keep the value out, say why.
        this.warner.warn(
          'CACHIER_SHOULD_CACHE_FAILED',
          'shouldCache threw; the value was not stored',
          error,
        );
        keep = false;
      }
      if (!keep) {
        report?.({ type: 'not-stored', name, key, reason: 'should-cache' });
        return;
      }
    }
    const outcome = await this.order.write(key, order, () =>
      this.store.write(key, value, this.settings.clock.now(), policy.entrySizeLimit, report, claim),
    );
    report?.(
      outcome === 'stored'
        ? { type: 'stored', name, key }
        : { type: 'not-stored', name, key, reason: outcome },
    );
  }

  /** A value the current call may use as it is (read afresh, not shared), or undefined. */
  private async freshEntry(call: Call): Promise<ValueEntry | undefined> {
    const entry = await this.store.read(call.key, call.report, false);
    if (!entry || (entry.value == null && !call.policy.allowNone)) return undefined;
    if (this.neverStale(call.policy)) return entry;
    return isStale(entry.calculatedAt, this.settings.clock.now(), call.policy) ? undefined : entry;
  }

  /**
   * Whether every entry of this wrapper is fresh whatever its age, so a hit needs no clock
   * read (on some machines the costliest step of a memory-core hit). True for a value core
   * without `staleAfter` or `maxAge`: its entries were dated by this process when stored,
   * so the only entries "in the future" there are ones from before the clock was set back,
   * and the future-date rule exists for other machines' entries in shared stores.
   */
  private neverStale(policy: Policy): boolean {
    return this.rawKeys && policy.staleAfterMs === undefined && policy.maxAgeMs === undefined;
  }
}
