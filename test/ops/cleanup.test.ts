import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AnyCore,
  cachier,
  FileCore,
  MemoryCore,
  MongoCore,
  PostgresCore,
  RedisCore,
  resetDefaultParams,
  setDefaultParams,
} from '../../src/index.js';
import { startMongoTestServer } from '../support/mongoTestServer.js';
import { findPostgres } from '../support/postgresServer.js';
import { redisForTests } from '../support/redisServer.js';
import { runNode, SRC_INDEX_URL, writeFiles } from '../support/runNode.js';

const folders: string[] = [];
function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'cachier-cleanup-'));
  folders.push(folder);
  return folder;
}

const redis = await redisForTests('test/ops/cleanup.test.ts (cleanupStale on RedisCore)');
const redisClient = redis.server
  ? await createClient({ url: redis.server.url }).connect()
  : undefined;
const postgres = await findPostgres();
const pool = postgres.server ? new pg.Pool({ connectionString: postgres.server.url }) : undefined;
const mongoServer = await startMongoTestServer();
const mongoClient = new MongoClient(mongoServer.uri, { serverSelectionTimeoutMS: 5000 });

afterEach(() => {
  resetDefaultParams();
  vi.restoreAllMocks();
  vi.useRealTimers();
});
afterAll(async () => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  await redisClient?.quit();
  await redis.server?.close();
  await pool?.end();
  await postgres.server?.close();
  await mongoClient.close();
  await mongoServer.close();
});

/** A wrapper on `core` with an injected clock, counting its calculations. */
function clocked(core: AnyCore, options: { cleanupStale?: boolean } = {}) {
  const clock = { now: 1_000_000 };
  let calculations = 0;
  const cached = cachier(
    async (n: number) => {
      calculations++;
      return n * 10;
    },
    {
      name: `cleanup-${randomUUID()}`,
      backend: core,
      staleAfter: 1_000,
      cleanupInterval: { seconds: 10 },
      clock: { now: () => clock.now },
      ...options,
    },
  );
  /** Whether an entry for `n` is still stored (read with staleness switched off). */
  const stored = async (n: number): Promise<boolean> => {
    const before = calculations;
    await cached.withOptions({ staleAfter: Number.POSITIVE_INFINITY })(n);
    return calculations === before;
  };
  return { cached, clock, stored, calculations: () => calculations };
}

type Store = [label: string, make: () => AnyCore, skip?: boolean];
const stores: Store[] = [
  ['memory', () => new MemoryCore()],
  ['file', () => new FileCore({ cacheDir: tempFolder() })],
  [
    'mongo (wire test server)',
    () => new MongoCore({ mongetter: () => mongoClient.db('cleanup').collection('cache') }),
  ],
  [
    'redis',
    () =>
      new RedisCore({ client: redisClient as NonNullable<typeof redisClient>, prefix: 'cleanup:' }),
    !redisClient,
  ],
  ['postgres', () => new PostgresCore({ pool: pool as pg.Pool, table: 'cachier_cleanup' }), !pool],
];

describe.each(stores)('cleanupStale on the %s core', (_label, make, skip) => {
  it.skipIf(skip)(
    'deletes entries older than staleAfter, at most once per interval, started by calls',
    async () => {
      const core = make();
      const deleteStale = vi.spyOn(core, 'deleteStale');
      const { cached, clock, stored } = clocked(core, { cleanupStale: true });
      await cached(1); // the first call cleans at once (nothing is stale yet)
      await cached(2);
      await cached.settle();
      expect(deleteStale).toHaveBeenCalledTimes(1);

      clock.now += 5_000; // 1 and 2 are stale now, but the interval has not passed
      await cached(3);
      await cached.settle();
      expect(deleteStale).toHaveBeenCalledTimes(1);
      expect(await stored(1)).toBe(true);

      clock.now += 4_500;
      await cached(4); // calculated 500 ms before the next cleanup: fresh then
      clock.now += 500; // 10 s after the first cleanup
      await cached(5);
      await cached.settle();
      expect(deleteStale).toHaveBeenCalledTimes(2);
      expect(await stored(1)).toBe(false);
      expect(await stored(2)).toBe(false);
      expect(await stored(3)).toBe(false);
      expect(await stored(4)).toBe(true);
      expect(await stored(5)).toBe(true);
    },
  );
});

describe('cleanupStale', () => {
  it('is off by default: stale entries stay', async () => {
    const core = new MemoryCore();
    const deleteStale = vi.spyOn(core, 'deleteStale');
    const { cached, clock, stored } = clocked(core);
    await cached(1);
    clock.now += 60_000;
    await cached(2);
    await cached.settle();
    expect(deleteStale).not.toHaveBeenCalled();
    expect(await stored(1)).toBe(true);
  });

  it('follows setDefaultParams({ cleanupStale, cleanupInterval }) from the next call', async () => {
    const core = new MemoryCore();
    const deleteStale = vi.spyOn(core, 'deleteStale');
    const clock = { now: 0 };
    const cached = cachier(async (n: number) => n, {
      name: `defaults-${randomUUID()}`,
      backend: core,
      staleAfter: 1_000,
      clock: { now: () => clock.now },
    });
    await cached(1);
    expect(deleteStale).not.toHaveBeenCalled();
    setDefaultParams({ cleanupStale: true, cleanupInterval: 2_000 });
    await cached(1);
    clock.now += 1_999;
    await cached(1);
    expect(deleteStale).toHaveBeenCalledTimes(1);
    clock.now += 1;
    await cached(1);
    await cached.settle();
    expect(deleteStale).toHaveBeenCalledTimes(2);
    expect(deleteStale).toHaveBeenLastCalledWith(cached.cacheName, 2_000 - 1_000);
  });

  it('rejects bad options, naming them', () => {
    expect(() => cachier(async () => 1, { name: 'x', cleanupStale: 'yes' as never })).toThrow(
      /cleanupStale must be a boolean/,
    );
    expect(() => cachier(async () => 1, { name: 'x', cleanupInterval: -5 })).toThrow(
      /cleanupInterval must not be negative/,
    );
    expect(() => setDefaultParams({ cleanupInterval: { fortnights: 1 } as never })).toThrow(
      /cleanupInterval has an unknown field 'fortnights'/,
    );
  });

  it('a failing cleanup is one warning per wrapper, never a failed call', async () => {
    const warnings: { message: string; code: unknown }[] = [];
    vi.spyOn(process, 'emitWarning').mockImplementation((warning, options) => {
      warnings.push({ message: String(warning), code: (options as { code?: string }).code });
    });
    const core = new MemoryCore();
    const deleteStale = vi.spyOn(core, 'deleteStale').mockRejectedValue(new Error('disk gone'));
    const { cached, clock } = clocked(core, { cleanupStale: true });
    expect(await cached(1)).toBe(10);
    await cached.settle();
    clock.now += 10_000;
    expect(await cached(2)).toBe(20);
    await cached.settle();
    expect(deleteStale).toHaveBeenCalledTimes(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.code).toBe('CACHIER_CLEANUP_FAILED');
    expect(warnings[0]?.message).toContain('disk gone');
  });

  it('runs one cleanup at a time: calls during a slow cleanup do not start another', async () => {
    const core = new MemoryCore();
    let finish: () => void = () => undefined;
    const deleteStale = vi
      .spyOn(core, 'deleteStale')
      .mockImplementation(() => new Promise<void>((resolve) => (finish = resolve)));
    const { cached, clock } = clocked(core, { cleanupStale: true });
    await cached(1);
    clock.now += 60_000;
    await cached(2);
    expect(deleteStale).toHaveBeenCalledTimes(1);
    finish();
    await cached.settle();
    await cached(3);
    expect(deleteStale).toHaveBeenCalledTimes(2);
  });

  it('a timer cleans an idle wrapper', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const core = new MemoryCore();
    const deleteStale = vi.spyOn(core, 'deleteStale');
    const { cached, clock, stored } = clocked(core, { cleanupStale: true });
    await cached(1);
    await cached.settle();
    expect(deleteStale).toHaveBeenCalledTimes(1);
    clock.now += 10_000;
    vi.advanceTimersByTime(10_000); // no call: the timer starts the cleanup
    await cached.settle();
    expect(deleteStale).toHaveBeenCalledTimes(2);
    expect(await stored(1)).toBe(false);
  });

  it('never keeps a finished program alive', async () => {
    const home = tempFolder();
    const script = join(home, 'cleanupExit.mts');
    writeFiles({
      [script]: `
import { cachier } from '${SRC_INDEX_URL}';
const cached = cachier(async (n: number) => n + 1, {
  name: 'exit-check', backend: 'memory', staleAfter: 1000, cleanupStale: true, cleanupInterval: { hours: 1 },
});
console.log(await cached(1));
`,
    });
    const run = await runNode(script, { home, tsx: true });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('2');
  }, 30_000);
});
