/**
 * The one typed event stream of a wrapped function. `verboseCache` prints it, the
 * `onEvent` option receives it (metrics, logs, tests), and warnings are emitted beside it (once per wrapper and code).
 * Every event has its `type` and the wrapper's `name`; events about one key carry the
 * `key` (hashed, never argument data), ages are in milliseconds.
 *
 * @example
 * const cached = cachier(fn, {
 *   name: 'fn',
 *   onEvent: (event) => {
 *     if (event.type === 'hit') metrics.histogram('cache.age', event.ageMs);
 *     if (event.type === 'store-error') logger.warn(event.operation, event.error);
 *   },
 * });
 */
export type CachierEvent =
  | { type: 'bypass'; name: string; reason: 'caching-disabled' | 'ignore-cache' }
  | { type: 'hit'; name: string; key: string; ageMs: number }
  | { type: 'miss'; name: string; key: string; reason: MissReason }
  | {
      type: 'stale';
      name: string;
      key: string;
      ageMs: number;
      action: 'recalculate' | 'serve-stale-and-refresh' | 'serve-stale-refresh-running';
    }
  | { type: 'wait'; name: string; key: string; on: 'this-process' | 'other-owner' }
  | {
      type: 'wait-end';
      name: string;
      key: string;
      reason: 'value-arrived' | 'timeout' | 'owner-gone';
    }
  | { type: 'calculate'; name: string; key: string; background: boolean; claimed: boolean }
  | { type: 'stored'; name: string; key: string }
  | { type: 'not-stored'; name: string; key: string; reason: NotStoredReason }
  | {
      type: 'refresh-skipped';
      name: string;
      key: string;
      reason: 'claimed-elsewhere' | 'fresh-elsewhere';
    }
  | { type: 'refresh-failed'; name: string; key: string; error: unknown }
  | { type: 'claim-lost'; name: string; key: string }
  | { type: 'store-error'; name: string; key: string; operation: StoreOperation; error: unknown };

/**
 * Why a call did not take a value from the cache.
 *
 * @example
 * onEvent: (e) => { if (e.type === 'miss' && e.reason === 'corrupt-entry') alert(e.key); }
 */
export type MissReason = 'absent' | 'overwrite-cache' | 'none-not-allowed' | 'corrupt-entry';

/**
 * Why a calculated value was returned but not stored.
 *
 * @example
 * onEvent: (e) => { if (e.type === 'not-stored' && e.reason === 'too-large') count(e.name); }
 */
export type NotStoredReason =
  | 'none-not-allowed'
  | 'should-cache'
  | 'too-large'
  | 'unserializable'
  | 'store-failed'
  | 'superseded';

/**
 * Which core operation failed in a `store-error` event.
 *
 * @example
 * onEvent: (e) => { if (e.type === 'store-error' && e.operation === 'set') page(e.error); }
 */
export type StoreOperation = 'get' | 'set' | 'claim' | 'release' | 'renew' | 'wait';

/**
 * Receives every event of a wrapped function. Must not throw (a throw is ignored).
 *
 * @example
 * const log: CachierEventListener = (event) => console.debug(event.type, event.name);
 */
export type CachierEventListener = (event: CachierEvent) => void;

function shortKey(key: string): string {
  return key.length > 12 ? `${key.slice(0, 12)}…` : key;
}

function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  // verboseCache promises one line per decision; driver and clone errors span several.
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** One human line per event, as `verboseCache` prints it. */
export function formatEvent(event: CachierEvent): string {
  const head =
    event.type === 'bypass'
      ? `[cachier] ${event.name}`
      : `[cachier] ${event.name} ${shortKey(event.key)}`;
  switch (event.type) {
    case 'bypass':
      return `${head}: ${event.reason === 'ignore-cache' ? 'ignoreCache set' : 'caching disabled'}, calling the function without reading or writing the cache`;
    case 'hit':
      return `${head}: hit, value calculated ${formatAge(event.ageMs)} ago, fresh: returned from the cache`;
    case 'miss':
      return `${head}: miss (${event.reason.replaceAll('-', ' ')})`;
    case 'stale':
      return `${head}: stale, value calculated ${formatAge(event.ageMs)} ago: ${
        event.action === 'recalculate'
          ? 'recalculating'
          : event.action === 'serve-stale-and-refresh'
            ? 'returning the stale value, refreshing in the background'
            : 'returning the stale value, a refresh is already running'
      }`;
    case 'wait':
      return `${head}: being calculated by ${event.on === 'this-process' ? 'another call in this process' : 'another owner (process or machine)'}, waiting`;
    case 'wait-end':
      return `${head}: ${
        event.reason === 'timeout'
          ? 'waitForCalcTimeout elapsed, calculating here'
          : event.reason === 'owner-gone'
            ? 'the other owner is gone without a value, calculating here'
            : 'the awaited value arrived'
      }`;
    case 'calculate':
      return `${head}: calculating${event.background ? ' in the background' : ''}${event.claimed ? '' : ' without a claim'}`;
    case 'stored':
      return `${head}: stored the new value`;
    case 'not-stored':
      return `${head}: returned the value without storing it (${event.reason.replaceAll('-', ' ')})`;
    case 'refresh-skipped':
      return `${head}: background refresh skipped, ${
        event.reason === 'claimed-elsewhere'
          ? 'another owner is refreshing'
          : 'another owner already stored a fresh value'
      }`;
    case 'refresh-failed':
      return `${head}: background refresh failed, keeping the stale value: ${describeError(event.error)}`;
    case 'claim-lost':
      return `${head}: lost the claim while calculating (cleared or taken over)`;
    case 'store-error':
      return `${head}: cache ${event.operation} failed: ${describeError(event.error)}`;
  }
}
