/**
 * Collects the CachierWarnings a test causes instead of letting Node print them: a passing
 * `npm test` prints no stray warning, and a test asserts the warnings it expects. (A
 * process 'warning' listener alone does not stop Node's default printing.)
 */
import { type MockInstance, vi } from 'vitest';

export interface CollectedWarning {
  readonly code: string | undefined;
  readonly message: string;
}

export interface WarningCollector {
  /** Every CachierWarning emitted since `collectWarnings()`, in order. */
  readonly warnings: CollectedWarning[];
  /** Their codes. */
  codes(): (string | undefined)[];
  /** Emits warnings normally again. */
  restore(): void;
}

type EmitWarning = (warning: string | Error, ...rest: unknown[]) => void;

/**
 * Starts collecting CachierWarnings (other warnings are emitted as usual).
 *
 * @example
 * const collected = collectWarnings();
 * try { await cached(); expect(collected.codes()).toEqual(['CACHIER_UNSERIALIZABLE']); }
 * finally { collected.restore(); }
 */
export function collectWarnings(): WarningCollector {
  const warnings: CollectedWarning[] = [];
  const original = process.emitWarning.bind(process) as EmitWarning;
  const spy = vi.spyOn(process, 'emitWarning') as unknown as MockInstance<EmitWarning>;
  spy.mockImplementation((warning, ...rest) => {
    const [options] = rest;
    const type =
      typeof options === 'string' ? options : (options as { type?: unknown } | undefined)?.type;
    if (type !== 'CachierWarning') {
      original(warning, ...rest);
      return;
    }
    const code =
      typeof rest[1] === 'string' ? rest[1] : (options as { code?: string } | undefined)?.code;
    warnings.push({ code, message: typeof warning === 'string' ? warning : warning.message });
  });
  return {
    warnings,
    codes: () => warnings.map((w) => w.code),
    restore: () => spy.mockRestore(),
  };
}

/**
 * Takes the process's 'warning' listeners away (Node's own, which prints every warning to
 * stderr, among them) until the returned function puts them back: for tests of the real
 * warning channel, which listen to process 'warning' events themselves.
 *
 * @example
 * const restore = silenceWarningOutput(); process.on('warning', collect); ... restore();
 */
export function silenceWarningOutput(): () => void {
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  return () => {
    process.removeAllListeners('warning');
    for (const listener of listeners) process.on('warning', listener);
  };
}
