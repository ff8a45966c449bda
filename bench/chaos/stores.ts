/**
 * The store of a chaos run for each core: a temporary cache folder for the file core, the
 * MongoDB wire-protocol test server, and the Redis and PostgreSQL test servers when they
 * can run here (otherwise a reason to skip, printed by the driver). Each run gets a fresh
 * database, key prefix or table, and everything is removed again by `close`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreName, StoreSpec } from './protocol.js';

/** Short leases, so that a dead owner's claim is taken over within a round. */
export const LEASE_MS: Record<CoreName, number> = {
  file: 2000,
  mongo: 500,
  redis: 500,
  postgres: 500,
};

export type StoreLookup =
  | { spec: StoreSpec; close(): Promise<void>; skipReason?: undefined }
  | { spec?: undefined; skipReason: string };

const runId = () => randomUUID().replaceAll('-', '').slice(0, 12);

/** Sets up the store of `core` for one chaos run. */
export async function openStore(core: CoreName, leaseMs = LEASE_MS[core]): Promise<StoreLookup> {
  switch (core) {
    case 'file': {
      const cacheDir = mkdtempSync(join(tmpdir(), 'cachier-chaos-'));
      return {
        spec: { core, cacheDir, leaseMs },
        close: async () => rmSync(cacheDir, { recursive: true, force: true }),
      };
    }
    case 'mongo': {
      const { startMongoTestServer } = await import('../../test/support/mongoTestServer.js');
      const server = await startMongoTestServer();
      return {
        spec: {
          core,
          uri: server.uri,
          db: `cachier_chaos_${runId()}`,
          collection: 'cache',
          leaseMs,
        },
        close: () => keepingAlive(server.close()),
      };
    }
    case 'redis': {
      const { redisForTests } = await import('../../test/support/redisServer.js');
      const found = await redisForTests('chaos on the redis core');
      if (!found.server) return { skipReason: found.skipReason };
      const { server } = found;
      const prefix = `cachier-chaos:${runId()}:`;
      return {
        spec: { core, url: server.url, prefix, leaseMs },
        close: async () => {
          await dropRedisPrefix(server.url, prefix);
          await server.close();
        },
      };
    }
    case 'postgres': {
      const { findPostgres } = await import('../../test/support/postgresServer.js');
      const found = await findPostgres();
      if (!found.server) return { skipReason: found.skipReason };
      const { server } = found;
      const table = `cachier_chaos_${runId()}`;
      return {
        spec: { core, url: server.url, table, leaseMs },
        close: async () => {
          await dropPostgresTables(server.url, table);
          await server.close();
        },
      };
    }
  }
}

/**
 * The test server's process is unref'd (it must not keep a test alive), so waiting for it
 * to exit would let this program's event loop run dry and end with the wait unsettled.
 */
async function keepingAlive<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, 1000);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

/** Removes the run's keys from a shared Redis server (one given by CACHIER_TEST_REDIS_URL). */
async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const { createClient } = await import('redis');
  const client = await createClient({ url, socket: { reconnectStrategy: false } }).connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } finally {
    await client.close();
  }
}

/** Drops the run's tables from a shared PostgreSQL server. */
async function dropPostgresTables(url: string, table: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta"`);
  } finally {
    await client.end();
  }
}
