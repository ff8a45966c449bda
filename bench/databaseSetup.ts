/**
 * Redis and PostgreSQL for the benchmark: the servers named by CACHIER_TEST_REDIS_URL and
 * CACHIER_TEST_POSTGRES_URL, else throwaway ones started the way the tests start them
 * (when redis-server / initdb are installed), else none, with the reason. Each store
 * counts its round trips: Redis by the server's own command counter, PostgreSQL by the
 * statements cachier hands to the pool.
 */
import { randomUUID } from 'node:crypto';
import { PostgresCore, RedisCore } from 'cachier';
import type { AnyCore as Core } from '../src/cores/contract.js';
import { findPostgres } from '../test/support/postgresServer.js';
import { redisForTests } from '../test/support/redisServer.js';

/** A database store for a scenario, or why there is none. */
export type Opened<T> = { store: T; skipped?: undefined } | { store?: undefined; skipped: string };

export interface BenchRedis {
  core: Core;
  client: import('redis').RedisClientType;
  url: string;
  prefix: string;
  description: string;
  /** Commands the server processed so far (INFO stats), minus the INFO calls themselves. */
  commandsProcessed(): Promise<number>;
  close(): Promise<void>;
}

export interface BenchPostgres {
  core: Core;
  pool: import('pg').Pool;
  url: string;
  table: string;
  description: string;
  /** Statements sent through the pool so far (each is one round trip). */
  statementsSent(): number;
  close(): Promise<void>;
}

export async function openRedisForBench(): Promise<Opened<BenchRedis>> {
  const found = await redisForTests('the Redis benchmark scenarios');
  if (!found.server) return { skipped: found.skipReason };
  const server = found.server;
  const { createClient } = await import('redis');
  const client = (await createClient({
    url: server.url,
  }).connect()) as import('redis').RedisClientType;
  const prefix = `cachier-bench:${randomUUID().slice(0, 8)}:`;
  let infoCalls = 0;
  return {
    store: {
      core: new RedisCore({ client, prefix }),
      client,
      url: server.url,
      prefix,
      description: `redis-server ${(await client.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?'} (${server.origin}), on this machine`,
      commandsProcessed: async () => {
        const info = await client.info('stats');
        infoCalls++;
        // The INFO being answered is not counted yet; earlier INFO calls are.
        return Number(info.match(/total_commands_processed:(\d+)/)?.[1]) - (infoCalls - 1);
      },
      close: async () => {
        for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) {
          if (keys.length > 0) await client.unlink(keys);
        }
        await client.quit();
        await server.close();
      },
    },
  };
}

export async function openPostgresForBench(): Promise<Opened<BenchPostgres>> {
  const found = await findPostgres();
  if (!found.server) return { skipped: found.skipReason };
  const server = found.server;
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: server.url, max: 4 });
  let statements = 0;
  // Counts what cachier sends: every statement goes through pool.query.
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
    statements++;
    return query(...args);
  };
  const table = `cachier_bench_${randomUUID().slice(0, 8)}`;
  const { rows } = await pool.query('SHOW server_version');
  return {
    store: {
      core: new PostgresCore({ pool, table }),
      pool,
      url: server.url,
      table,
      description: `PostgreSQL ${rows[0]?.server_version ?? '?'} (${process.env.CACHIER_TEST_POSTGRES_URL ? 'CACHIER_TEST_POSTGRES_URL' : 'a throwaway cluster'}), on this machine`,
      statementsSent: () => statements,
      close: async () => {
        await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta"`);
        await pool.end();
        await server.close();
      },
    },
  };
}
