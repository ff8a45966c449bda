import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresCore } from '../../src/cores/postgres.js';
import { cachier } from '../../src/index.js';
import { cacheKey } from '../../src/keys.js';
import { findPostgres, freePort } from '../support/postgresServer.js';
import { settlesWithin, sleep } from '../support/time.js';
import { collectWarnings } from '../support/warnings.js';

const newKey = () => randomBytes(32).toString('hex');
const entry = { bytes: new Uint8Array([1]), calculatedAt: 1 };

async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`never happened: ${what}`);
}

/** Every operation of the core, each expected to reject. */
function everyOperation(core: PostgresCore): [string, () => Promise<unknown>][] {
  const key = newKey();
  return [
    ['get', async () => core.get('n', key)],
    ['set', () => core.set('n', key, entry)],
    ['tryClaim', () => core.tryClaim('n', key)],
    ['delete', () => core.delete('n', key)],
    ['clear', () => core.clear('n')],
    ['clearClaims', () => core.clearClaims('n')],
    ['deleteStale', () => core.deleteStale('n', 1)],
    ['names', () => core.names()],
    [
      'list',
      async () => {
        for await (const _ of core.list('n')) {
          // reading is enough
        }
      },
    ],
  ];
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('PostgresCore when the server cannot be reached', () => {
  it('rejects every operation when nothing listens on the port', async () => {
    const port = await freePort();
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/x` });
    const core = new PostgresCore({ pool, operationTimeoutMs: 2_000 });
    for (const [what, operation] of everyOperation(core)) {
      await expect(operation(), what).rejects.toThrow();
    }
    // A subscription is no error: the waiter polls.
    const unsubscribe = core.subscribe('n', newKey(), () => undefined);
    unsubscribe();
    await pool.end();
  });

  it('rejects within operationTimeoutMs when the server never answers, then skips it for a while', async () => {
    const silent = await silentServer();
    const pool = new pg.Pool({
      connectionString: `postgres://postgres@127.0.0.1:${silent.port}/x`,
    });
    let poolCalls = 0;
    const core = new PostgresCore({
      pool: () => {
        poolCalls++;
        return pool;
      },
      operationTimeoutMs: 300,
    });
    try {
      await expect(core.get('n', newKey())).rejects.toMatchObject({
        code: 'CACHIER_POSTGRES_TIMEOUT',
        message: expect.stringContaining('operationTimeoutMs'),
      });
      // Right after a timeout, every operation fails at once instead of waiting again.
      for (const [what, operation] of everyOperation(core)) {
        await expect(operation(), what).rejects.toMatchObject({
          code: 'CACHIER_POSTGRES_TIMEOUT',
          message: expect.stringMatching(/^skipped /),
        });
      }
      // Then, after the pause (at least a second), the database is tried again.
      await sleep(1_100);
      await expect(core.tryClaim('n', newKey())).rejects.toMatchObject({
        code: 'CACHIER_POSTGRES_TIMEOUT',
        message: expect.stringMatching(/^PostgreSQL did not complete a claim/),
      });
      // A timeout is the server's fault, not the pool's: the pool function is not asked
      // again (it may well make a new pool each time it is called).
      expect(poolCalls).toBe(1);
    } finally {
      await silent.close();
      await pool.end();
    }
  });
});

describe('PostgresCore pool option as a function', () => {
  it('is called only when needed, and again after the pause that follows its failure', async () => {
    let calls = 0;
    const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/x' });
    const core = new PostgresCore({
      pool: () => {
        calls++;
        if (calls === 1) throw new Error('not yet');
        return calls === 2 ? ({} as pg.Pool) : pool;
      },
      operationTimeoutMs: 500,
    });
    expect(calls).toBe(0);
    await expect(core.get('n', newKey())).rejects.toMatchObject({
      code: 'CACHIER_POSTGRES_POOL_FAILED',
      cause: expect.objectContaining({ message: 'not yet' }),
    });
    // The failure opened the breaker: the next operation is skipped, the function not asked.
    await expect(core.get('n', newKey())).rejects.toMatchObject({
      code: 'CACHIER_POSTGRES_UNAVAILABLE',
      message: expect.stringMatching(/^skipped a read: PostgreSQL was unreachable .*not yet/),
    });
    expect(calls).toBe(1);
    await sleep(1_100); // the pause: max(1000, operationTimeoutMs) ms
    await expect(core.get('n', newKey())).rejects.toMatchObject({
      code: 'CACHIER_POSTGRES_POOL_FAILED',
      message: expect.stringContaining('must return a pg Pool'),
    });
    await sleep(1_100);
    // The third call returns the pool: the failure now comes from the (closed) port.
    await expect(core.get('n', newKey())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(calls).toBe(3);
    await sleep(1_100);
    // The pool is kept: a refused connection is the server's fault, not the function's.
    await core.get('n', newKey()).catch(() => undefined);
    expect(calls).toBe(3);
    await pool.end();
  });
});

const found = await findPostgres();
/** A pool on the test server; the tables named in `tables` are dropped after the block. */
function poolDroppingTables() {
  const pool = new pg.Pool({ connectionString: found.server?.url ?? '' });
  const tables: string[] = [];
  afterAll(async () => {
    for (const table of tables)
      await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta"`);
    await pool.end();
  });
  return { pool, tables };
}

// Vitest runs file-level afterAll hooks after those of every describe block.
afterAll(() => found.server?.close());

describe.skipIf(!found.server)('PostgresCore when the server goes away and comes back', () => {
  const url = found.server?.url ?? '';

  it('a lost LISTEN connection wakes its waiters; a later wait listens again; killed connections are replaced', async () => {
    const application = `cachier-faults-${randomBytes(6).toString('hex')}`;
    const pool = new pg.Pool({ connectionString: url, application_name: application });
    pool.on('error', () => undefined); // terminated idle clients are the pool's own business
    const admin = new pg.Pool({ connectionString: url });
    const table = `faults_${randomBytes(6).toString('hex')}`;
    const core = new PostgresCore({ pool, table });
    const writer = new PostgresCore({ pool: admin, table });
    try {
      const key = newKey();
      let calls = 0;
      core.subscribe('n', key, () => calls++);
      await eventually(async () => {
        await writer.set('n', key, entry);
        return calls > 0;
      }, 'the subscription is live');
      const before = calls;
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
         WHERE application_name = $1 AND query LIKE 'LISTEN %'`,
        [application],
      );
      expect(rows).toEqual([{ done: true }]);
      await eventually(() => calls > before, 'the waiter is woken when its connection is lost');

      // A new subscription (after the retry pause) opens a new LISTEN connection.
      const later = newKey();
      let laterCalls = 0;
      await sleep(1_100);
      core.subscribe('n', later, () => laterCalls++);
      await eventually(async () => {
        await writer.set('n', later, entry);
        return laterCalls > 0;
      }, 'the new subscription is live');
      // Every connection of the pool is killed: the core works on once the pool has
      // replaced them.
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [application],
      );
      await eventually(
        () =>
          core.get('n', later).then(
            (got) => got !== undefined,
            () => false,
          ),
        'the core reads again after its connections were killed',
      );
      const again = newKey();
      await core.set('n', again, entry);
      expect(await writer.get('n', again)).toEqual(entry);
    } finally {
      await pool.end();
      await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta"`);
      await admin.end();
    }
  });
});

describe.skipIf(!found.server)('cachier() on PostgreSQL with foreign or damaged rows', () => {
  const { pool, tables } = poolDroppingTables();

  /** A wrapper on a table of its own (made by its first operation), counting calculations. */
  async function wrapperOnNewTable() {
    const table = `faults_${randomBytes(6).toString('hex')}`;
    tables.push(table);
    const calculated: string[] = [];
    const name = 'rows';
    const cached = cachier(
      async (id: string) => {
        calculated.push(id);
        return `value of ${id}`;
      },
      { name, backend: new PostgresCore({ pool, table, leaseMs: 500 }) },
    );
    await cached.clearCache(); // makes the table
    const keyOf = (id: string) => cacheKey([id], undefined, undefined, false);
    return { table, name, cached, calculated, keyOf };
  }

  it.each([
    ['no expiry (NULL)', 'NULL'],
    ["an expiry of 'infinity'", "'infinity'"],
  ])(
    'a claim row with %s, which can never lapse, is taken over: the call returns its value',
    async (_label, expiry) => {
      const { table, name, cached, calculated, keyOf } = await wrapperOnNewTable();
      await pool.query(
        `INSERT INTO "${table}" (name, key, claim_owner, claim_expires_at) VALUES ($1, $2, 'someone', ${expiry})`,
        [name, keyOf('x')],
      );
      // The default waitForCalcTimeout (0: wait as long as the owner lives) is kept: the
      // planted row has no owner that could ever store a value or let go.
      const value = await settlesWithin(cached('x'), 20_000, 'a claim that never lapses');
      expect(value).toBe('value of x');
      expect(await cached('x')).toBe('value of x');
      expect(calculated).toEqual(['x']);
      const { rows } = await pool.query(`SELECT claim_owner FROM "${table}" WHERE key = $1`, [
        keyOf('x'),
      ]);
      expect(rows).toEqual([{ claim_owner: null }]);
    },
  );
});

describe.skipIf(!found.server)(
  "cachier() on PostgreSQL with another program's table of the same name",
  () => {
    const { pool, tables } = poolDroppingTables();

    it.each([
      ['other columns', 'id serial PRIMARY KEY, name text, key text, payload jsonb'],
      [
        "cachier's column names, one of another type",
        'name text, key text, value text, calculated_at double precision, format_version integer, claim_owner text, claim_expires_at timestamptz, payload jsonb, PRIMARY KEY (name, key)',
      ],
    ])(
      'with %s: refused with one clear warning, left exactly as it was, and calls return their values',
      async (_label, columns) => {
        const table = `foreign_${randomBytes(6).toString('hex')}`;
        tables.push(table);
        await pool.query(`CREATE TABLE "${table}" (${columns})`);
        await pool.query(
          `INSERT INTO "${table}" (name, key, payload) VALUES ('rows', 'k', '{"kept": true}')`,
        );
        const collected = collectWarnings();
        try {
          const calculated: string[] = [];
          const cached = cachier(
            async (id: string) => {
              calculated.push(id);
              return `value of ${id}`;
            },
            { name: 'rows', backend: new PostgresCore({ pool, table }) },
          );
          expect([await cached('a'), await cached('a'), await cached('b')]).toEqual([
            'value of a',
            'value of a',
            'value of b',
          ]);
          expect(calculated).toEqual(['a', 'a', 'b']);
          await expect(cached.clearCache()).rejects.toMatchObject({
            cause: expect.objectContaining({ code: 'CACHIER_POSTGRES_SCHEMA' }),
          });
          expect(collected.codes()).toEqual(['CACHIER_STORE_FAILED']);
          expect(collected.warnings[0]?.message).toMatch(
            /CACHIER_POSTGRES_SCHEMA.*not a cachier table/,
          );
        } finally {
          collected.restore();
        }
        const { rows } = await pool.query(`SELECT name, key, payload FROM "${table}"`);
        expect(rows).toEqual([{ name: 'rows', key: 'k', payload: { kept: true } }]);
        const meta = await pool.query('SELECT to_regclass($1) AS meta', [`"${table}_meta"`]);
        expect(meta.rows).toEqual([{ meta: null }]);
      },
    );
  },
);
