import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe } from 'vitest';
import type { CoreSpec } from '../support/coreSpec.js';
import { findPostgres } from '../support/postgresServer.js';
import { crossProcessSuite } from './crossProcessSuite.js';
import { databaseExtras } from './databaseExtras.js';

const { server } = await findPostgres();
const admin = server ? new pg.Pool({ connectionString: server.url, max: 2 }) : undefined;
afterAll(async () => {
  await admin?.end();
  await server?.close();
});

/** A fresh table per test; disposing drops it. */
const makeSpec = async (tuning = {}): Promise<CoreSpec> => ({
  backend: 'postgres',
  url: server?.url ?? '',
  table: `cachier_xp_${randomUUID().slice(0, 8)}`,
  ...tuning,
});
const dispose = async (spec: CoreSpec) => {
  if (spec.backend !== 'postgres' || !admin) return;
  await admin.query(`DROP TABLE IF EXISTS "${spec.table}", "${spec.table}_meta"`);
};

describe.skipIf(!server)('PostgresCore across processes', () => {
  crossProcessSuite('postgres', makeSpec, dispose);
  databaseExtras('postgres', makeSpec, dispose);
});
