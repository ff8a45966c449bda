import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Binary, type Collection, type Db, type Document, MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cachier, MongoCore } from '../../src/index.js';
import {
  type MongoServerTarget,
  type MongoTestServer,
  mongoServerTargets,
  startMongoTestServer,
} from '../support/mongoTestServer.js';
import { sleep } from '../support/time.js';
import { collectWarnings } from '../support/warnings.js';

/** An entry whose bytes spell `text`. */
const entry = (text: string, calculatedAt = Date.now()) => ({
  bytes: new TextEncoder().encode(text),
  calculatedAt,
});
/** What a read returned, as text, for comparing. */
const text = (read: { bytes: Uint8Array; calculatedAt: number } | undefined) =>
  read && { text: new TextDecoder().decode(read.bytes), calculatedAt: read.calculatedAt };

type Server = Awaited<ReturnType<MongoServerTarget['start']>>;

const targets = mongoServerTargets();

describe.each(targets)('MongoCore on $label', ({ start }) => {
  let server: Server;
  let client: MongoClient;
  let db: Db;
  const commands: { name: string; collection: unknown }[] = [];

  beforeAll(async () => {
    server = await start();
    client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 5000, monitorCommands: true });
    client.on('commandStarted', (event) => {
      commands.push({ name: event.commandName, collection: event.command[event.commandName] });
    });
    db = client.db(`cachier_test_${randomUUID().slice(0, 8)}`);
  });

  afterAll(async () => {
    await db?.dropDatabase();
    await client?.close();
    await server?.close();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  /** A fresh collection and a core on it; commands sent for it are counted by name. */
  function fresh(options: { leaseMs?: number } = {}) {
    const collectionName = `c_${randomUUID().slice(0, 8)}`;
    const collection: Collection<Document> = db.collection(collectionName);
    const core = new MongoCore({ mongetter: () => collection, ...options });
    const sent = (name: string) =>
      commands.filter((c) => c.name === name && c.collection === collectionName).length;
    return { collection, core, sent };
  }

  it('creates the unique (name, key) index once per collection, idempotently', async () => {
    const { collection, core, sent } = fresh();
    expect(sent('createIndexes')).toBe(0); // lazily: nothing before the first operation
    await Promise.all([core.get('f', 'k1'), core.get('f', 'k2'), core.tryClaim('f', 'k3')]);
    await core.set('f', 'k1', entry('1'));
    expect(sent('createIndexes')).toBe(1);
    // Builds are remembered per Collection object, whichever core uses it.
    const sameObject = new MongoCore({ mongetter: () => collection });
    expect(text(await sameObject.get('f', 'k1'))?.text).toBe('1');
    expect(sent('createIndexes')).toBe(1);
    // Another Collection object (another process, say) asks again; the server keeps one index.
    const other = new MongoCore({ mongetter: () => db.collection(collection.collectionName) });
    expect(text(await other.get('f', 'k1'))?.text).toBe('1');
    expect(sent('createIndexes')).toBe(2);
    const indexes = await collection.indexes();
    const ours = indexes.filter((i) => JSON.stringify(i.key) === '{"name":1,"key":1}');
    expect(ours).toHaveLength(1);
    expect(ours[0]?.unique).toBe(true);
  });

  it('retries a failed index build on a later call', async () => {
    const { collection, core, sent } = fresh();
    // A non-unique index of the same name makes the build fail.
    await collection.createIndex({ name: 1, key: 1 }, { name: 'name_1_key_1' });
    await expect(core.get('f', 'k')).rejects.toThrow(/index/i);
    await collection.dropIndex('name_1_key_1');
    expect(await core.get('f', 'k')).toBeUndefined();
    expect(sent('createIndexes')).toBe(3);
    expect((await collection.indexes()).find((i) => i.name === 'name_1_key_1')?.unique).toBe(true);
  });

  it('an index build that fails on foreign documents fails the call open, not as a held claim', async () => {
    // Two documents without name and key collide on the unique index (both index as null),
    // so the build fails with E11000: that is no other owner's claim to wait for.
    const { collection } = fresh();
    await collection.insertMany([{ hello: 1 }, { hello: 2 }]);
    const core = new MongoCore({ mongetter: () => collection });
    await expect(core.tryClaim('f', 'k')).rejects.toMatchObject({ code: 11000 });
    let calls = 0;
    const double = cachier(async (x: number) => ++calls && x * 2, { backend: core, name: 'f' });
    const collected = collectWarnings();
    try {
      expect(await double(21)).toBe(42);
      expect(calls).toBe(1);
      expect(collected.codes()).toEqual(['CACHIER_STORE_FAILED']);
    } finally {
      collected.restore();
    }
  });

  it('stores one document per entry: Binary value, Date calculatedAt, format version', async () => {
    const { collection, core } = fresh();
    const key = 'a'.repeat(64);
    await core.set('shape', key, { bytes: new Uint8Array([0, 1, 2, 255]), calculatedAt: 1234 });
    const docs = await collection.find({ name: 'shape' }).toArray();
    expect(docs).toHaveLength(1);
    const [doc] = docs;
    expect(Object.keys(doc ?? {}).sort()).toEqual(
      ['_id', 'calculatedAt', 'formatVersion', 'key', 'name', 'value'].sort(),
    );
    expect(doc?.key).toBe(key);
    expect(doc?.value).toBeInstanceOf(Binary);
    expect([...((doc?.value as Binary | undefined)?.buffer ?? [])]).toEqual([0, 1, 2, 255]);
    expect(doc?.calculatedAt).toEqual(new Date(1234));
    expect(doc?.formatVersion).toBe(1);
    const read = await core.get('shape', key);
    expect([...(read?.bytes ?? [])]).toEqual([0, 1, 2, 255]);
    expect(read?.calculatedAt).toBe(1234);
  });

  it('set replaces an entry; delete removes one and keeps a running owner’s claim', async () => {
    const { collection, core } = fresh();
    await core.set('f', 'k', entry('old', 1));
    await core.set('f', 'k', entry('new', 2));
    expect(text(await core.get('f', 'k'))).toEqual({ text: 'new', calculatedAt: 2 });
    expect(await collection.countDocuments({ name: 'f' })).toBe(1);
    await core.delete('f', 'k');
    expect(await core.get('f', 'k')).toBeUndefined();
    expect(await collection.countDocuments({ name: 'f' })).toBe(0);
    await core.delete('f', 'absent');
    await core.set('f', 'held', entry('v'));
    const claim = await core.tryClaim('f', 'held');
    await core.delete('f', 'held');
    expect(await core.get('f', 'held')).toBeUndefined();
    expect(await core.tryClaim('f', 'held')).toBeUndefined();
    expect(await claim?.renew()).toBe(true);
    await claim?.release();
    expect(await collection.countDocuments({ name: 'f' })).toBe(0);
  });

  it('refuses an entry over the 16 MiB document limit with a clear error', async () => {
    const { core } = fresh();
    const big = { bytes: new Uint8Array(16 * 1024 * 1024), calculatedAt: 1 };
    await expect(core.set('f', 'k', big)).rejects.toMatchObject({
      code: 'CACHIER_ENTRY_TOO_LARGE',
      message: expect.stringMatching(/16 MiB/),
    });
    expect(await core.get('f', 'k')).toBeUndefined();
  });

  it('names() lists the cache names; list() describes entries without their values', async () => {
    const { core, sent } = fresh();
    await core.set('b', 'k1', entry('12345', 10));
    await core.set('b', 'k2', entry('', 20));
    await core.set('a', 'k1', entry('x', 30));
    expect(await core.names()).toEqual(['a', 'b']);
    const listed = [];
    for await (const info of core.list('b')) listed.push(info);
    expect(listed.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: 'k1', calculatedAt: 10, size: 5 },
      { key: 'k2', calculatedAt: 20, size: 0 },
    ]);
    expect(sent('find')).toBe(1);
    const claim = await core.tryClaim('c', 'k'); // a claim alone is no entry
    const none = [];
    for await (const info of core.list('c')) none.push(info);
    expect(none).toEqual([]);
    await claim?.release();
  });

  it('reads a document of an unknown format version as a miss and a damaged one as corrupt', async () => {
    const { collection, core } = fresh();
    await core.set('f', 'k', entry('v', 1));
    await collection.updateOne({ name: 'f', key: 'k' }, { $set: { formatVersion: 2 } });
    expect(await core.get('f', 'k')).toBeUndefined();
    await collection.updateOne({ name: 'f', key: 'k' }, { $set: { formatVersion: 1 } });
    expect(text(await core.get('f', 'k'))?.text).toBe('v');
    await collection.updateOne({ name: 'f', key: 'k' }, { $set: { calculatedAt: 'yesterday' } });
    await expect(core.get('f', 'k')).rejects.toMatchObject({ code: 'CACHIER_CORRUPT_ENTRY' });
    await collection.updateOne(
      { name: 'f', key: 'k' },
      { $set: { calculatedAt: new Date(1), value: 'not binary' } },
    );
    await expect(core.get('f', 'k')).rejects.toMatchObject({ code: 'CACHIER_CORRUPT_ENTRY' });
  });

  it('a document that only carries a claim reads as a miss', async () => {
    const { collection, core } = fresh();
    const claim = await core.tryClaim('f', 'k');
    expect(await collection.countDocuments({ name: 'f', key: 'k' })).toBe(1);
    expect(await core.get('f', 'k')).toBeUndefined();
    await claim?.release();
    // Released without a value: nothing is left behind.
    expect(await collection.countDocuments({ name: 'f' })).toBe(0);
  });

  it('storing keeps a held claim; releasing keeps the value', async () => {
    const { collection, core } = fresh();
    const claim = await core.tryClaim('f', 'k');
    await core.set('f', 'k', entry('v', 5));
    expect(await core.tryClaim('f', 'k')).toBeUndefined();
    await claim?.release();
    expect(text(await core.get('f', 'k'))).toEqual({ text: 'v', calculatedAt: 5 });
    const doc = await collection.findOne({ name: 'f', key: 'k' });
    expect(doc && 'claim' in doc).toBe(false);
  });

  it('50 concurrent claims of one key from 5 clients: exactly one wins', async () => {
    const { collection } = fresh();
    const clients = Array.from({ length: 5 }, () => new MongoClient(server.uri));
    try {
      const cores = clients.map(
        (c) =>
          new MongoCore({
            mongetter: () => c.db(db.databaseName).collection(collection.collectionName),
          }),
      );
      await Promise.all(cores.map((core) => core.get('f', 'warm-up')));
      const claims = await Promise.all(
        Array.from({ length: 50 }, (_, i) => cores[i % cores.length]!.tryClaim('f', 'race')),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('an expired claim is taken over; the old owner learns it lost', async () => {
    const { core } = fresh({ leaseMs: 300 });
    const first = await core.tryClaim('f', 'k');
    expect(first).toBeDefined();
    expect(await core.tryClaim('f', 'k')).toBeUndefined();
    await sleep(400);
    const second = await core.tryClaim('f', 'k');
    expect(second).toBeDefined();
    expect(await first?.renew()).toBe(false);
    await first?.release(); // must not drop the new owner's claim
    expect(await core.tryClaim('f', 'k')).toBeUndefined();
    await second?.release();
  });

  it('a damaged claim no cachier could have written (expiry beyond the longest lease) is free', async () => {
    const { collection, core } = fresh();
    await core.set('f', 'k', entry('v'));
    // Nobody renews it, yet it would never lapse: every caller would wait forever.
    await collection.updateOne(
      { name: 'f', key: 'k' },
      { $set: { claim: { owner: 'someone', expiresAt: new Date('3000-01-01') } } },
    );
    const claim = await core.tryClaim('f', 'k');
    expect(claim).toBeDefined();
    await claim?.release();
    // A live claim with the longest lease a MongoCore allows is still held.
    const longest = new MongoCore({ mongetter: () => collection, leaseMs: 2_147_483_647 });
    const held = await longest.tryClaim('f', 'k');
    expect(held).toBeDefined();
    expect(await core.tryClaim('f', 'k')).toBeUndefined();
    await held?.release();
  });

  it('renew extends the lease, and fails after clearClaims', async () => {
    const { core } = fresh({ leaseMs: 300 });
    const claim = await core.tryClaim('f', 'k');
    for (let i = 0; i < 6; i++) {
      await sleep(100);
      expect(await claim?.renew()).toBe(true);
    }
    // 600 ms after the claim, twice its lease: renewals kept it alive.
    expect(await core.tryClaim('f', 'k')).toBeUndefined();
    await core.clearClaims('f');
    expect(await claim?.renew()).toBe(false);
  });

  it('a client whose clock runs an hour ahead cannot take over a live claim', async () => {
    const { core } = fresh();
    const held = await core.tryClaim('f', 'k');
    expect(held).toBeDefined();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
    expect(await core.tryClaim('f', 'k')).toBeUndefined();
    vi.useRealTimers();
    await held?.release();
  });

  it('a claim made by a client whose clock runs an hour behind is still live', async () => {
    const { core } = fresh();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 3_600_000 });
    const held = await core.tryClaim('f', 'k');
    vi.useRealTimers();
    expect(held).toBeDefined();
    expect(await core.tryClaim('f', 'k')).toBeUndefined();
    await held?.release();
  });

  it('a read costs exactly one round trip', async () => {
    const { core } = fresh();
    await core.set('f', 'k', entry('v'));
    const before = commands.length;
    expect(text(await core.get('f', 'k'))?.text).toBe('v');
    expect(commands.slice(before).map((c) => c.name)).toEqual(['find']);
  });

  it('clearCache keeps a running owner’s claim; clearBeingCalculated drops it', async () => {
    const { collection, core } = fresh();
    await core.set('f', 'a', entry('1', 1));
    await core.set('f', 'b', entry('2', 1));
    const claim = await core.tryClaim('f', 'b');
    await core.clear('f');
    expect(await core.get('f', 'a')).toBeUndefined();
    expect(await core.get('f', 'b')).toBeUndefined();
    expect(await core.tryClaim('f', 'b')).toBeUndefined();
    expect(await collection.countDocuments({ name: 'f' })).toBe(1);
    await core.clearClaims('f');
    expect(await collection.countDocuments({ name: 'f' })).toBe(0);
    expect(await claim?.renew()).toBe(false);
  });

  it('deleteStale keeps fresh entries and running owners’ claims', async () => {
    const { core } = fresh();
    await core.set('f', 'old', entry('1', 1000));
    await core.set('f', 'claimed', entry('2', 1000));
    await core.set('f', 'new', entry('3', 9000));
    const claim = await core.tryClaim('f', 'claimed');
    await core.deleteStale('f', 5000);
    expect(await core.get('f', 'old')).toBeUndefined();
    expect(await core.get('f', 'claimed')).toBeUndefined();
    expect(text(await core.get('f', 'new'))?.text).toBe('3');
    expect(await core.tryClaim('f', 'claimed')).toBeUndefined();
    await claim?.release();
  });
});

describe('MongoCore without a usable database', () => {
  /** A port on which nothing listens. */
  async function closedPort(): Promise<number> {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    return port;
  }

  it('needs a mongetter and a sane lease: TypeError at construction', () => {
    expect(() => new MongoCore({} as never)).toThrow(/mongetter/);
    expect(() => new MongoCore({ mongetter: () => ({}) as never, leaseMs: 10 })).toThrow(/leaseMs/);
  });

  it('refuses timings that no Node timer can wait (it would fire after 1 ms)', () => {
    const mongetter = () => ({}) as never;
    expect(() => new MongoCore({ mongetter, operationTimeoutMs: 30 * 24 * 3600_000 })).toThrow(
      /MongoCore operationTimeoutMs must be at most 2147483647/,
    );
    expect(() => new MongoCore({ mongetter, leaseMs: 2 ** 31 })).toThrow(
      /MongoCore leaseMs .* at most 2147483647/,
    );
  });

  it('database unreachable: an operation fails within the server selection timeout, the next at once', async () => {
    const client = new MongoClient(`mongodb://127.0.0.1:${await closedPort()}`, {
      serverSelectionTimeoutMS: 300,
    });
    try {
      const core = new MongoCore({ mongetter: () => client.db('x').collection('y') });
      await expect(core.get('f', 'k')).rejects.toMatchObject({ name: 'MongoServerSelectionError' });
      // The rest of a call (claim, write) does not wait out the selection timeout again.
      await expect(core.tryClaim('f', 'k')).rejects.toMatchObject({
        code: 'CACHIER_MONGODB_UNAVAILABLE',
        message: expect.stringMatching(/MongoServerSelectionError/),
      });
    } finally {
      await client.close();
    }
  });

  it('a server that never answers: operationTimeoutMs bounds an operation', async () => {
    const silent = net.createServer(() => undefined); // accepts, never replies
    const sockets = new Set<net.Socket>();
    silent.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const client = new MongoClient(`mongodb://127.0.0.1:${port}`);
    try {
      const core = new MongoCore({
        mongetter: () => client.db('x').collection('y'),
        operationTimeoutMs: 300,
      });
      await expect(core.get('f', 'k')).rejects.toMatchObject({
        code: 'CACHIER_MONGODB_TIMEOUT',
        message: expect.stringMatching(/operationTimeoutMs/),
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await client.close();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('calls the mongetter lazily, and again after it failed', async () => {
    const server = await startMongoTestServer();
    const client = new MongoClient(server.uri);
    try {
      let asked = 0;
      const core = new MongoCore({
        mongetter: () => {
          asked++;
          if (asked === 1) throw new Error('not configured yet');
          return client.db('lazy').collection('cache');
        },
        operationTimeoutMs: 500,
      });
      expect(asked).toBe(0);
      await expect(core.get('f', 'k')).rejects.toMatchObject({
        code: 'CACHIER_MONGETTER_FAILED',
        message: expect.stringMatching(/not configured yet/),
      });
      expect(asked).toBe(1);
      // Failures make the core skip the database for a second before asking again.
      await sleep(1100);
      await core.set('f', 'k', entry('v'));
      expect(text(await core.get('f', 'k'))?.text).toBe('v');
      expect(asked).toBe(2);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('MongoCore under a slow or stalled server', () => {
  let server: MongoTestServer;
  let client: MongoClient;
  let collection: Collection<Document>;

  beforeAll(async () => {
    server = await startMongoTestServer();
    client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 2000 });
    collection = client.db('slow').collection('cache');
  });

  afterEach(async () => {
    await server.delayReplies(0);
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it('a slow read times out but does not make the core skip the database: a live claim is still seen', async () => {
    const owner = new MongoCore({ mongetter: () => collection });
    const waiter = new MongoCore({ mongetter: () => collection, operationTimeoutMs: 300 });
    const claim = await owner.tryClaim('f', 'slow');
    expect(claim).toBeDefined();
    expect(await waiter.get('f', 'slow')).toBeUndefined();
    await server.delayReplies(1000);
    await expect(waiter.get('f', 'slow')).rejects.toMatchObject({
      code: 'CACHIER_MONGODB_TIMEOUT',
    });
    await server.delayReplies(0);
    // The next poll goes to the database again and finds the owner still at work.
    expect(await waiter.tryClaim('f', 'slow')).toBeUndefined();
    await owner.set('f', 'slow', entry('done'));
    await claim?.release();
    expect(text(await waiter.get('f', 'slow'))?.text).toBe('done');
  });

  it('cancels what it gives up on: the connection is freed, and client.close() returns on a stalled server', async () => {
    // One connection, so an operation left running would block every later one.
    const stalled = new MongoClient(server.uri, {
      serverSelectionTimeoutMS: 2000,
      connectTimeoutMS: 500,
      maxPoolSize: 1,
    });
    const core = new MongoCore({
      mongetter: () => stalled.db('slow').collection('stalled'),
      operationTimeoutMs: 300,
    });
    await core.set('f', 'k', entry('v'));
    await server.delayReplies('never');
    await expect(core.get('f', 'k')).rejects.toMatchObject({ code: 'CACHIER_MONGODB_TIMEOUT' });
    await server.delayReplies(0);
    expect(text(await core.get('f', 'k'))?.text).toBe('v');
    await server.delayReplies('never');
    await expect(core.get('f', 'k')).rejects.toMatchObject({ code: 'CACHIER_MONGODB_TIMEOUT' });
    const closed = await Promise.race([
      stalled.close().then(() => 'closed'),
      sleep(10_000).then(() => 'still waiting for the stalled operation'),
    ]);
    expect(closed).toBe('closed');
  });
});

describe('MongoCore breaker', () => {
  it('opens on a connection failure, then lets one probe through while the others fail fast', async () => {
    const server = await startMongoTestServer();
    const client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 2000 });
    let down = true;
    let asked = 0;
    const core = new MongoCore({
      mongetter: () => {
        asked++;
        if (down) throw new Error('database is down');
        return client.db('breaker').collection('cache');
      },
      operationTimeoutMs: 500,
    });
    const codes = (results: PromiseSettledResult<unknown>[]) =>
      results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code));
    try {
      await expect(core.get('f', 'k')).rejects.toMatchObject({ code: 'CACHIER_MONGETTER_FAILED' });
      await expect(core.get('f', 'k')).rejects.toMatchObject({
        code: 'CACHIER_MONGODB_UNAVAILABLE',
      });
      expect(asked).toBe(1);
      await sleep(1100);
      // Half-open: one operation probes the (still failing) database; the others fail fast.
      const probing = await Promise.allSettled([
        core.get('f', 'a'),
        core.get('f', 'b'),
        core.tryClaim('f', 'c'),
      ]);
      expect(codes(probing).sort()).toEqual([
        'CACHIER_MONGETTER_FAILED',
        'CACHIER_MONGODB_UNAVAILABLE',
        'CACHIER_MONGODB_UNAVAILABLE',
      ]);
      expect(asked).toBe(2);
      down = false;
      await sleep(1100);
      const recovering = await Promise.allSettled([core.get('f', 'a'), core.get('f', 'b')]);
      expect(codes(recovering).sort()).toEqual(['CACHIER_MONGODB_UNAVAILABLE', 'ok']);
      // The probe succeeded: the breaker is closed again.
      const after = await Promise.allSettled([core.get('f', 'a'), core.get('f', 'b')]);
      expect(codes(after)).toEqual(['ok', 'ok']);
      expect(asked).toBe(3);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
