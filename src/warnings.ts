/**
 * Stable codes of the warnings cachier emits through `process.emitWarning` (with the
 * name `CachierWarning`), at most once per code and wrapped function.
 *
 * @example
 * process.on('warning', (warning) => {
 *   const code = (warning as Error & { code?: WarningCode }).code;
 *   if (warning.name === 'CachierWarning' && code === 'CACHIER_STORE_FAILED') alertOps(warning);
 * });
 */
export type WarningCode =
  | 'CACHIER_STORE_FAILED'
  | 'CACHIER_UNSERIALIZABLE'
  | 'CACHIER_CORRUPT_ENTRY'
  | 'CACHIER_REFRESH_FAILED'
  | 'CACHIER_SHOULD_CACHE_FAILED'
  | 'CACHIER_CLEANUP_FAILED';

/**
 * Emits each warning code at most once per wrapped function, so a failing store does
 * not flood the log with one line per call.
 */
export class OncePerCodeWarner {
  private readonly emitted = new Set<WarningCode>();

  constructor(private readonly name: string) {}

  warn(code: WarningCode, message: string, cause?: unknown): void {
    if (this.emitted.has(code)) return;
    this.emitted.add(code);
    // The cause's own code (a core's CACHIER_UNSAFE_FOLDER, ..._TIMEOUT) says what to fix.
    const causeCode = (cause as { code?: unknown } | undefined)?.code;
    const named =
      cause instanceof Error && typeof causeCode === 'string' && causeCode !== code
        ? `${cause.name} ${causeCode}`
        : (cause as Error | undefined)?.name;
    const detail = cause instanceof Error ? `${named}: ${cause.message}` : cause;
    process.emitWarning(`cachier(${this.name}): ${message}${detail ? ` (${detail})` : ''}`, {
      type: 'CachierWarning',
      code,
    });
  }
}
