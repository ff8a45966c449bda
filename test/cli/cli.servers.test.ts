/**
 * The `cachier` CLI against Redis, PostgreSQL and MongoDB: the real built binary in child
 * processes (making its own client from --redis / --postgres / --mongo), on caches made by
 * real wrappers in other child processes. Each store runs when its test server is available.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMongoTestServer } from '../support/mongoTestServer.js';
import { findPostgres } from '../support/postgresServer.js';
import { redisForTests } from '../support/redisServer.js';
import {
  type BuiltPackage,
  buildPackage,
  cli,
  cliJson,
  DEFAULT_IDENTITY,
  makeCaches,
  newHome,
  type StoreSpec,
} from './cliHarness.js';

const REPORTS = 'billing:src/reports:monthlyReport';
const USERS = 'billing:src/users:loadUser';

const redis = await redisForTests('test/cli/cli.servers.test.ts (the CLI on Redis)');
const postgres = await findPostgres();
const mongo = await startMongoTestServer();
afterAll(async () => {
  await redis.server?.close();
  await postgres.server?.close();
  await mongo.close();
});

let built: BuiltPackage;
beforeAll(async () => {
  built = await buildPackage();
});

/** The same store for the wrapper child (spec) and the CLI (flags), fresh for each test. */
interface Store {
  spec: StoreSpec;
  flags: string[];
}

function scenario(kind: string, makeStore: () => Store) {
  it(`ls, stats, inspect, clear and prune work on ${kind} and delete only what they should`, async () => {
    const home = newHome(built);
    const { spec, flags } = makeStore();
    const run = (...args: string[]) => cli(built, home, ...args, ...flags);
    const json = <T>(...args: string[]) => cliJson<T>(built, home, ...args, ...flags);
    const calculated = await makeCaches(built, home, spec, [
      { calls: [1, 2], daysAgo: 5 },
      { calls: [1, 3], staleAfterDays: 3 },
      { name: REPORTS, calls: [1, 2], daysAgo: 40 },
      { name: USERS, calls: [7] },
    ]);
    expect(calculated.fetchReport).toEqual([1, 2, 1, 3]);

    const listing = await json<{
      store: { kind: string; location: string };
      caches: { name: string; entries: number; bytes: number }[];
    }>('ls');
    expect(listing.store.kind).toBe(kind);
    expect(listing.caches.map((cache) => [cache.name, cache.entries])).toEqual(
      [
        [REPORTS, 2],
        [USERS, 1],
        [DEFAULT_IDENTITY, 3],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    for (const cache of listing.caches) expect(cache.bytes).toBeGreaterThan(0);
    const text = await run('ls');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${REPORTS} +2 +\\d+ B +about 1 month ago`, 'm'));

    expect(await json('stats', 'fetchReport', '--stale-after', '3d')).toMatchObject({
      name: DEFAULT_IDENTITY,
      location: null,
      entries: 3,
      stale: 1,
    });
    const unknown = await run('stats', 'nothing');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain(
      `known names:\n  ${REPORTS}\n  ${USERS}\n  ${DEFAULT_IDENTITY}`,
    );

    const entries = await json<{ entries: { key: string }[] }>('inspect', 'loadUser');
    expect(entries.entries).toHaveLength(1);
    const value = await run(
      'inspect',
      'loadUser',
      '--value',
      entries.entries[0]?.key.slice(0, 8) ?? '',
    );
    expect(value.code).toBe(0);
    expect(value.stdout).toContain("{ id: 7, total: 70, title: 'report 7' }");

    expect(await json('clear', 'fetchReport', '--stale-only', '--stale-after', '3d')).toMatchObject(
      {
        deleted: 1,
        remaining: 2,
      },
    );
    const again = await makeCaches(built, home, spec, [{ calls: [1, 2, 3], staleAfterDays: 3 }]);
    expect(again.fetchReport).toEqual([2]);

    const pruned = await json<{ deleted: number; caches: unknown[] }>('prune');
    expect(pruned.deleted).toBe(2);
    expect(pruned.caches).toEqual(
      expect.arrayContaining([
        { name: REPORTS, deleted: 2, remaining: 0 },
        { name: USERS, deleted: 0, remaining: 1 },
        { name: DEFAULT_IDENTITY, deleted: 0, remaining: 3 },
      ]),
    );
    expect(await json('clear', USERS)).toMatchObject({ deleted: 1, remaining: 0 });
    const after = await json<{ caches: { name: string; entries: number }[] }>('ls');
    expect(after.caches.map((cache) => [cache.name, cache.entries])).toEqual([
      [DEFAULT_IDENTITY, 3],
    ]);
    expect((await run('stats', REPORTS)).code).toBe(3);
  });
}

describe.skipIf(!redis.server)('the CLI on Redis', () => {
  scenario('redis', () => {
    const url = redis.server?.url ?? '';
    const prefix = `cli-${randomUUID().slice(0, 8)}:`;
    return { spec: { kind: 'redis', url, prefix }, flags: ['--redis', url, '--prefix', prefix] };
  });

  it('keeps to its --prefix: another prefix on the same server holds nothing', async () => {
    const home = newHome(built);
    const url = redis.server?.url ?? '';
    const prefix = `cli-${randomUUID().slice(0, 8)}:`;
    await makeCaches(built, home, { kind: 'redis', url, prefix }, [{ name: USERS, calls: [1] }]);
    const other = `cli-${randomUUID().slice(0, 8)}:`;
    expect(await cliJson(built, home, 'ls', '--redis', url, '--prefix', other)).toMatchObject({
      caches: [],
    });
    const refused = await cli(built, home, 'ls', '--redis', url, '--prefix', 'no-colon');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--prefix: .*:/);
  });
});

describe.skipIf(!postgres.server)('the CLI on PostgreSQL', () => {
  scenario('postgres', () => {
    const url = postgres.server?.url ?? '';
    const table = `cli_${randomUUID().slice(0, 8)}`;
    return { spec: { kind: 'postgres', url, table }, flags: ['--postgres', url, '--table', table] };
  });

  it('reads a missing --table as an empty store and does not create it', async () => {
    const home = newHome(built);
    const url = postgres.server?.url ?? '';
    const table = `cli_missing_${randomUUID().slice(0, 8)}`;
    for (const args of [['ls'], ['prune']]) {
      expect(
        await cliJson(built, home, ...args, '--postgres', url, '--table', table),
      ).toMatchObject({
        caches: [],
      });
    }
    expect((await cli(built, home, 'clear', 'x', '--postgres', url, '--table', table)).code).toBe(
      3,
    );
    const pg = (await import('pg')).default;
    const pool = new pg.Pool({ connectionString: url });
    try {
      const { rows } = await pool.query('SELECT to_regclass($1) AS found', [table]);
      expect(rows[0]?.found).toBeNull();
    } finally {
      await pool.end();
    }
  });
});

describe('the CLI on MongoDB (wire-protocol test server)', () => {
  scenario('mongo', () => {
    const db = `cli_${randomUUID().slice(0, 8)}`;
    return {
      spec: { kind: 'mongo', uri: mongo.uri, db, collection: 'cache' },
      flags: ['--mongo', mongo.uri, '--db', db, '--collection', 'cache'],
    };
  });

  it('reads a missing --collection as an empty store and does not create it (nor its index)', async () => {
    const home = newHome(built);
    const db = `cli_missing_${randomUUID().slice(0, 8)}`;
    const flags = ['--mongo', mongo.uri, '--db', db, '--collection', 'cache'];
    expect(await cliJson(built, home, 'ls', ...flags)).toMatchObject({ caches: [] });
    expect(await cliJson(built, home, 'prune', ...flags)).toMatchObject({ caches: [] });
    const { MongoClient } = await import('mongodb');
    const client = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 3000 });
    try {
      const indexes = await client
        .db(db)
        .collection('cache')
        .indexes()
        .catch(() => []);
      expect(indexes.map((index) => index.name).filter((name) => name !== '_id_')).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe('a store flag without its optional driver installed', () => {
  let bare: BuiltPackage;
  beforeAll(async () => {
    bare = await buildPackage(['redis', '@redis', 'pg', 'mongodb']);
  });

  it('exits 1 and says which package to install', async () => {
    const home = newHome(bare);
    const cases = [
      [['--redis', 'redis://127.0.0.1:1'], 'npm install redis'],
      [['--postgres', 'postgres://127.0.0.1:1/x'], 'npm install pg'],
      [
        ['--mongo', 'mongodb://127.0.0.1:1', '--db', 'd', '--collection', 'c'],
        'npm install mongodb',
      ],
    ] as const;
    for (const [flags, advice] of cases) {
      const result = await cli(bare, home, 'ls', ...flags);
      expect(result.code, flags[0]).toBe(1);
      expect(result.stderr).toContain(advice);
    }
    // The file core needs none of them.
    expect(await cliJson(bare, home, 'ls')).toMatchObject({ caches: [] });
  });
});
