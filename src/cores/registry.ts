import type { CachierOptions, DefaultParams } from '../options.js';
import { shared } from '../processState.js';
import type { AnyCore } from './contract.js';
import { expandCacheDir, FileCore } from './file.js';
import { MemoryCore } from './memory.js';
import { MongoCore } from './mongo.js';
import { PostgresCore } from './postgres.js';
import { RedisCore } from './redis.js';

const DEFAULT_CACHE_DIR = '~/.cachier';

/**
 * One core per store, shared by every wrapper on it (and by the ESM and CJS builds of
 * cachier in one process): one folder watcher per folder, one index build per
 * collection, one subscriber connection per client.
 */
function coreFor<Source extends object, C extends AnyCore>(
  table: string,
  source: Source,
  make: () => C,
): C {
  const cores = shared(table, () => new WeakMap<object, AnyCore>());
  let core = cores.get(source) as C | undefined;
  if (!core) {
    core = make();
    cores.set(source, core);
  }
  return core;
}

/** What a factory reads: the wrapper's options over the defaults. */
type Settings = CachierOptions & DefaultParams;

/**
 * The built-in backends by name. Each factory runs when a wrapper is made; none of them
 * loads a database driver (the user hands cachier a client, a pool or a collection).
 */
const factories = {
  file: (settings: Settings): AnyCore => {
    const dir = expandCacheDir(settings.cacheDir ?? DEFAULT_CACHE_DIR);
    const cores = shared('fileCores', () => new Map<string, AnyCore>());
    let core = cores.get(dir);
    if (!core) {
      core = new FileCore({ cacheDir: dir });
      cores.set(dir, core);
    }
    return core;
  },
  /** Per wrapper, as in Python cachier: pass one MemoryCore instance to share. */
  memory: (): AnyCore => new MemoryCore(),
  mongo: (settings: Settings): AnyCore => {
    const { mongetter } = settings;
    if (!mongetter) {
      throw new TypeError(
        "cachier: backend 'mongo' needs a mongetter option: () => Collection (from the mongodb driver)",
      );
    }
    return coreFor('mongoCores', mongetter, () => new MongoCore({ mongetter }));
  },
  redis: (settings: Settings): AnyCore => {
    const { redisClient } = settings;
    if (!redisClient) {
      throw new TypeError(
        "cachier: backend 'redis' needs a redisClient option: a connected client from the redis package's createClient(), or a function returning one",
      );
    }
    return coreFor('redisCores', redisClient, () => new RedisCore({ client: redisClient }));
  },
  postgres: (settings: Settings): AnyCore => {
    const { pgPool } = settings;
    if (!pgPool) {
      throw new TypeError(
        "cachier: backend 'postgres' needs a pgPool option: a pg Pool, or a function returning one",
      );
    }
    return coreFor('postgresCores', pgPool, () => new PostgresCore({ pool: pgPool }));
  },
} satisfies Record<string, (settings: Settings) => AnyCore>;

/**
 * The names `backend` accepts.
 *
 * @example const names: BackendName[] = ['file', 'memory', 'mongo'];
 */
export type BackendName = keyof typeof factories;

/** Every backend name, for validation messages. */
export const BACKEND_NAMES = Object.keys(factories) as BackendName[];

/** Options that select a database backend by themselves (as `mongetter` does in Python). */
const SELECTING_OPTIONS = [
  ['mongetter', 'mongo'],
  ['redisClient', 'redis'],
  ['pgPool', 'postgres'],
] as const satisfies ReadonlyArray<readonly [keyof Settings, BackendName]>;

/**
 * Chooses a wrapper's core when it is made: a core object as it is, else the named
 * backend's factory over the wrapper's options and the defaults.
 */
export function resolveCore(options: CachierOptions, defaults: DefaultParams): AnyCore {
  const settings: Settings = { ...defaults, ...definedOnly(options) };
  let selected: BackendName | undefined;
  for (const [option, backend] of SELECTING_OPTIONS) {
    if (options[option] === undefined) continue;
    if (options.backend !== undefined && options.backend !== backend) {
      throw new TypeError(
        `cachier: ${option} selects the '${backend}' backend; it cannot be combined with another backend`,
      );
    }
    selected = backend;
  }
  if (selected === undefined && options.backend === undefined) {
    for (const [option, backend] of SELECTING_OPTIONS) {
      if (defaults[option] !== undefined) selected ??= backend;
    }
  }
  const backend = options.backend ?? selected ?? defaults.backend ?? 'file';
  if (typeof backend === 'object') return backend;
  const factory = (factories as Record<string, (s: Settings) => AnyCore>)[backend];
  if (!factory) throw new TypeError(`cachier: unknown backend ${String(backend)}`);
  return factory(settings);
}

function definedOnly(options: CachierOptions): CachierOptions {
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options))
    if (value !== undefined) result[name] = value;
  return result as CachierOptions;
}
