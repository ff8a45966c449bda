import pg from 'pg';
import { afterAll, describe, it } from 'vitest';
import { PostgresCore } from '../../src/index.js';
import { coreConformance } from '../../src/testing/index.js';
import { findPostgres } from '../support/postgresServer.js';

const { server } = await findPostgres();
const pool = server ? new pg.Pool({ connectionString: server.url }) : undefined;
afterAll(async () => {
  await pool?.end();
  await server?.close();
});

describe.skipIf(!pool)('PostgresCore', () => {
  const table = 'cachier_kit';
  coreConformance({
    describe,
    test: it,
    makeCore: ({ leaseMs }) =>
      new PostgresCore({ pool: pool as pg.Pool, table, ...(leaseMs ? { leaseMs } : {}) }),
    minLeaseMs: 200,
    sharedStore: true,
    subscribe: true,
    names: true,
    list: true,
    corrupt: async (_core, name, key) => {
      await pool?.query(`UPDATE ${table} SET calculated_at = 'NaN' WHERE name = $1 AND key = $2`, [
        name,
        key,
      ]);
    },
  });
});
