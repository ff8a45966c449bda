/**
 * cachier on PostgreSQL, seen from two "machines" (two pools, as two processes would
 * have): both ask for the same slow result at once; one calculates it, the other is woken
 * by NOTIFY the moment it is stored. A later call is a hit, one SELECT.
 *
 *   npm run example:postgres      # postgres://postgres@127.0.0.1:5432/postgres
 *   CACHIER_TEST_POSTGRES_URL=postgres://user@host/db npm run example:postgres
 */

import { cachier, PostgresCore } from 'cachier';
import pg from 'pg';

const url = process.env.CACHIER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// Bound the wait for a connection (pg's default waits for ever).
const poolOf = () => new pg.Pool({ connectionString: url, connectionTimeoutMillis: 3_000 });
const [poolA, poolB] = [poolOf(), poolOf()];

const started = Date.now();
const log = (who: string, what: string) =>
  console.log(`${String(Date.now() - started).padStart(5)} ms  ${who}: ${what}`);

/** The function both machines cache: slow, so the second caller has to wait. */
let calculations = 0;
async function slowSquare(n: number): Promise<number> {
  calculations++;
  log('  ', `calculating ${n}² (1 s)`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return n * n;
}

// The table is created on first use (schema in the README); this run uses its own.
const table = 'cachier_example';
const onMachineA = cachier(slowSquare, {
  name: 'slowSquare',
  backend: new PostgresCore({ pool: poolA, table }),
});
const onMachineB = cachier(slowSquare, {
  name: 'slowSquare',
  backend: new PostgresCore({ pool: poolB, table }),
});

try {
  await onMachineA.clearCache();
  const [a, b] = await Promise.all([
    onMachineA(12).then((value) => {
      log('A', `got ${value}`);
      return value;
    }),
    // B starts a moment later, finds A's claim and waits for its value.
    new Promise((resolve) => setTimeout(resolve, 200))
      .then(() => onMachineB(12))
      .then((value) => {
        log('B', `got ${value} (woken by NOTIFY, not calculated)`);
        return value;
      }),
  ]);
  log('B', `again: ${await onMachineB(12)} (a hit)`);

  const { rows } = await poolA.query(
    `SELECT name, key, octet_length(value) AS bytes, calculated_at FROM ${table} WHERE name = 'slowSquare'`,
  );
  console.log('\nIn PostgreSQL:');
  for (const row of rows) {
    console.log(
      `  ${row.name}  ${row.key.slice(0, 16)}…  ${row.bytes} bytes  ${row.calculated_at}`,
    );
  }

  // The short form: `pgPool` selects the PostgreSQL backend (table 'cachier').
  const viaOption = cachier(slowSquare, { name: 'slowSquareViaOption', pgPool: poolA });
  log('A', `{ pgPool }: ${await viaOption(3)}, then ${await viaOption(3)} (a hit)`);
  await viaOption.clearCache();
  await onMachineA.clearCache();
  if (a !== 144 || b !== 144 || calculations !== 2) {
    throw new Error('both machines should have got 144 from one calculation');
  }
} finally {
  // Ending the pools is all it takes: cachier's LISTEN connection closes with them.
  await Promise.all([poolA.end(), poolB.end()]);
}
