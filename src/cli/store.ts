import { lstatSync } from 'node:fs';
import type { Core } from '../cores/contract.js';
import { expandCacheDir, FileCore } from '../cores/file.js';
import { MongoCore } from '../cores/mongo.js';
import { PostgresCore } from '../cores/postgres.js';
import { RedisCore } from '../cores/redis.js';
import { withDeadline } from '../timeLimits.js';
import { CliError, EXIT, usageError } from './exitCodes.js';
import { tilde } from './format.js';

/** The store options every command takes (commander's parsed flags). */
export interface StoreFlags {
  dir?: string;
  mongo?: string;
  db?: string;
  collection?: string;
  redis?: string;
  prefix?: string;
  postgres?: string;
  table?: string;
}

/** What a command reports about the store it looked at (`--json`: `store`). */
export interface StoreDescription {
  /** `'file'`, `'mongo'`, `'redis'` or `'postgres'`. */
  kind: 'file' | 'mongo' | 'redis' | 'postgres';
  /** The folder (with `~` for the home folder), or the server without credentials and the collection, prefix or table. */
  location: string;
}

/** An open store: the core, and how to let go of the client the CLI made for it. */
export interface OpenStore {
  core: Core;
  description: StoreDescription;
  close(): Promise<void>;
}

/** How long the CLI waits for a server before it gives up (ms). */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Opens the store the flags name: the file core (default, `--dir` or `~/.cachier`), or a
 * MongoDB, Redis or PostgreSQL core with a client the CLI makes here, loading the
 * optional driver only for its flag.
 */
export async function openStore(flags: StoreFlags): Promise<OpenStore> {
  const chosen = (['dir', 'mongo', 'redis', 'postgres'] as const).filter(
    (flag) => flags[flag] !== undefined,
  );
  if (chosen.length > 1) {
    throw usageError(
      `choose one store: ${chosen.map((flag) => `--${flag}`).join(', ')} were given`,
    );
  }
  requireWith(flags, 'mongo', ['db', 'collection']);
  requireWith(flags, 'redis', ['prefix']);
  requireWith(flags, 'postgres', ['table']);
  if (flags.mongo !== undefined) return openMongo(flags.mongo, flags);
  if (flags.redis !== undefined) return openRedis(flags.redis, flags.prefix);
  if (flags.postgres !== undefined) return openPostgres(flags.postgres, flags.table);
  return openFile(flags.dir ?? '~/.cachier');
}

/** `--db`, `--collection`, `--prefix` and `--table` belong to one store flag each. */
function requireWith(flags: StoreFlags, store: keyof StoreFlags, parts: (keyof StoreFlags)[]) {
  if (flags[store] !== undefined) return;
  const stray = parts.filter((part) => flags[part] !== undefined);
  if (stray.length > 0) throw usageError(`--${stray[0]} goes with --${store}`);
}

function openFile(dir: string): OpenStore {
  const cacheDir = expandCacheDir(dir);
  // A missing folder is an empty store; a file there is a mistake the user should see named.
  const found = lstatSync(cacheDir, { throwIfNoEntry: false });
  if (found && !found.isDirectory() && !found.isSymbolicLink()) {
    throw usageError(`--dir is not a folder: ${tilde(cacheDir)}`);
  }
  return {
    core: new FileCore({ cacheDir }),
    description: { kind: 'file', location: tilde(cacheDir) },
    close: async () => undefined,
  };
}

async function openMongo(uri: string, flags: StoreFlags): Promise<OpenStore> {
  const { db, collection } = flags;
  if (db === undefined || collection === undefined) {
    throw usageError('--mongo needs --db <database> and --collection <collection>');
  }
  const { MongoClient } = await loadDriver('mongodb', '--mongo', () => import('mongodb'));
  let client: InstanceType<typeof MongoClient>;
  try {
    // connectTimeoutMS too: a server that accepts and never answers would otherwise hold
    // a socket (and so the process) for the driver's default 30 s after close().
    client = new MongoClient(uri, {
      serverSelectionTimeoutMS: CONNECT_TIMEOUT_MS,
      connectTimeoutMS: CONNECT_TIMEOUT_MS,
    });
  } catch (error) {
    throw usageError(`--mongo is not a MongoDB connection string (${errorName(error)})`);
  }
  const core = new MongoCore({ mongetter: () => client.db(db).collection(collection) });
  const description: StoreDescription = {
    kind: 'mongo',
    location: `${withoutCredentials(uri)} ${db}.${collection}`,
  };
  const close = () => client.close();
  // MongoCore makes its index (and so the collection) on first use: a mistyped --collection
  // must not leave a new collection behind, so an empty or missing one is an empty store.
  let holdsDocuments: boolean;
  try {
    holdsDocuments =
      (await client
        .db(db)
        .collection(collection)
        .findOne({}, { projection: { _id: 1 } })) !== null;
  } catch (error) {
    await close().catch(() => undefined);
    throw unreachable('MongoDB', uri, error);
  }
  return { core: holdsDocuments ? core : emptyStore(core), description, close };
}

async function openRedis(url: string, prefix = 'cachier:'): Promise<OpenStore> {
  const { createClient } = await loadDriver('redis', '--redis', () => import('redis'));
  let client: ReturnType<typeof createClient>;
  try {
    client = createClient({
      url,
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: false },
    });
  } catch (error) {
    throw usageError(`--redis is not a Redis URL (redis://host:port): ${messageOf(error)}`);
  }
  // The failure surfaces through connect() or the command; an 'error' event must not crash.
  client.on('error', () => undefined);
  try {
    // connectTimeout bounds only the TCP connect: node-redis then waits for its handshake's
    // replies without a bound, so a server that accepts and never answers would hang here.
    await withDeadline(
      client.connect(),
      CONNECT_TIMEOUT_MS,
      () => new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`),
    );
  } catch (error) {
    if (client.isOpen) client.destroy();
    throw unreachable('Redis', url, error);
  }
  let core: RedisCore;
  try {
    core = new RedisCore({ client, prefix });
  } catch (error) {
    client.destroy();
    throw usageError(`--prefix: ${messageOf(error).replace(/^cachier: /, '')}`);
  }
  return {
    core,
    description: { kind: 'redis', location: `${withoutCredentials(url)} prefix ${prefix}` },
    // destroy, not close: close() waits for the replies of commands that timed out.
    close: async () => {
      if (client.isOpen) client.destroy();
    },
  };
}

async function openPostgres(url: string, table = 'cachier'): Promise<OpenStore> {
  const pg = await loadDriver('pg', '--postgres', () => import('pg'));
  const Pool = pg.default?.Pool ?? pg.Pool;
  const pool = new Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  pool.on('error', () => undefined);
  let core: PostgresCore;
  try {
    core = new PostgresCore({ pool, table });
  } catch (error) {
    await pool.end();
    throw usageError(`--table: ${messageOf(error).replace(/^cachier: /, '')}`);
  }
  // PostgresCore makes its tables on first use: a mistyped --table must not leave new
  // tables behind, so a missing table is an empty store.
  let exists: boolean;
  try {
    const { rows } = await pool.query('SELECT to_regclass($1) IS NOT NULL AS exists', [core.table]);
    exists = rows[0]?.exists === true;
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw unreachable('PostgreSQL', url, error);
  }
  return {
    core: exists ? core : emptyStore(core),
    description: { kind: 'postgres', location: `${withoutCredentials(url)} table ${table}` },
    close: () => pool.end(),
  };
}

function unreachable(server: string, url: string, error: unknown): CliError {
  return new CliError(
    `could not reach ${server} at ${withoutCredentials(url)}: ${messageOf(error)}`,
    EXIT.failure,
    'STORE_UNREACHABLE',
  );
}

/**
 * A store known to hold nothing (its collection or table does not exist): it lists no
 * names, so no command goes on to an operation that would create it.
 */
function emptyStore(core: Core): Core {
  return Object.assign(Object.create(core) as Core, { names: async () => [] });
}

/** Imports an optional peer dependency, or explains how to install it. */
async function loadDriver<T>(pkg: string, flag: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new CliError(
        `${flag} needs the '${pkg}' package, an optional peer dependency of cachier: npm install ${pkg}`,
        EXIT.failure,
        'DRIVER_MISSING',
      );
    }
    throw error;
  }
}

/**
 * A connection string for messages: user, password and query removed (drivers read
 * credentials from the query too: pg's `?password=`, MongoDB's `authMechanismProperties`).
 */
export function withoutCredentials(uri: string): string {
  try {
    const url = new URL(uri);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(the given server)';
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** An error's message; cores' and drivers' messages name the operation, never a value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
