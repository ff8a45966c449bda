import type { Core } from './core.js';
import { expandCacheDir, FileCore } from './cores/file.js';
import { MemoryCore } from './cores/memory.js';
import type { MongoGetter } from './cores/mongoCollection.js';
import type { CachierOptions, DefaultParams } from './options.js';

const DEFAULT_CACHE_DIR = '~/.cachier';
const fileCores = new Map<string, FileCore>();
const mongoCores = new WeakMap<MongoGetter, Core>();

/** Makes MongoDB cores; set by src/cores/mongo.ts so that this module never imports it. */
let makeMongoCore: ((mongetter: MongoGetter) => Core) | undefined;

/** Registers the MongoDB core's factory (called by the mongo core module when loaded). */
export function registerMongoCoreFactory(factory: (mongetter: MongoGetter) => Core): void {
  makeMongoCore = factory;
}

/**
 * Chooses a wrapper's core when it is made. Every `'file'` wrapper with one `cacheDir`
 * shares one FileCore (and so one folder watcher; wrappers are told apart by name);
 * every `'memory'` wrapper gets a store of its own, so that two functions that happen to
 * share a name never see each other's values (share a `MemoryCore` instance for that).
 */
export function resolveCore(options: CachierOptions, defaults: DefaultParams): Core {
  const mongetter = options.mongetter ?? defaults.mongetter;
  if (options.mongetter && options.backend !== undefined && options.backend !== 'mongo') {
    throw new TypeError(
      "cachier: mongetter selects the 'mongo' backend; it cannot be combined with another backend",
    );
  }
  const backend = options.backend ?? (mongetter ? 'mongo' : (defaults.backend ?? 'file'));
  if (typeof backend === 'object') return backend;
  switch (backend) {
    case 'memory':
      // Per wrapper, as in Python cachier: pass one MemoryCore instance to share.
      return new MemoryCore();
    case 'file': {
      const dir = expandCacheDir(options.cacheDir ?? defaults.cacheDir ?? DEFAULT_CACHE_DIR);
      let core = fileCores.get(dir);
      if (!core) {
        core = new FileCore({ cacheDir: dir });
        fileCores.set(dir, core);
      }
      return core;
    }
    case 'mongo': {
      if (!mongetter) {
        throw new TypeError(
          "cachier: backend 'mongo' needs a mongetter option: () => Collection (from the mongodb driver)",
        );
      }
      if (!makeMongoCore) throw new TypeError('cachier: the MongoDB core is not available');
      let core = mongoCores.get(mongetter);
      if (!core) {
        core = makeMongoCore(mongetter);
        mongoCores.set(mongetter, core);
      }
      return core;
    }
    default:
      throw new TypeError(`cachier: unknown backend ${String(backend)}`);
  }
}
