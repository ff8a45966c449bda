import { type CachierOptions, FileCore, PostgresCore, RedisCore } from '../../src/index.js';

/**
 * A store described in plain JSON, so that a test can hand it to child processes and
 * worker threads: each of them builds its own core for the same store from it.
 */
export type CoreSpec =
  | { backend: 'file'; cacheDir: string }
  | { backend: 'mongo'; uri: string; db: string; collection: string }
  | ({ backend: 'redis'; url: string; prefix: string } & DatabaseTuning)
  | ({ backend: 'postgres'; url: string; table: string } & DatabaseTuning);

/** Core options a Redis or PostgreSQL spec may set (the core's defaults otherwise). */
export interface DatabaseTuning {
  leaseMs?: number;
  operationTimeoutMs?: number;
}

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
    case 'redis':
      return makeRedisOptions(spec);
    case 'postgres':
      return makePostgresOptions(spec);
  }
}

/** The tuning options that are set, so the core's defaults apply to the others. */
function tuning({ leaseMs, operationTimeoutMs }: DatabaseTuning): DatabaseTuning {
  return {
    ...(leaseMs === undefined ? {} : { leaseMs }),
    ...(operationTimeoutMs === undefined ? {} : { operationTimeoutMs }),
  };
}

/** A node-redis client of this process; `close` quits it, as a user would at shutdown. */
async function makeRedisOptions(
  spec: Extract<CoreSpec, { backend: 'redis' }>,
): Promise<StoreOptions> {
  const { createClient } = await import('redis');
  const client = await createClient({ url: spec.url }).connect();
  return {
    options: { backend: new RedisCore({ client, prefix: spec.prefix, ...tuning(spec) }) },
    close: async () => {
      await client.quit();
    },
  };
}

/** A pg Pool of this process; `close` ends it, as a user would at shutdown. */
async function makePostgresOptions(
  spec: Extract<CoreSpec, { backend: 'postgres' }>,
): Promise<StoreOptions> {
  const { default: pg } = await import('pg');
  // A few connections per process: many children share the server's max_connections.
  const pool = new pg.Pool({ connectionString: spec.url, max: 4 });
  // A connection the server drops while idle is reported here; the pool replaces it.
  pool.on('error', () => undefined);
  return {
    options: { backend: new PostgresCore({ pool, table: spec.table, ...tuning(spec) }) },
    close: () => pool.end(),
  };
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
