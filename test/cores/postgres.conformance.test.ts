import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe } from 'vitest';
import { PostgresCore } from '../../src/index.js';
import { conformance } from '../conformance/conformance.js';
import { findPostgres } from '../support/postgresServer.js';

const { server } = await findPostgres();

describe.skipIf(!server)('PostgresCore under cachier()', () => {
  if (!server) return;
  let pool: pg.Pool | undefined;
  const table = `cachier_conformance_${randomUUID().slice(0, 8)}`;
  conformance(
    'postgres',
    {
      make: () => {
        pool = new pg.Pool({ connectionString: server.url });
        return new PostgresCore({ pool, table });
      },
      dispose: async () => {
        if (pool) {
          await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta"`);
          await pool.end();
        }
        await server.close();
      },
    },
    { serializes: true },
  );
});
