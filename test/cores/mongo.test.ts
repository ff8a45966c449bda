import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'node:v8';
import { Binary, type Collection, type Db, type Document, MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cachier, MongoCore } from '../../src/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Server {
  uri: string;
  close(): Promise<void>;
}

/**
 * The wire test server in its own process: the clock tests fake this process's clock,
 * which must not move the server's `$$NOW`.
 */
async function startChildServer(): Promise<Server> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/mongoTestServerMain.ts'],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const uri = await Promise.race([
    once(lines, 'line').then(([line]) => String(line)),
    exited.then(() => {
      throw new Error('the MongoDB test server exited before printing its URI');
    }),
  ]);
  return {
    uri,
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const targets: { label: string; start: () => Promise<Server> }[] = [
  { label: 'the wire test server', start: startChildServer },
];
const realUri = process.env.CACHIER_TEST_MONGODB_URI;
if (realUri) {
  targets.push({
    label: 'a real server (CACHIER_TEST_MONGODB_URI)',
    start: async () => ({ uri: realUri, close: async () => undefined }),
  });
}

/** Collects the codes of the process warnings emitted while it is installed. */
function captureWarnings() {
  const codes: string[] = [];
  const messages: string[] = [];
  const listener = (warning: Error & { code?: string }) => {
    codes.push(warning.code ?? '');
    messages.push(warning.message);
  };
  process.on('warning', listener);
  return { codes, messages, stop: () => process.off('warning', listener) };
}

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
    await core.set('f', 'k1', { value: 1, calculatedAt: Date.now() }, {});
    expect(sent('createIndexes')).toBe(1);
    // Builds are remembered per Collection object, whichever core uses it.
    const sameObject = new MongoCore({ mongetter: () => collection });
    expect((await sameObject.get('f', 'k1'))?.value).toBe(1);
    expect(sent('createIndexes')).toBe(1);
    // Another Collection object (another process, say) asks again; the server keeps one index.
    const other = new MongoCore({ mongetter: () => db.collection(collection.collectionName) });
    expect((await other.get('f', 'k1'))?.value).toBe(1);
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

  it('stores one document per entry: Binary value, Date calculatedAt, format version', async () => {
    const { collection, core } = fresh();
    const name = `shape-${randomUUID()}`;
    const cached = cachier(async (id: number) => ({ id, at: new Date(0) }), {
      name,
      backend: core,
    });
    await cached(7);
    const docs = await collection.find({ name }).toArray();
    expect(docs).toHaveLength(1);
    const [doc] = docs;
    expect(Object.keys(doc ?? {}).sort()).toEqual(
      ['_id', 'calculatedAt', 'formatVersion', 'key', 'name', 'value'].sort(),
    );
    expect(doc?.key).toMatch(/^[0-9a-f]{64}$/);
    expect(doc?.value).toBeInstanceOf(Binary);
    expect(doc?.calculatedAt).toBeInstanceOf(Date);
    expect(doc?.formatVersion).toBe(1);
    expect(deserialize((doc?.value as Binary | undefined)?.buffer ?? Buffer.alloc(0))).toEqual({
      id: 7,
      at: new Date(0),
    });
  });

  it('reads a document of an unknown format version as a miss and a damaged one as corrupt', async () => {
    const { collection, core } = fresh();
    await core.set('f', 'k', { value: 'v', calculatedAt: 1 }, {});
    await collection.updateOne({ name: 'f', key: 'k' }, { $set: { formatVersion: 2 } });
    expect(await core.get('f', 'k')).toBeUndefined();
    await collection.updateOne(
      { name: 'f', key: 'k' },
      { $set: { formatVersion: 1, value: new Binary(Buffer.from([0xff, 0x0f, 0x99])) } },
    );
    await expect(core.get('f', 'k')).rejects.toMatchObject({ code: 'CACHIER_CORRUPT_ENTRY' });
    await collection.updateOne({ name: 'f', key: 'k' }, { $set: { value: 'not binary' } });
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
    await core.set('f', 'k', { value: 'v', calculatedAt: 5 }, {});
    expect(await core.tryClaim('f', 'k')).toBeUndefined();
    await claim?.release();
    expect(await core.get('f', 'k')).toEqual({ value: 'v', calculatedAt: 5 });
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

  it('a hit costs exactly one round trip', async () => {
    const { core } = fresh();
    const name = `hit-${randomUUID()}`;
    const cached = cachier(async (x: number) => x * 2, { name, backend: core });
    expect(await cached(21)).toBe(42);
    const before = commands.length;
    expect(await cached(21)).toBe(42);
    expect(commands.slice(before).map((c) => c.name)).toEqual(['find']);
  });

  it('the mongetter option and backend: new MongoCore(...) share one store', async () => {
    const { collection } = fresh();
    const name = `both-${randomUUID()}`;
    let calls = 0;
    const fn = async (x: number) => {
      calls++;
      return x + 1;
    };
    const viaOption = cachier(fn, { name, mongetter: () => collection });
    const viaCore = cachier(fn, {
      name,
      backend: new MongoCore({ mongetter: () => collection }),
    });
    expect(await viaOption(1)).toBe(2);
    expect(await viaCore(1)).toBe(2);
    expect(calls).toBe(1);
    expect(viaOption.cacheDpath()).toBeUndefined();
  });

  it('clearCache keeps a running owner’s claim; clearBeingCalculated drops it', async () => {
    const { collection, core } = fresh();
    await core.set('f', 'a', { value: 1, calculatedAt: 1 }, {});
    await core.set('f', 'b', { value: 2, calculatedAt: 1 }, {});
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
    await core.set('f', 'old', { value: 1, calculatedAt: 1000 }, {});
    await core.set('f', 'claimed', { value: 2, calculatedAt: 1000 }, {});
    await core.set('f', 'new', { value: 3, calculatedAt: 9000 }, {});
    const claim = await core.tryClaim('f', 'claimed');
    await core.deleteStale('f', 5000);
    expect(await core.get('f', 'old')).toBeUndefined();
    expect(await core.get('f', 'claimed')).toBeUndefined();
    expect((await core.get('f', 'new'))?.value).toBe(3);
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

  it('needs a mongetter: TypeError at wrap time and at construction', () => {
    expect(() => cachier(async () => 1, { name: 'no-mongetter', backend: 'mongo' })).toThrow(
      TypeError,
    );
    expect(() => cachier(async () => 1, { name: 'no-mongetter', backend: 'mongo' })).toThrow(
      /mongetter/,
    );
    expect(() => new MongoCore({} as never)).toThrow(/mongetter/);
    expect(() => new MongoCore({ mongetter: () => ({}) as never, leaseMs: 10 })).toThrow(/leaseMs/);
  });

  it('database unreachable: the call returns the value, warns once, and waits at most the timeout', async () => {
    const client = new MongoClient(`mongodb://127.0.0.1:${await closedPort()}`, {
      serverSelectionTimeoutMS: 1000,
    });
    const warnings = captureWarnings();
    try {
      let calls = 0;
      const cached = cachier(
        async (x: number) => {
          calls++;
          return x * 3;
        },
        { name: `down-${randomUUID()}`, mongetter: () => client.db('x').collection('y') },
      );
      const started = Date.now();
      expect(await cached(2)).toBe(6);
      // One server selection timeout, not one per operation (read, claim, write).
      expect(Date.now() - started).toBeLessThan(2500);
      expect(await cached(2)).toBe(6);
      expect(calls).toBe(2);
      await sleep(20);
      expect(warnings.codes.filter((c) => c === 'CACHIER_STORE_FAILED')).toHaveLength(1);
      expect(warnings.messages.join('\n')).toMatch(/MongoServerSelectionError/);
    } finally {
      warnings.stop();
      await client.close();
    }
  });

  it('a server that never answers: operationTimeoutMs bounds the call', async () => {
    const silent = net.createServer(() => undefined); // accepts, never replies
    const sockets = new Set<net.Socket>();
    silent.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const client = new MongoClient(`mongodb://127.0.0.1:${port}`);
    const warnings = captureWarnings();
    try {
      const core = new MongoCore({
        mongetter: () => client.db('x').collection('y'),
        operationTimeoutMs: 300,
      });
      const cached = cachier(async () => 'value', {
        name: `silent-${randomUUID()}`,
        backend: core,
      });
      const started = Date.now();
      expect(await cached()).toBe('value');
      expect(Date.now() - started).toBeLessThan(2000);
      await sleep(20);
      expect(warnings.messages.join('\n')).toMatch(/operationTimeoutMs/);
    } finally {
      warnings.stop();
      for (const socket of sockets) socket.destroy();
      await client.close();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('calls the mongetter lazily, and again after it failed', async () => {
    const { startMongoTestServer } = await import('../support/mongoTestServer.js');
    const server = await startMongoTestServer();
    const client = new MongoClient(server.uri);
    const warnings = captureWarnings();
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
      let calls = 0;
      const cached = cachier(async () => ++calls, { name: 'lazy', backend: core });
      expect(asked).toBe(0);
      expect(await cached()).toBe(1);
      expect(asked).toBe(1);
      await sleep(20);
      expect(warnings.messages.join('\n')).toMatch(/not configured yet/);
      // Failures make the core skip the database for a second before asking again.
      await sleep(1100);
      expect(await cached()).toBe(2);
      expect(await cached()).toBe(2);
      expect(asked).toBe(2);
    } finally {
      warnings.stop();
      await client.close();
      await server.close();
    }
  });
});
