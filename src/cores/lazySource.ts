import { CachierError } from '../errors.js';

/**
 * A short description of an error for messages: its class and message, nothing else (no
 * stack, no fields that might hold data).
 *
 * @example describeError(new TypeError('bad')) // 'TypeError: bad'
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const name = error.constructor?.name ?? error.name;
  return `${name}: ${error.message}`;
}

/** How a {@link LazySource} names its failures. */
export interface LazySourceFailure {
  /** The CachierError code, e.g. `'CACHIER_REDIS_CLIENT_FAILED'`. */
  code: string;
  /** What the function is, e.g. `'the RedisCore client function'`. */
  what: string;
  /** What it must return, e.g. `'a node-redis client (from createClient())'`. */
  expected: string;
}

/**
 * A database core's client (a node-redis client, a pg Pool) given as itself or as a function
 * returning it (or a promise of it): resolved on first use and kept; a function's failure
 * is not kept, and {@link forget} makes the next use ask the function again (after the
 * database proved unreachable), while a client given as itself is kept for good.
 *
 * @example
 * const pool = new LazySource(options.pool, isPool, { code: 'CACHIER_POSTGRES_POOL_FAILED',
 *   what: 'the PostgresCore pool function', expected: 'a pg Pool (new pg.Pool(...))' });
 * const resolved = await pool.get();
 */
export class LazySource<T> {
  private pending: Promise<T> | undefined;

  constructor(
    private readonly source: T | (() => T | Promise<T>),
    private readonly accept: (value: unknown) => value is T,
    private readonly failure: LazySourceFailure,
  ) {}

  get(): Promise<T> {
    if (!this.pending) {
      const attempt = this.resolve();
      this.pending = attempt;
      attempt.catch(() => {
        if (this.pending === attempt) this.pending = undefined;
      });
    }
    return this.pending;
  }

  /** Asks a function source again on the next {@link get}; a value source stays. */
  forget(): void {
    if (typeof this.source === 'function') this.pending = undefined;
  }

  private async resolve(): Promise<T> {
    const { source, failure } = this;
    if (typeof source !== 'function') return source;
    let value: unknown;
    try {
      value = await (source as () => T | Promise<T>)();
    } catch (error) {
      throw new CachierError(failure.code, `${failure.what} failed: ${describeError(error)}`, {
        cause: error,
      });
    }
    if (!this.accept(value)) {
      throw new CachierError(failure.code, `${failure.what} must return ${failure.expected}`);
    }
    return value;
  }
}
