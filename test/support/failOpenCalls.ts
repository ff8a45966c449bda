/**
 * What the database cores' fail-open tests (test/cores/redis.failOpen.test.ts,
 * postgres.failOpen.test.ts) observe of cachier(): the warnings per wrapper, a counting
 * wrapped function with its events, and the store errors among them.
 */
import { randomUUID } from 'node:crypto';
import { type CachierEvent, type CachierOptions, cachier } from '../../src/index.js';

/**
 * CachierWarnings emitted while a test runs, by wrapper name.
 *
 * @example
 * const warnings = captureWarnings();
 * await fn.call('a');
 * expect(warnings.codesOf(fn.name)).toEqual(['CACHIER_STORE_FAILED']);
 * warnings.stop();
 */
export function captureWarnings() {
  const seen: { code: string | undefined; message: string }[] = [];
  const listener = (warning: Error & { code?: string }) => {
    if (warning.name === 'CachierWarning') {
      seen.push({ code: warning.code, message: warning.message });
    }
  };
  process.on('warning', listener);
  return {
    codesOf: (name: string) =>
      seen.filter((w) => w.message.startsWith(`cachier(${name})`)).map((w) => w.code),
    stop: () => process.off('warning', listener),
  };
}

/**
 * A counting function wrapped with cachier; each call records how long it took.
 *
 * @example
 * const fn = wrapped({ backend: store });
 * expect((await fn.call('a')).value).toBe('value of a');
 */
export function wrapped(options: CachierOptions) {
  const name = `fail-open-${randomUUID().slice(0, 8)}`;
  const calculations: string[] = [];
  const events: CachierEvent[] = [];
  let during: (() => Promise<void>) | undefined;
  const cached = cachier(
    async (key: string) => {
      calculations.push(key);
      await during?.();
      return `value of ${key}`;
    },
    { ...options, name, onEvent: (event) => events.push(event) },
  );
  return {
    name,
    calculations,
    events,
    /** Runs once inside the next calculation (e.g. to stop the server meanwhile). */
    duringNext(action: () => Promise<void>) {
      during = async () => {
        during = undefined;
        await action();
      };
    },
    async call(key: string) {
      const started = performance.now();
      const value = await cached(key);
      return { value, ms: performance.now() - started };
    },
  };
}

/** The error a store-error event carries. */
export type StoreError = { code?: string; message?: string } | undefined;

/** The store errors among `events`. */
export const storeErrors = (events: CachierEvent[]): StoreError[] =>
  events.flatMap((e) => (e.type === 'store-error' ? [e.error as StoreError] : []));

/** True for an operation the core's breaker skipped without reaching the server. */
export const wasSkipped = (error: StoreError) => /^skipped /.test(error?.message ?? '');

/** Lets process.emitWarning's next-tick delivery happen. */
export const warningsDelivered = () => new Promise((done) => setImmediate(done));
