/**
 * The MongoDB core through cachier() under what an adversary or a bad day can do to it:
 * foreign data in a claim's place, a foreign unique index, a mongetter or an index build
 * that never answers, a damaged document in a listing. Each call must return its value,
 * never wait for ever, and the cache must come back once the fault is gone.
 */
import { randomUUID } from 'node:crypto';
import {
  type Collection,
  type Db,
  type Document,
  Long,
  MaxKey,
  MinKey,
  MongoClient,
  Timestamp,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachier, MongoCore } from '../../src/index.js';
import { cacheKey } from '../../src/keys.js';
import {
  type MongoServerTarget,
  type MongoTestServer,
  mongoServerTargets,
  startMongoTestServer,
} from '../support/mongoTestServer.js';
import { settlesWithin, sleep } from '../support/time.js';
import { collectWarnings } from '../support/warnings.js';

/** A cached function that records each actual calculation. */
function counted(options: { name: string; backend: MongoCore }) {
  const calculated: string[] = [];
  const cached = cachier(async (id: string) => {
    calculated.push(id);
    return `value of ${id}`;
  }, options);
  return { cached, calculated };
}

type Server = Awaited<ReturnType<MongoServerTarget['start']>>;

const targets = mongoServerTargets();

describe.each(targets)('cachier() on MongoDB with foreign data, on $label', ({ start }) => {
  let server: Server;
  let client: MongoClient;
  let db: Db;

  beforeAll(async () => {
    server = await start();
    client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 5000 });
    db = client.db(`cachier_faults_${randomUUID().slice(0, 8)}`);
  });

  afterAll(async () => {
    await db?.dropDatabase();
    await client?.close();
    await server?.close();
  });

  const fresh = (): Collection<Document> => db.collection(`c_${randomUUID().slice(0, 8)}`);

  it.each<[string, unknown]>([
    ['without expiresAt', { owner: 'someone' }],
    ['with a null expiresAt', { owner: 'someone', expiresAt: null }],
    ['with a string expiresAt', { owner: 'someone', expiresAt: '3000-01-01' }],
    ['with a number expiresAt', { owner: 'someone', expiresAt: 1e18 }],
    ['with a Long expiresAt', { owner: 'someone', expiresAt: Long.fromNumber(1e18) }],
    [
      'with a Timestamp expiresAt',
      { owner: 'someone', expiresAt: new Timestamp({ t: 4e9, i: 1 }) },
    ],
    ['with a MaxKey expiresAt', { owner: 'someone', expiresAt: new MaxKey() }],
    ['with a MinKey expiresAt', { owner: 'someone', expiresAt: new MinKey() }],
    ['that is a string', 'being calculated'],
    ['that is null', null],
    ['that is an array of claims', [{ owner: 'someone', expiresAt: new Date('3000-01-01') }]],
    ['that is an empty array', []],
  ])(
    'a claim %s (written by something else, it can never lapse) is taken over: the call returns its value',
    async (_label, claim) => {
      const collection = fresh();
      const name = 'planted-claim';
      const { cached, calculated } = counted({
        name,
        backend: new MongoCore({ mongetter: () => collection, leaseMs: 500 }),
      });
      const key = cacheKey(['x'], undefined, undefined, false);
      await collection.insertOne({ name, key, claim });

      // The default waitForCalcTimeout (0: wait as long as the owner lives) is kept: the
      // planted claim has no owner that could ever store a value or let go.
      expect(await settlesWithin(cached('x'), 20_000, 'a claim that never lapses')).toBe(
        'value of x',
      );
      expect(calculated).toEqual(['x']);
      // The call's own claim replaced the planted one and was released after the store.
      const doc = await collection.findOne({ name, key });
      expect(doc && 'claim' in doc).toBe(false);
      expect(await cached('x')).toBe('value of x');
      expect(calculated).toEqual(['x']);
    },
  );

  it('a foreign unique index that a claim collides with is a failure, not a held claim: the call returns its value', async () => {
    const collection = fresh();
    // Another program's unique index on `name` alone: a second key of one cache collides.
    await collection.createIndex({ name: 1 }, { unique: true });
    await collection.insertOne({ name: 'foreign-index', key: 'another key' });
    const { cached, calculated } = counted({
      name: 'foreign-index',
      backend: new MongoCore({ mongetter: () => collection }),
    });
    const collected = collectWarnings();
    try {
      expect(await settlesWithin(cached('x'), 20_000, 'a claim no owner holds')).toBe('value of x');
      expect(calculated).toEqual(['x']);
      expect(collected.codes()).toEqual(['CACHIER_STORE_FAILED']);
      expect(collected.warnings[0]?.message).toMatch(/E11000/);
    } finally {
      collected.restore();
    }
  });

  it('list() (cachier ls) skips a document whose value is not binary instead of failing', async () => {
    const collection = fresh();
    const core = new MongoCore({ mongetter: () => collection });
    await core.set('listed', 'good', { bytes: new Uint8Array([1, 2, 3]), calculatedAt: 1000 });
    // Damaged, or another program's: MongoDB's $binarySize refuses a number.
    await collection.insertOne({
      name: 'listed',
      key: 'bad',
      value: 5,
      calculatedAt: new Date(2000),
      formatVersion: 1,
    });
    const listed = [];
    for await (const info of core.list('listed')) listed.push(info);
    expect(listed).toEqual([{ key: 'good', calculatedAt: 1000, size: 3 }]);
    expect(await core.names()).toEqual(['listed']);
  });
});

describe('cachier() on MongoDB when the collection never comes', () => {
  let server: MongoTestServer;
  let client: MongoClient;

  beforeAll(async () => {
    server = await startMongoTestServer();
    client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 2000 });
  });

  afterAll(async () => {
    await server?.delayReplies(0);
    await client?.close();
    await server?.close();
  });

  it('a mongetter that never settles is given up on and asked again: the cache comes back', async () => {
    const collection = client.db('hung').collection(`c_${randomUUID().slice(0, 8)}`);
    let asked = 0;
    const { cached, calculated } = counted({
      name: 'hung-mongetter',
      backend: new MongoCore({
        mongetter: () => {
          asked++;
          // The first answer never comes (a connect that hangs, an await on a dead socket).
          return asked === 1 ? new Promise<never>(() => undefined) : collection;
        },
        operationTimeoutMs: 300,
      }),
    });
    const collected = collectWarnings();
    try {
      expect(await cached('x')).toBe('value of x');
      expect(collected.codes()).toEqual(['CACHIER_STORE_FAILED']);
      expect(collected.warnings[0]?.message).toMatch(/mongetter/);
      await sleep(1100); // the breaker's pause
      expect(await cached('x')).toBe('value of x');
      expect(await cached('x')).toBe('value of x');
      // Asked again, the mongetter answered: the second call stored, the third was a hit.
      expect(asked).toBe(2);
      expect(calculated).toEqual(['x', 'x']);
    } finally {
      collected.restore();
    }
  });

  it('an index build whose reply never came is given up on: the cache comes back once the server answers', async () => {
    // A connection whose handshake was never answered holds one of the driver's two
    // connecting slots until connectTimeoutMS: keep that short, as on a stalled server.
    const own = new MongoClient(server.uri, {
      serverSelectionTimeoutMS: 2000,
      connectTimeoutMS: 500,
    });
    const collection = own.db('hung').collection(`c_${randomUUID().slice(0, 8)}`);
    await own.db('hung').command({ ping: 1 }); // connected before the replies stop
    const { cached, calculated } = counted({
      name: 'hung-index-build',
      backend: new MongoCore({ mongetter: () => collection, operationTimeoutMs: 300 }),
    });
    const collected = collectWarnings();
    try {
      await server.delayReplies('never');
      expect(await cached('x')).toBe('value of x');
      await server.delayReplies(0);
      expect(collected.codes()).toEqual(['CACHIER_STORE_FAILED']);
      await sleep(600); // the unanswered handshakes give up
      expect(await cached('x')).toBe('value of x');
      expect(await cached('x')).toBe('value of x');
      expect(calculated).toEqual(['x', 'x']);
      expect((await collection.indexes()).some((index) => index.name === 'name_1_key_1')).toBe(
        true,
      );
    } finally {
      collected.restore();
      await own.close();
    }
  });
});
