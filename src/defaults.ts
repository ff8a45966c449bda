import { type DefaultParams, validateDefaultParams } from './options.js';

const INITIAL_DEFAULTS: DefaultParams = Object.freeze({
  backend: 'file',
  nextTime: false,
  allowNone: false,
  waitForCalcTimeout: 0,
});

let defaults: DefaultParams = { ...INITIAL_DEFAULTS };
let cachingEnabled = true;
/** Bumped on every change, so wrappers re-resolve their live defaults only when needed. */
let defaultsVersion = 0;

/**
 * Sets defaults for every wrapper; options given to a wrapper win. `staleAfter`,
 * `nextTime`, `waitForCalcTimeout`, `allowNone` and `entrySizeLimit` reach existing
 * wrappers (that did not set them) from their next call; `backend`, `cacheDir`,
 * `mongetter` and `hashArgs` are read when a wrapper is made. A key given as
 * `undefined` goes back to its built-in default.
 *
 * @example
 * setDefaultParams({ staleAfter: { hours: 6 }, cacheDir: '/var/cache/myapp' });
 */
export function setDefaultParams(params: DefaultParams): void {
  const valid = validateDefaultParams(params);
  const next: Record<string, unknown> = { ...defaults };
  for (const [name, value] of Object.entries(valid)) {
    if (value === undefined) {
      if (name in INITIAL_DEFAULTS) next[name] = INITIAL_DEFAULTS[name as keyof DefaultParams];
      else delete next[name];
    } else {
      next[name] = value;
    }
  }
  defaults = next as DefaultParams;
  defaultsVersion++;
}

/**
 * The current defaults, as they were given (durations are not converted).
 *
 * @example getDefaultParams().backend // 'file'
 */
export function getDefaultParams(): DefaultParams {
  return { ...defaults };
}

/**
 * Restores the built-in defaults (for tests and long-lived processes that reconfigure).
 *
 * @example afterEach(() => resetDefaultParams());
 */
export function resetDefaultParams(): void {
  defaults = { ...INITIAL_DEFAULTS };
  defaultsVersion++;
}

/**
 * Turns caching back on after {@link disableCaching}.
 *
 * @example enableCaching();
 */
export function enableCaching(): void {
  cachingEnabled = true;
}

/**
 * Makes every wrapper call its function directly (no read, no write) until
 * {@link enableCaching}.
 *
 * @example disableCaching(); // e.g. in a test setup
 */
export function disableCaching(): void {
  cachingEnabled = false;
}

/** Whether caching is on (internal). */
export function isCachingEnabled(): boolean {
  return cachingEnabled;
}

/** The live defaults and their version (internal, for the per-call policy). */
export function currentDefaults(): { params: DefaultParams; version: number } {
  return { params: defaults, version: defaultsVersion };
}
