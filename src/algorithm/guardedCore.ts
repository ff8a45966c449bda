import type {
  AnyCore,
  Claim,
  Core,
  MaybePromise,
  ValueCore,
  ValueEntry,
} from '../cores/contract.js';
import { CorruptEntryError } from '../errors.js';
import type { CachierEvent, NotStoredReason, StoreOperation } from '../events.js';
import { CODEC_TAG_BYTES, type ValueCodec } from '../valueCodec.js';
import type { OncePerCodeWarner } from '../warnings.js';
import { signalLocalChange } from './localSignals.js';

/** Receives one call's events (undefined when nobody listens: no event is built then). */
export type Report = ((event: CachierEvent) => void) | undefined;

/**
 * The outcome of a claim attempt: held by us, held by another owner, the store merely
 * timed out (`'slow'`), or it failed.
 */
export type ClaimAttempt = Claim | 'held' | 'slow' | 'failed';

/** A core's operation that only timed out: the store is slow, not gone (see the contract). */
function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.endsWith('_TIMEOUT');
}

/** What became of a value the algorithm tried to store. */
export type WriteOutcome = 'stored' | NotStoredReason;

function isPromiseLike<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as PromiseLike<T> | undefined)?.then === 'function';
}

/**
 * One wrapper's view of its core, failing open: no method throws or rejects. A store
 * failure becomes a `store-error` event and one `CACHIER_STORE_FAILED` warning per
 * wrapper; a corrupt entry becomes a miss and one `CACHIER_CORRUPT_ENTRY` warning. It
 * also holds what every core used to repeat: the value codec and the size limit, the
 * same-process wake-ups after this process's writes and releases, and claim renewal.
 */
export class GuardedCore {
  /**
   * Reads of a key still on their way: concurrent callers share one (async cores only). A
   * store, delete or clear through this wrapper drops the reads begun before it, so a call
   * made after it never gets the value it replaced.
   */
  private readonly reads = new Map<string, Promise<ValueEntry | undefined>>();
  private readonly storesValues: boolean;

  constructor(
    readonly core: AnyCore,
    private readonly name: string,
    private readonly codec: ValueCodec,
    private readonly warner: OncePerCodeWarner,
  ) {
    this.storesValues = core.stores === 'values';
  }

  /**
   * The entry of `key`, or undefined (absent, corrupt, or the store failed). `shared`
   * lets concurrent callers share one read of the store; a read that must see writes
   * made after it started (a re-read after winning a claim) passes false.
   */
  read(key: string, report: Report, shared: boolean): MaybePromise<ValueEntry | undefined> {
    // Only reads of async cores are ever shared; a hit on a value core skips the lookup.
    if (shared && this.reads.size > 0) {
      const running = this.reads.get(key);
      if (running) return running;
    }
    let raw: MaybePromise<unknown>;
    try {
      raw = this.core.get(this.name, key);
    } catch (error) {
      return this.readFailed(key, error, report);
    }
    if (!isPromiseLike(raw)) return this.decoded(key, raw, report);
    const read = raw.then(
      (entry) => this.decoded(key, entry, report),
      (error: unknown) => this.readFailed(key, error, report),
    );
    if (shared) {
      this.reads.set(key, read);
      const forget = () => {
        if (this.reads.get(key) === read) this.reads.delete(key);
      };
      read.then(forget, forget);
    }
    return read;
  }

  /** Encodes and stores a value; resolves to what happened, never rejects. */
  async write(
    key: string,
    value: unknown,
    calculatedAt: number,
    entrySizeLimit: number | undefined,
    report: Report,
    claim?: Claim,
  ): Promise<WriteOutcome> {
    let bytes: Uint8Array | undefined;
    try {
      if (this.storesValues) {
        this.codec.check(value);
        // Only a size limit needs the serialized form; otherwise nothing is copied.
        if (entrySizeLimit !== undefined) bytes = this.codec.encode(value);
      } else {
        bytes = this.codec.encode(value);
      }
    } catch (error) {
      // The codec raises SerializationError; anything else from a serializer means the same.
      this.warner.warn(
        'CACHIER_UNSERIALIZABLE',
        'a result would not come back from the cache as it was, so it was returned and not stored',
        error,
      );
      return 'unserializable';
    }
    if (
      entrySizeLimit !== undefined &&
      bytes !== undefined &&
      bytes.byteLength - CODEC_TAG_BYTES > entrySizeLimit
    ) {
      return 'too-large';
    }
    try {
      if (this.storesValues) {
        await (this.core as ValueCore).set(this.name, key, { value, calculatedAt });
      } else if (claim?.store) {
        // The owner's value, stored only while its claim holds (see Claim.store).
        if (!(await claim.store({ bytes: bytes as Uint8Array, calculatedAt }))) return 'superseded';
      } else {
        await (this.core as Core).set(this.name, key, { bytes: bytes as Uint8Array, calculatedAt });
      }
    } catch (error) {
      this.failed(key, 'set', error, report);
      return 'store-failed';
    }
    this.reads.delete(key);
    signalLocalChange(this.core, this.name, key);
    return 'stored';
  }

  async claim(key: string, report: Report): Promise<ClaimAttempt> {
    try {
      return (await this.core.tryClaim(this.name, key)) ?? 'held';
    } catch (error) {
      this.failed(key, 'claim', error, report);
      return isTimeout(error) ? 'slow' : 'failed';
    }
  }

  async release(key: string, claim: Claim, report: Report): Promise<void> {
    try {
      await claim.release();
    } catch (error) {
      this.failed(key, 'release', error, report);
    }
    signalLocalChange(this.core, this.name, key);
  }

  /**
   * Renews a held claim every quarter lease while the function runs and reports a lost
   * claim once. The timer never keeps the process alive. Returns the stop function.
   */
  hold(key: string, claim: Claim, report: Report): () => void {
    const leaseMs = this.core.leaseMs;
    if (leaseMs === undefined) return () => undefined;
    let renewing = false;
    let lost = false;
    // Set when the calculation ended: a renewal still on its way then answers for a claim
    // that is being (or was) released, so "not held" or a failure means nothing.
    let stopped = false;
    const timer = setInterval(() => {
      if (renewing || lost) return;
      renewing = true;
      claim
        .renew()
        .then(
          (held) => {
            if (held || stopped) return;
            lost = true;
            report?.({ type: 'claim-lost', name: this.name, key });
          },
          (error: unknown) => {
            if (!stopped) this.failed(key, 'renew', error, report);
          },
        )
        .finally(() => {
          renewing = false;
        });
    }, leaseMs / 4);
    timer.unref();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }

  /** Deletes one entry; rejects with the store's error (an explicit request, not a call). */
  async delete(key: string): Promise<void> {
    await this.core.delete(this.name, key);
    this.reads.delete(key);
    signalLocalChange(this.core, this.name, key);
  }

  async clear(): Promise<void> {
    await this.core.clear(this.name);
    this.reads.clear();
    signalLocalChange(this.core, this.name);
  }

  async clearClaims(): Promise<void> {
    await this.core.clearClaims(this.name);
    signalLocalChange(this.core, this.name);
  }

  async deleteStale(calculatedBefore: number): Promise<void> {
    await this.core.deleteStale(this.name, calculatedBefore);
  }

  /** Reports a failed store operation: an event for this call, one warning per wrapper. */
  failed(key: string, operation: StoreOperation, error: unknown, report: Report): void {
    report?.({ type: 'store-error', name: this.name, key, operation, error });
    this.warner.warn(
      'CACHIER_STORE_FAILED',
      `the ${this.core.kind} cache failed (${operation}); calls go on without it`,
      error,
    );
  }

  private decoded(key: string, entry: unknown, report: Report): ValueEntry | undefined {
    if (entry === undefined || entry === null) return undefined;
    if (this.storesValues) return entry as ValueEntry;
    const { bytes, calculatedAt } = entry as { bytes: Uint8Array; calculatedAt: number };
    try {
      return { value: this.codec.decode(bytes), calculatedAt };
    } catch (error) {
      return this.readFailed(key, error, report);
    }
  }

  private readFailed(key: string, error: unknown, report: Report): undefined {
    if (error instanceof CorruptEntryError) {
      this.warner.warn(
        'CACHIER_CORRUPT_ENTRY',
        'a corrupt cache entry was ignored and will be replaced',
        error,
      );
      report?.({ type: 'miss', name: this.name, key, reason: 'corrupt-entry' });
    } else {
      this.failed(key, 'get', error, report);
    }
    return undefined;
  }
}
