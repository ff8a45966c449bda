import type { DefaultParams } from './options.js';
import type { AnyFunction, CacheApi } from './wrap.js';

/**
 * The layout of {@link ProcessState}. Every copy of cachier loaded in one process (the
 * ESM and the CommonJS build, or two installs of one version) that has the same layout
 * shares one state. Bump it whenever a field changes in a way an older copy could not
 * read: copies with different layouts then keep separate states (as two unrelated
 * libraries would) instead of misreading each other's.
 */
export const PROCESS_STATE_LAYOUT = 1;

/** The built-in defaults: what `resetDefaultParams()` goes back to. */
export const INITIAL_DEFAULTS: DefaultParams = Object.freeze({
  backend: 'file',
  nextTime: false,
  allowNone: false,
  waitForCalcTimeout: 0,
});

/** Where the states live on `globalThis`: one slot per layout. */
const SLOTS_KEY = Symbol.for('cachier.processState');

/** What one registered default identity remembers (see src/identity.ts). */
export interface IdentityClaim {
  /** The wrapped function, weakly: a wrapper that is gone no longer holds its identity. */
  readonly fn: WeakRef<object>;
  /**
   * SHA-256 of the function's source text (undefined for native and bound functions),
   * so that the closures one factory makes are not told apart.
   */
  readonly source: string | undefined;
  /** The file the wrapper was made in. */
  readonly file: string;
}

/**
 * Everything cachier keeps per process rather than per copy of its code (internal).
 * Fields are mutable on purpose: each module updates its own part in place.
 */
export interface ProcessState {
  readonly layout: number;
  /** The defaults set by `setDefaultParams`, as given. */
  defaults: DefaultParams;
  /** Bumped on every change of `defaults`, so wrappers re-resolve them only when needed. */
  defaultsVersion: number;
  /** `disableCaching()` / `enableCaching()`. */
  cachingEnabled: boolean;
  /** Every callable cachier made → its API, behind `cacheOf`. */
  readonly wrappers: WeakMap<object, CacheApi<AnyFunction>>;
  /** Default identities in use by this process → who holds them (src/identity.ts). */
  readonly identities: Map<string, IdentityClaim>;
  /** Anything else shared, by key: see {@link shared}. */
  readonly extras: Map<string, unknown>;
}

type Slots = Record<number, ProcessState | undefined>;

let mine: ProcessState | undefined;

function slots(): Slots {
  const holder = globalThis as unknown as Record<symbol, Slots | undefined>;
  let found = holder[SLOTS_KEY];
  if (found === undefined || typeof found !== 'object' || found === null) {
    found = Object.create(null) as Slots;
    // Not enumerable, so it stays out of the way of code that walks globalThis.
    Object.defineProperty(globalThis, SLOTS_KEY, {
      value: found,
      enumerable: false,
      configurable: true,
      writable: false,
    });
  }
  return found;
}

/**
 * The state every copy of cachier with this layout shares in this process (internal).
 * Made on first use.
 *
 * @example
 * processState().cachingEnabled = false; // what disableCaching() does
 */
export function processState(): ProcessState {
  // Looked up once per copy: the state object is never replaced, and calls read it often.
  if (mine !== undefined) return mine;
  const all = slots();
  let state = all[PROCESS_STATE_LAYOUT];
  if (state === undefined) {
    state = {
      layout: PROCESS_STATE_LAYOUT,
      defaults: { ...INITIAL_DEFAULTS },
      defaultsVersion: 0,
      cachingEnabled: true,
      wrappers: new WeakMap(),
      identities: new Map(),
      extras: new Map(),
    };
    all[PROCESS_STATE_LAYOUT] = state;
  }
  mine = state;
  return state;
}

/**
 * A value shared by every copy of cachier in this process, made by `make` on first use:
 * for the file-core table, folder watchers and the like, which must be one per process
 * however many copies of the code are loaded. Keys are per layout, so a key's type may
 * change only with {@link PROCESS_STATE_LAYOUT}.
 *
 * @example
 * const fileCores = shared('fileCores', () => new Map<string, FileCore>());
 */
export function shared<T>(key: string, make: () => T): T {
  const { extras } = processState();
  if (extras.has(key)) return extras.get(key) as T;
  const value = make();
  extras.set(key, value);
  return value;
}
