/**
 * Every error cachier creates carries a stable `code`; the original error is its `cause`.
 *
 * @example
 * try {
 *   await report.precacheValue(['q3'], value);
 * } catch (error) {
 *   if (error instanceof CachierError) console.error(error.code, error.cause);
 * }
 */
export class CachierError extends Error {
  /** A stable, machine-readable code, such as `'CACHIER_CORRUPT_ENTRY'`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A stored entry could not be read back (truncated, foreign or damaged bytes). A custom
 * core throws it from `get`; the entry is then treated as missing and replaced.
 *
 * @example
 * throw new CorruptEntryError(`entry ${key} is truncated`, { cause: error });
 */
export class CorruptEntryError extends CachierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CACHIER_CORRUPT_ENTRY', message, options);
  }
}

/**
 * A result could not be serialized for storage (functions, symbols, ...).
 *
 * @example
 * if (error instanceof SerializationError) console.warn('not cacheable:', error.message);
 */
export class SerializationError extends CachierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CACHIER_UNSERIALIZABLE', message, options);
  }
}
