import { type CachierOptions, FileCore } from '../../src/index.js';

/**
 * A store described in plain JSON, so that a test can hand it to child processes and
 * worker threads: each of them builds its own core for the same store from it.
 */
export type CoreSpec =
  | { backend: 'file'; cacheDir: string }
  | { backend: 'mongo'; uri: string; db: string; collection: string };

/** Cachier options for a store, and how to let go of what they hold. */
export interface StoreOptions {
  /** The store part of the options (`backend` or `mongetter`). */
  options: CachierOptions;
  /** Releases what the store holds open (a database client), so the process can exit. */
  close(): Promise<void>;
}

/**
 * Turns a {@link CoreSpec} into cachier options for this process or thread.
 *
 * @example
 * const store = await makeOptions({ backend: 'file', cacheDir: '/tmp/c' });
 * const cached = cachier(fn, { name: 'fn', ...store.options });
 * // ... calls ...
 * await store.close();
 */
export async function makeOptions(spec: CoreSpec): Promise<StoreOptions> {
  switch (spec.backend) {
    case 'file':
      return {
        options: { backend: new FileCore({ cacheDir: spec.cacheDir }) },
        close: async () => undefined,
      };
    case 'mongo':
      return makeMongoOptions(spec);
  }
}

/**
 * MONGODB CORE HOOK: to be completed when the MongoDB core lands. Until then cachier has
 * no MongoDB core registered, so wrapping with these options throws a TypeError at wrap
 * time; that is expected. The driver is imported lazily so that file-core children never
 * load it.
 */
async function makeMongoOptions(
  spec: Extract<CoreSpec, { backend: 'mongo' }>,
): Promise<StoreOptions> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(spec.uri, { serverSelectionTimeoutMS: 3000 });
  return {
    options: { mongetter: () => client.db(spec.db).collection(spec.collection) },
    // Database clients are the user's to close: an open one keeps a child alive.
    close: () => client.close(),
  };
}
