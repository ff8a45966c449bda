import { type DefaultParams, validateDefaultParams } from './options.js';
import { INITIAL_DEFAULTS, processState } from './processState.js';

// The defaults and the enabled flag live in the process state, so that every copy of
// cachier in the process (the ESM and the CommonJS build) sees the same ones.

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
  const state = processState();
  const next: Record<string, unknown> = { ...state.defaults };
  for (const [name, value] of Object.entries(valid)) {
    if (value === undefined) {
      if (name in INITIAL_DEFAULTS) next[name] = INITIAL_DEFAULTS[name as keyof DefaultParams];
      else delete next[name];
    } else {
      next[name] = value;
    }
  }
  state.defaults = next as DefaultParams;
  state.defaultsVersion++;
}

/**
 * The current defaults, as they were given (durations are not converted).
 *
 * @example getDefaultParams().backend // 'file'
 */
export function getDefaultParams(): DefaultParams {
  return { ...processState().defaults };
}

/**
 * Restores the built-in defaults (for tests and long-lived processes that reconfigure).
 *
 * @example afterEach(() => resetDefaultParams());
 */
export function resetDefaultParams(): void {
  const state = processState();
  state.defaults = { ...INITIAL_DEFAULTS };
  state.defaultsVersion++;
}

/**
 * Turns caching back on after {@link disableCaching}.
 *
 * @example enableCaching();
 */
export function enableCaching(): void {
  processState().cachingEnabled = true;
}

/**
 * Makes every wrapper call its function directly (no read, no write) until
 * {@link enableCaching}.
 *
 * @example disableCaching(); // e.g. in a test setup
 */
export function disableCaching(): void {
  processState().cachingEnabled = false;
}

/** Whether caching is on (internal). */
export function isCachingEnabled(): boolean {
  return processState().cachingEnabled;
}

/** The live defaults and their version (internal, for the per-call policy). */
export function currentDefaults(): { params: DefaultParams; version: number } {
  const state = processState();
  return { params: state.defaults, version: state.defaultsVersion };
}
