/** Every error cachier creates carries a stable `code`; the original error is its `cause`. */
export class CachierError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A stored entry could not be read back (truncated, foreign or damaged bytes). */
export class CorruptEntryError extends CachierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CACHIER_CORRUPT_ENTRY', message, options);
  }
}

/** A result could not be serialized for storage (functions, symbols, ...). */
export class SerializationError extends CachierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CACHIER_UNSERIALIZABLE', message, options);
  }
}
