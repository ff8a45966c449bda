/**
 * `pool` / `pgPool` take any `pg` Pool (or a function returning one) though cachier's
 * declarations never import `pg` (test/types/packageTypes.test.ts), and still refuse
 * what is not a pool.
 */
import pg from 'pg';
import { describe, expectTypeOf, it } from 'vitest';
import { cachier, type PgPoolSource, PostgresCore } from '../../src/index.js';

describe('PgPoolSource', () => {
  it('accepts a pg Pool and functions returning one', () => {
    const pool = new pg.Pool();
    expectTypeOf(pool).toExtend<PgPoolSource>();
    expectTypeOf(() => pool).toExtend<PgPoolSource>();
    expectTypeOf(async () => pool).toExtend<PgPoolSource>();
    new PostgresCore({ pool });
    cachier(async (n: number) => n, { pgPool: () => pool });
  });

  it('refuses a pg Client and other objects', () => {
    expectTypeOf(new pg.Client()).not.toExtend<PgPoolSource>();
    expectTypeOf({ query() {} }).not.toExtend<PgPoolSource>();
    expectTypeOf('postgres://localhost/db').not.toExtend<PgPoolSource>();
    // @ts-expect-error a connection URL is not a pool
    new PostgresCore({ pool: 'postgres://localhost/db' });
  });
});
