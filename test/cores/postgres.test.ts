import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Claim } from '../../src/cores/contract.js';
import { PostgresCore } from '../../src/cores/postgres.js';
import { findPostgres } from '../support/postgresServer.js';
import { sleep } from '../support/time.js';

const found = await findPostgres();
const root = fileURLToPath(new URL('../..', import.meta.url));
const newKey = () => randomBytes(32).toString('hex');
const newName = () => `test-${randomUUID()}`;

/** Waits until `check` holds, polling; fails with `what` when it never does. */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`never happened: ${what}`);
}

describe('PostgresCore options', () => {
  const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
  afterAll(() => pool.end());

  it('rejects bad options with a TypeError naming the option', () => {
    const make = (options: unknown) => () =>
      new PostgresCore(options as ConstructorParameters<typeof PostgresCore>[0]);
    expect(make(undefined)).toThrow(/PostgresCore needs an options object/);
    expect(make({})).toThrow(/PostgresCore pool must be a pg Pool/);
    expect(make({ pool: {} })).toThrow(/PostgresCore pool must be a pg Pool/);
    expect(make({ pool, lease: 5 })).toThrow(/unknown PostgresCore option 'lease'/);
    expect(make({ pool, leaseMs: 10 })).toThrow(/PostgresCore leaseMs must be a number >= 200/);
    expect(make({ pool, leaseMs: Number.NaN })).toThrow(/leaseMs/);
    expect(make({ pool, operationTimeoutMs: 0 })).toThrow(/operationTimeoutMs must be a positive/);
    // Node runs a longer timer after 1 ms: every operation would time out at once.
    expect(make({ pool, operationTimeoutMs: 30 * 24 * 3600_000 })).toThrow(
      /PostgresCore operationTimeoutMs must be at most 2147483647/,
    );
    expect(make({ pool, leaseMs: 2 ** 31 })).toThrow(/PostgresCore leaseMs .* at most 2147483647/);
    for (const table of ['', 'a.b.c', 'x;drop table y', '1abc', 'a"b', 'x'.repeat(59), 7]) {
      expect(make({ pool, table })).toThrow(/PostgresCore table must be a table name/);
    }
  });

  it('never quotes the bad table name back', () => {
    expect(() => new PostgresCore({ pool, table: 'secret;value' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('secret') }),
    );
  });

  it('accepts a pool, a function returning one, and schema-qualified tables', () => {
    expect(new PostgresCore({ pool }).table).toBe('"cachier"');
    expect(new PostgresCore({ pool: () => pool, table: 'app.Cache_1' }).table).toBe(
      '"app"."Cache_1"',
    );
    expect(new PostgresCore({ pool: async () => pool }).leaseMs).toBe(10_000);
    expect(new PostgresCore({ pool }).kind).toBe('postgres');
  });
});

describe.skipIf(!found.server)('PostgresCore on a real PostgreSQL server', () => {
  const url = found.server?.url ?? '';
  const pools: pg.Pool[] = [];
  const makePool = () => {
    const pool = new pg.Pool({ connectionString: url, max: 5 });
    pools.push(pool);
    return pool;
  };
  let poolA: pg.Pool;
  let poolB: pg.Pool;
  let admin: pg.Pool;
  let table: string;
  let coreA: PostgresCore;
  let coreB: PostgresCore;
  const schema = `cachier_test_${randomBytes(6).toString('hex')}`;

  beforeAll(() => {
    poolA = makePool();
    poolB = makePool();
    admin = makePool();
  });
  afterAll(async () => {
    if (created.length > 0) {
      await admin.query(`DROP TABLE IF EXISTS ${created.map((name) => `"${name}"`).join(', ')}`);
    }
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await Promise.all(pools.map((pool) => pool.end()));
    await found.server?.close();
  });

  // Each test gets a table of its own, so tests never see each other's rows (nor an
  // earlier run's, on a shared server); every table is dropped at the end.
  const created: string[] = [];
  const newTable = (prefix: string) => {
    const made = `${prefix}_${randomBytes(6).toString('hex')}`;
    created.push(made, `${made}_meta`);
    return made;
  };
  const freshCores = (options: { leaseMs?: number } = {}) => {
    table = newTable('t');
    coreA = new PostgresCore({ pool: poolA, table, ...options });
    coreB = new PostgresCore({ pool: poolB, table, ...options });
  };
  const rows = async (name: string) =>
    (
      await admin.query(
        `SELECT key, value IS NOT NULL AS has_value, claim_owner IS NOT NULL AS claimed FROM "${table}" WHERE name = $1 ORDER BY key`,
        [name],
      )
    ).rows as { key: string; has_value: boolean; claimed: boolean }[];

  afterEach(() => {
    vi.useRealTimers();
  });

  describe('the table', () => {
    it('is created when missing, with the schema version recorded', async () => {
      freshCores();
      expect(await coreA.get('n', newKey())).toBeUndefined();
      const columns = await admin.query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
        [table],
      );
      expect(columns.rows).toEqual([
        { column_name: 'name', data_type: 'text' },
        { column_name: 'key', data_type: 'text' },
        { column_name: 'value', data_type: 'bytea' },
        { column_name: 'calculated_at', data_type: 'double precision' },
        { column_name: 'format_version', data_type: 'integer' },
        { column_name: 'claim_owner', data_type: 'text' },
        { column_name: 'claim_expires_at', data_type: 'timestamp with time zone' },
      ]);
      const meta = await admin.query(`SELECT property, value FROM "${table}_meta"`);
      expect(meta.rows).toEqual([{ property: 'schema_version', value: '1' }]);
    });

    it('is created once by many pools racing for it (the catalog race is absorbed)', async () => {
      table = newTable('race');
      const racers = Array.from({ length: 8 }, () => makePool());
      const cores = racers.map((pool) => new PostgresCore({ pool, table }));
      const key = newKey();
      await Promise.all(
        cores.map((core, i) => core.set('n', key, { bytes: new Uint8Array([i]), calculatedAt: i })),
      );
      expect(await cores[0]?.get('n', key)).toBeDefined();
    });

    it('lives in the schema named in the table option', async () => {
      await admin.query(`CREATE SCHEMA ${schema}`);
      const core = new PostgresCore({ pool: poolA, table: `${schema}.entries` });
      const key = newKey();
      await core.set('n', key, { bytes: new Uint8Array([9]), calculatedAt: 1 });
      const { rows: found } = await admin.query(
        `SELECT octet_length(value) AS size FROM ${schema}.entries WHERE key = $1`,
        [key],
      );
      expect(found).toEqual([{ size: 1 }]);
    });

    it('is made again when it was dropped meanwhile', async () => {
      freshCores();
      const key = newKey();
      await coreA.set('n', key, { bytes: new Uint8Array([1]), calculatedAt: 1 });
      await admin.query(`DROP TABLE "${table}"`);
      expect(await coreA.get('n', key)).toBeUndefined();
      await coreA.set('n', key, { bytes: new Uint8Array([2]), calculatedAt: 2 });
      expect((await coreA.get('n', key))?.bytes).toEqual(new Uint8Array([2]));
    });

    it('refuses a table whose schema a newer cachier recorded', async () => {
      freshCores();
      await coreA.get('n', newKey());
      await admin.query(`UPDATE "${table}_meta" SET value = '2' WHERE property = 'schema_version'`);
      const fresh = new PostgresCore({ pool: makePool(), table });
      await expect(fresh.get('n', newKey())).rejects.toMatchObject({
        code: 'CACHIER_POSTGRES_SCHEMA',
      });
    });
  });

  describe('entries', () => {
    it('round-trips the exact bytes and calculation time', async () => {
      freshCores();
      const name = newName();
      const samples = [
        new Uint8Array(0),
        Uint8Array.from({ length: 256 }, (_, i) => i),
        new Uint8Array(randomBytes(1024 * 1024)),
        // A view into a larger buffer: only the viewed bytes are stored.
        new Uint8Array(Buffer.from('xxhelloxx').buffer, 2, 5),
      ];
      for (const [i, bytes] of samples.entries()) {
        const key = newKey();
        const copy = bytes.slice();
        const calculatedAt = 1_700_000_000_000 + i + 0.125;
        await coreA.set(name, key, { bytes, calculatedAt });
        const entry = await coreB.get(name, key);
        expect(entry?.calculatedAt).toBe(calculatedAt);
        expect(entry?.bytes).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(entry?.bytes ?? []).equals(copy)).toBe(true);
      }
    });

    it('replaces an entry and keeps a claim on it', async () => {
      freshCores();
      const name = newName();
      const key = newKey();
      const claim = await coreA.tryClaim(name, key);
      await coreA.set(name, key, { bytes: new Uint8Array([1]), calculatedAt: 1 });
      await coreA.set(name, key, { bytes: new Uint8Array([2, 2]), calculatedAt: 2 });
      expect(await coreB.get(name, key)).toEqual({
        bytes: new Uint8Array([2, 2]),
        calculatedAt: 2,
      });
      expect(await coreB.tryClaim(name, key)).toBeUndefined();
      await claim?.release();
      expect(await rows(name)).toEqual([{ key, has_value: true, claimed: false }]);
    });

    it('reads a row of another format version as a miss and a damaged row as corrupt', async () => {
      freshCores();
      const name = newName();
      const [future, damaged] = [newKey(), newKey()];
      await coreA.set(name, future, { bytes: new Uint8Array([1]), calculatedAt: 1 });
      await coreA.set(name, damaged, { bytes: new Uint8Array([1]), calculatedAt: 1 });
      await admin.query(`UPDATE "${table}" SET format_version = 2 WHERE key = $1`, [future]);
      await admin.query(`UPDATE "${table}" SET calculated_at = 'NaN' WHERE key = $1`, [damaged]);
      expect(await coreA.get(name, future)).toBeUndefined();
      await expect(coreA.get(name, damaged)).rejects.toMatchObject({
        code: 'CACHIER_CORRUPT_ENTRY',
      });
    });

    it('names() and list() describe entries without reading values', async () => {
      freshCores();
      const [one, two] = [newName(), newName()];
      const keys = Array.from({ length: 3 }, newKey).sort();
      for (const [i, key] of keys.entries()) {
        await coreA.set(one, key, { bytes: new Uint8Array(i + 1), calculatedAt: 10 + i });
      }
      await coreA.set(two, newKey(), { bytes: new Uint8Array(1), calculatedAt: 1 });
      await coreA.tryClaim(newName(), newKey()); // a claim alone is no entry
      expect(await coreB.names()).toEqual([one, two].sort());
      const listed = [];
      for await (const info of coreB.list(one)) listed.push(info);
      expect(listed).toEqual(keys.map((key, i) => ({ key, calculatedAt: 10 + i, size: i + 1 })));
    });

    it('lists a cache larger than one page completely', async () => {
      freshCores();
      const name = newName();
      await coreA.get(name, newKey()); // makes the table
      await admin.query(
        `INSERT INTO "${table}" (name, key, value, calculated_at, format_version)
         SELECT $1, md5(i::text) || md5((i + 1)::text), '\\x00', i, 1 FROM generate_series(1, 1234) AS i`,
        [name],
      );
      const keys = new Set<string>();
      for await (const info of coreA.list(name)) keys.add(info.key);
      expect(keys.size).toBe(1234);
    });
  });

  describe('claims', () => {
    it('one of 20 concurrent claimers across two pools wins', async () => {
      freshCores();
      const name = newName();
      for (let round = 0; round < 3; round++) {
        const key = newKey();
        const claims = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? coreA : coreB).tryClaim(name, key)),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
      }
    });

    it('a claim on an entry with a value is exclusive too', async () => {
      freshCores();
      const name = newName();
      const key = newKey();
      await coreA.set(name, key, { bytes: new Uint8Array([1]), calculatedAt: 1 });
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? coreA : coreB).tryClaim(name, key)),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
    });

    it('a lapsed lease is taken over; the old owner then cannot renew or release it', async () => {
      freshCores({ leaseMs: 200 });
      const name = newName();
      const key = newKey();
      const first = await coreA.tryClaim(name, key);
      expect(first).toBeDefined();
      expect(await coreB.tryClaim(name, key)).toBeUndefined();
      await sleep(400);
      const second = await coreB.tryClaim(name, key);
      expect(second).toBeDefined();
      expect(await first?.renew()).toBe(false);
      await first?.release();
      // The second owner still holds it.
      expect(await coreA.tryClaim(name, key)).toBeUndefined();
      expect(await second?.renew()).toBe(true);
    });

    it('judges leases on the database clock, not this machine clock', async () => {
      freshCores({ leaseMs: 60_000 });
      const name = newName();
      const [fresh, lapsed] = [newKey(), newKey()];
      expect(await coreA.tryClaim(name, fresh)).toBeDefined();
      expect(await coreA.tryClaim(name, lapsed)).toBeDefined();
      // This machine's clock jumps two hours ahead: a fresh claim stays held.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * 3600_000 });
      expect(await coreB.tryClaim(name, fresh)).toBeUndefined();
      // ...and back two hours: a claim that lapsed on the server's clock is free.
      vi.setSystemTime(Date.now() - 4 * 3600_000);
      await admin.query(
        `UPDATE "${table}" SET claim_expires_at = now() - interval '1 millisecond' WHERE key = $1`,
        [lapsed],
      );
      expect(await coreB.tryClaim(name, lapsed)).toBeDefined();
    });

    it('a renewed claim outlives its first lease', async () => {
      freshCores({ leaseMs: 1_000 });
      const name = newName();
      const key = newKey();
      const claim = await coreA.tryClaim(name, key);
      for (let i = 0; i < 4; i++) {
        await sleep(400);
        expect(await claim?.renew()).toBe(true);
      }
      // 1.6 s after the claim, well past the first lease: still held.
      expect(await coreB.tryClaim(name, key)).toBeUndefined();
      const { rows: lease } = await admin.query(
        `SELECT extract(epoch FROM claim_expires_at - now()) * 1000 AS left_ms FROM "${table}" WHERE key = $1`,
        [key],
      );
      expect(Number(lease[0]?.left_ms)).toBeGreaterThan(400);
    });

    it('renew resolves false after clearClaims, and release then leaves the new owner alone', async () => {
      freshCores();
      const name = newName();
      const key = newKey();
      const first = (await coreA.tryClaim(name, key)) as Claim;
      await coreB.clearClaims(name);
      expect(await first.renew()).toBe(false);
      const second = await coreB.tryClaim(name, key);
      expect(second).toBeDefined();
      await first.release();
      expect(await coreA.tryClaim(name, key)).toBeUndefined();
      expect(await rows(name)).toEqual([{ key, has_value: false, claimed: true }]);
    });

    it('release removes a row left with neither value nor claim, and keeps a stored value', async () => {
      freshCores();
      const name = newName();
      const [failed, stored] = [newKey(), newKey()];
      const failedClaim = await coreA.tryClaim(name, failed);
      const storedClaim = await coreA.tryClaim(name, stored);
      await coreA.set(name, stored, { bytes: new Uint8Array([7]), calculatedAt: 7 });
      await failedClaim?.release();
      await storedClaim?.release();
      expect(await rows(name)).toEqual([{ key: stored, has_value: true, claimed: false }]);
      // Free again for the next claimer.
      expect(await coreB.tryClaim(name, failed)).toBeDefined();
      expect(await coreB.tryClaim(name, stored)).toBeDefined();
    });
  });

  describe('deleting', () => {
    it('delete drops one entry and leaves a claim to its owner', async () => {
      freshCores();
      const name = newName();
      const [plain, claimed, other] = [newKey(), newKey(), newKey()];
      for (const key of [plain, claimed, other]) {
        await coreA.set(name, key, { bytes: new Uint8Array([1]), calculatedAt: 1 });
      }
      const claim = await coreA.tryClaim(name, claimed);
      await coreB.delete(name, plain);
      await coreB.delete(name, claimed);
      await coreB.delete(name, newKey()); // absent is fine
      expect(await coreA.get(name, plain)).toBeUndefined();
      expect(await coreA.get(name, claimed)).toBeUndefined();
      expect(await coreA.get(name, other)).toBeDefined();
      expect(await claim?.renew()).toBe(true);
      expect(await coreB.tryClaim(name, claimed)).toBeUndefined();
    });

    it('clear, clearClaims and deleteStale touch only their own name', async () => {
      freshCores();
      const [mine, theirs] = [newName(), newName()];
      const setup = async () => {
        const out: Record<string, string[]> = {};
        for (const name of [mine, theirs]) {
          const keys = [newKey(), newKey()];
          await coreA.set(name, keys[0] as string, {
            bytes: new Uint8Array([1]),
            calculatedAt: 100,
          });
          await coreA.set(name, keys[1] as string, {
            bytes: new Uint8Array([2]),
            calculatedAt: 300,
          });
          await coreA.tryClaim(name, keys[0] as string);
          out[name] = keys;
        }
        return out;
      };

      let keys = await setup();
      await coreB.clear(mine);
      expect(await rows(mine)).toEqual([{ key: keys[mine]?.[0], has_value: false, claimed: true }]);
      expect((await rows(theirs)).filter((row) => row.has_value)).toHaveLength(2);

      keys = await setup();
      await coreB.clearClaims(mine);
      expect((await rows(mine)).filter((row) => row.claimed)).toHaveLength(0);
      expect(await coreA.tryClaim(mine, keys[mine]?.[0] as string)).toBeDefined();
      expect(await coreA.tryClaim(theirs, keys[theirs]?.[0] as string)).toBeUndefined();

      keys = await setup();
      await coreB.deleteStale(mine, 200);
      expect(await coreA.get(mine, keys[mine]?.[0] as string)).toBeUndefined();
      expect(await coreA.get(mine, keys[mine]?.[1] as string)).toBeDefined();
      expect(await coreA.get(theirs, keys[theirs]?.[0] as string)).toBeDefined();
    });
  });

  describe('subscribe (LISTEN/NOTIFY)', () => {
    it('signals set, release, delete and clear made through another pool; unsubscribe stops it', async () => {
      freshCores();
      const name = newName();
      let live = 0;
      const probe = newKey();
      coreA.subscribe(name, probe, () => live++);
      // The subscription starts listening in the background: wait until a change arrives.
      await eventually(async () => {
        await coreB.set(name, probe, { bytes: new Uint8Array([1]), calculatedAt: 1 });
        return live > 0;
      }, 'a change through pool B reaches a subscriber on pool A');

      // From now on the channel is listened to, so a new subscription is live at once.
      // Each step gets keys of its own, so a late notification of one cannot pass another.
      const bystander = newKey();
      let bystanderCalls = 0;
      coreA.subscribe(name, bystander, () => bystanderCalls++);
      const steps: [string, (key: string) => Promise<unknown>][] = [
        ['set', (key) => coreB.set(name, key, { bytes: new Uint8Array([2]), calculatedAt: 2 })],
        ['release', async (key) => (await coreB.tryClaim(name, key))?.release()],
        ['delete', (key) => coreB.delete(name, key)],
      ];
      for (const [what, step] of steps) {
        const key = newKey();
        let calls = 0;
        coreA.subscribe(name, key, () => calls++);
        await step(key);
        await eventually(() => calls > 0, `${what} signals the subscriber`);
      }
      expect(bystanderCalls).toBe(0);
      await coreB.clear(name);
      await eventually(() => bystanderCalls > 0, 'clear signals every key of the name');

      // Unsubscribed: the same notification that reaches a second subscriber of the same
      // key (in the same dispatch) does not reach it.
      const key = newKey();
      let unsubscribedCalls = 0;
      let sentinelCalls = 0;
      const unsubscribe = coreA.subscribe(name, key, () => unsubscribedCalls++);
      coreA.subscribe(name, key, () => sentinelCalls++);
      unsubscribe();
      await coreB.set(name, key, { bytes: new Uint8Array([3]), calculatedAt: 3 });
      await eventually(() => sentinelCalls > 0, 'the sentinel sees the set');
      expect(unsubscribedCalls).toBe(0);
    });

    for (const mode of ['end-pool', 'leave-pool'] as const) {
      it(`a child process with an open subscription exits on its own (${mode})`, async () => {
        freshCores();
        await coreA.get('n', newKey()); // the table exists before the child starts
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'test/support/postgresChild.ts', url, table, mode],
          { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
        });
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
        });
        const exited = once(child, 'exit');
        await eventually(
          () => stdout.includes('ended') || child.exitCode !== null,
          'the child finishes its work',
        );
        // Once its work is done, nothing may keep the child alive. 10 s is only a bound
        // for a hang (the child is then killed), not a speed requirement.
        const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const [code, signal] = await exited;
        clearTimeout(guard);
        expect({ stdout: stdout.trim().split('\n'), stderr, code, signal }).toEqual({
          stdout: ['notified', 'ended'],
          stderr: '',
          code: 0,
          signal: null,
        });
      });
    }

    it('pool.end() also closes the LISTEN connection', async () => {
      freshCores();
      const application = `cachier-end-${randomBytes(6).toString('hex')}`;
      const pool = new pg.Pool({ connectionString: url, application_name: application });
      const core = new PostgresCore({ pool, table });
      const name = newName();
      const key = newKey();
      let calls = 0;
      core.subscribe(name, key, () => calls++);
      await eventually(async () => {
        await coreB.set(name, key, { bytes: new Uint8Array([1]), calculatedAt: 1 });
        return calls > 0;
      }, 'the subscription is live');
      const connections = async () =>
        Number(
          (
            await admin.query(
              'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1',
              [application],
            )
          ).rows[0]?.n,
        );
      expect(await connections()).toBeGreaterThan(0);
      await pool.end();
      await eventually(async () => (await connections()) === 0, 'every connection is closed');
    });
  });
});
