/**
 * The PostgreSQL core: two "machines" (two pools) share one table; both want the same
 * slow result, one calculates it and the other is woken by NOTIFY the moment it is stored.
 * This is what cachier does for each call when it is given `backend: store`:
 *
 *   const report = cachier(slowSquare, { backend: new PostgresCore({ pool }) });
 *
 *   CACHIER_TEST_POSTGRES_URL=postgres://user@host/db npm run example:postgres
 *   npm run example:postgres        # starts a throwaway cluster when PostgreSQL is installed
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { PostgresCore } from '../src/cores/postgres.js';

// Without CACHIER_TEST_POSTGRES_URL, start a throwaway cluster (test/support) if possible.
const found = await (await import('../test/support/postgresServer.js')).findPostgres();
if (!found.server) {
  console.log(found.skipReason);
  process.exit(0);
}
const url = found.server.url;

// Bound the wait for a connection: the core's operationTimeoutMs bounds each operation.
const poolOf = () => new pg.Pool({ connectionString: url, connectionTimeoutMillis: 3_000 });
const pools = [poolOf(), poolOf()];
const [alice, bob] = pools.map((pool) => new PostgresCore({ pool, table: 'cachier_example' }));
if (!alice || !bob) throw new Error('two cores expected');

const name = 'slowSquare';
const key = createHash('sha256').update('slowSquare(12)').digest('hex');

async function slowSquare(n: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return n * n;
}

/** One caller: a stored value, or the claim and the calculation, or a wait for the owner. */
async function call(who: string, core: PostgresCore): Promise<number> {
  const start = performance.now();
  const elapsed = () => `${(performance.now() - start).toFixed(0)} ms`;
  for (;;) {
    const entry = await core.get(name, key);
    if (entry) {
      const value = Number(new TextDecoder().decode(entry.bytes));
      console.log(`${who}: read ${value} after ${elapsed()}`);
      return value;
    }
    const claim = await core.tryClaim(name, key);
    if (claim) {
      try {
        const value = await slowSquare(12);
        const bytes = new TextEncoder().encode(String(value));
        await core.set(name, key, { bytes, calculatedAt: Date.now() });
        console.log(`${who}: calculated ${value} in ${elapsed()}`);
        return value;
      } finally {
        await claim.release();
      }
    }
    // Someone else calculates: wait for its NOTIFY (or 1 s, the polling fallback).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 1000);
      const unsubscribe = core.subscribe(name, key, done);
      function done() {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
  }
}

try {
  console.log(`PostgreSQL: ${process.env.CACHIER_TEST_POSTGRES_URL ? url : 'throwaway cluster'}`);
  await alice.clear(name);
  await Promise.all([call('alice', alice), call('bob  ', bob)]);
  await call('later', bob);
} finally {
  // Pools are the caller's to end; cachier's LISTEN connection closes with them.
  await Promise.all(pools.map((pool) => pool.end()));
  await found.server.close();
}
