import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BSON } from 'bson';
import {
  Binary,
  type Db,
  type Document,
  MongoBulkWriteError,
  MongoClient,
  type MongoClientOptions,
  MongoServerError,
} from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MongoTestServer, startMongoTestServer } from './support/mongoTestServer.js';
import { decodeMessage, FrameReader, OP_MSG } from './support/mongoWire.js';

const clientOptions: MongoClientOptions = {
  serverSelectionTimeoutMS: 2000,
  directConnection: true,
};

let server: MongoTestServer;
let client: MongoClient;
let db: Db;
let dbCounter = 0;

beforeAll(async () => {
  server = await startMongoTestServer();
  client = new MongoClient(server.uri, clientOptions);
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await server?.close();
});

beforeEach(() => {
  dbCounter += 1;
  db = client.db(`test${dbCounter}`);
});

/** Resolves with the error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<MongoServerError> {
  try {
    await promise;
  } catch (error) {
    return error as MongoServerError;
  }
  throw new Error('expected a rejection');
}

describe('handshake and basic commands', () => {
  it('connects and answers ping', async () => {
    expect(server.uri).toBe(`mongodb://127.0.0.1:${server.port}`);
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
  });

  it('rejects unimplemented commands with CommandNotFound (59)', async () => {
    const error = await rejection(db.command({ someUnknownCommand: 1 }));
    expect(error).toBeInstanceOf(MongoServerError);
    expect(error.code).toBe(59);
    expect(error.codeName).toBe('CommandNotFound');
    expect(error.message).toBe("no such command: 'someUnknownCommand'");
  });

  it('refuses transactions like a standalone server', async () => {
    const session = client.startSession();
    try {
      session.startTransaction();
      // The server answers code 20 "Transaction numbers are only allowed on a replica set
      // member or mongos"; the driver rewrites that into this message.
      const error = await rejection(db.collection('c').insertOne({ a: 1 }, { session }));
      expect(error.message).toMatch(/does not support retryable writes/);
    } finally {
      await session.endSession();
    }
  });
});

describe('insert and find', () => {
  it('inserts and finds with sort, limit, skip and projection', async () => {
    const coll = db.collection('people');
    const one = await coll.insertOne({ name: 'carol', age: 35 });
    expect(one.insertedId).toBeDefined();
    await coll.insertMany([
      { name: 'alice', age: 30, city: 'Oslo' },
      { name: 'bob', age: 25, city: 'Rome' },
      { name: 'dave', age: 40, city: 'Oslo' },
    ]);
    const sorted = await coll.find({}).sort({ age: -1 }).limit(2).toArray();
    expect(sorted.map((d) => d.name)).toEqual(['dave', 'carol']);
    const projected = await coll
      .find({ city: 'Oslo' }, { projection: { _id: 0, name: 1 } })
      .sort({ name: 1 })
      .toArray();
    expect(projected).toEqual([{ name: 'alice' }, { name: 'dave' }]);
    const skipped = await coll
      .find({ age: { $gte: 30 } })
      .sort({ age: 1 })
      .skip(1)
      .toArray();
    expect(skipped.map((d) => d.name)).toEqual(['carol', 'dave']);
    const found = await coll.findOne({ name: 'bob' });
    expect(found).toMatchObject({ name: 'bob', age: 25 });
    expect(Object.keys(found ?? {})[0]).toBe('_id');
    expect(await coll.findOne({ name: 'nobody' })).toBeNull();
  });

  it('serves cursors across getMore and kills them on close', async () => {
    const coll = db.collection('many');
    await coll.insertMany(Array.from({ length: 250 }, (_, i) => ({ i })));
    const getMores: Document[] = [];
    const monitored = new MongoClient(server.uri, { ...clientOptions, monitorCommands: true });
    monitored.on('commandStarted', (event) => {
      if (event.commandName === 'getMore') getMores.push(event.command);
    });
    try {
      const docs = await monitored
        .db(db.databaseName)
        .collection('many')
        .find({})
        .sort({ i: 1 })
        .batchSize(50)
        .toArray();
      expect(docs.map((d) => d.i)).toEqual(Array.from({ length: 250 }, (_, i) => i));
      expect(getMores).toHaveLength(4);
    } finally {
      await monitored.close();
    }

    const cursor = coll.find({}).batchSize(10);
    expect(await cursor.next()).toMatchObject({ i: 0 });
    const id = cursor.id;
    expect(id?.isZero()).toBe(false);
    await cursor.close();
    const error = await rejection(db.command({ getMore: id, collection: 'many' }));
    expect(error.code).toBe(43);
  });

  it('round-trips Binary and Date values', async () => {
    const coll = db.collection('types');
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const when = new Date('2024-05-06T07:08:09.123Z');
    await coll.insertOne({ _id: 'x' as never, bin: new Binary(bytes), when, big: 2 ** 40 });
    const doc = await coll.findOne({ when: { $lt: new Date('2025-01-01') } });
    expect(doc?.bin).toBeInstanceOf(Binary);
    expect(Buffer.from((doc!.bin as Binary).buffer).equals(bytes)).toBe(true);
    expect(doc?.when).toEqual(when);
    expect(doc?.big).toBe(2 ** 40);
    expect(await coll.countDocuments({ bin: new Binary(bytes) })).toBe(1);
  });

  it('lets two clients see each other’s writes', async () => {
    const other = new MongoClient(server.uri, clientOptions);
    try {
      await other.db(db.databaseName).collection('shared').insertOne({ from: 'other' });
      expect(await db.collection('shared').findOne({ from: 'other' })).not.toBeNull();
      await db.collection('shared').updateOne({ from: 'other' }, { $set: { seen: true } });
      const seen = await other.db(db.databaseName).collection('shared').findOne({});
      expect(seen?.seen).toBe(true);
    } finally {
      await other.close();
    }
  });
});

describe('updates', () => {
  it('updateOne and updateMany, with and without upsert', async () => {
    const coll = db.collection('u');
    await coll.insertMany([
      { kind: 'a', n: 1 },
      { kind: 'a', n: 2 },
      { kind: 'b', n: 3 },
    ]);
    const many = await coll.updateMany({ kind: 'a' }, { $inc: { n: 10 } });
    expect(many).toMatchObject({ matchedCount: 2, modifiedCount: 2, upsertedCount: 0 });
    const same = await coll.updateOne({ kind: 'b' }, { $set: { n: 3 } });
    expect(same).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    const none = await coll.updateOne({ kind: 'zzz' }, { $set: { n: 0 } });
    expect(none).toMatchObject({ matchedCount: 0, modifiedCount: 0, upsertedId: null });

    const up = await coll.updateOne(
      { kind: 'c', $and: [{ tag: 't' }, { n: { $gt: 0 } }] },
      { $set: { n: 5 }, $setOnInsert: { created: true } },
      { upsert: true },
    );
    expect(up).toMatchObject({ matchedCount: 0, modifiedCount: 0, upsertedCount: 1 });
    const inserted = await coll.findOne({ _id: up.upsertedId ?? undefined });
    expect(inserted).toMatchObject({ kind: 'c', tag: 't', n: 5, created: true });

    const upMany = await coll.updateMany({ kind: 'd' }, { $set: { x: 1 } }, { upsert: true });
    expect(upMany.upsertedCount).toBe(1);
    expect(await coll.findOne({ kind: 'd' })).toMatchObject({ x: 1 });

    expect((await coll.find({ kind: 'a' }).toArray()).map((d) => d.n).sort()).toEqual([11, 12]);
    const replaced = await coll.replaceOne({ kind: 'b' }, { kind: 'b2', fresh: 1 });
    expect(replaced.modifiedCount).toBe(1);
    expect(await coll.findOne({ kind: 'b2' }, { projection: { _id: 0 } })).toEqual({
      kind: 'b2',
      fresh: 1,
    });
  });

  it('rejects what MongoDB rejects in update documents', async () => {
    const coll = db.collection('bad');
    await coll.insertOne({ a: 1 });
    const conflict = await rejection(
      coll.updateOne({ a: 1 }, { $set: { v: 1 }, $setOnInsert: { v: 2 } }, { upsert: true }),
    );
    expect(conflict.code).toBe(40);
    const immutable = await rejection(coll.updateOne({ a: 1 }, { $set: { _id: 5 } }));
    expect(immutable.code).toBe(66);
    const same = await coll.updateOne({ a: 1 }, { $set: { _id: (await coll.findOne())?._id } });
    expect(same.matchedCount).toBe(1);
    const custom = await coll.updateOne(
      { a: 2 },
      { $setOnInsert: { _id: 'custom' as never } },
      { upsert: true },
    );
    expect(custom.upsertedId).toBe('custom');
    const unknown = await rejection(coll.updateOne({}, { $foo: { a: 1 } } as Document));
    expect(unknown.code).toBe(9);
    const unknownOperator = await rejection(coll.findOne({ a: { $foo: 1 } }));
    expect(unknownOperator.code).toBe(2);
  });

  it('findOneAndUpdate with upsert, returnDocument, $setOnInsert and $unset', async () => {
    const coll = db.collection('fam');
    const first = await coll.findOneAndUpdate(
      { name: 'a', key: 'k' },
      { $set: { value: 1, temp: true }, $setOnInsert: { createdBy: 'first' } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(first).toMatchObject({ name: 'a', key: 'k', value: 1, temp: true, createdBy: 'first' });

    const second = await coll.findOneAndUpdate(
      { name: 'a', key: 'k' },
      { $set: { value: 2 }, $unset: { temp: '' }, $setOnInsert: { createdBy: 'second' } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(second).toMatchObject({ value: 2, createdBy: 'first' });
    expect(second).not.toHaveProperty('temp');
    expect(second?._id).toEqual(first?._id);

    const before = await coll.findOneAndUpdate(
      { name: 'a' },
      { $inc: { value: 1 } },
      { returnDocument: 'before', projection: { value: 1, _id: 0 } },
    );
    expect(before).toEqual({ value: 2 });
    expect(await coll.findOneAndUpdate({ name: 'zz' }, { $set: { v: 1 } })).toBeNull();

    const orUpsert = await coll.findOneAndUpdate(
      { name: 'b', $or: [{ x: 1 }, { y: 2 }] },
      { $set: { z: 3 } },
      { upsert: true, returnDocument: 'after', projection: { _id: 0 } },
    );
    expect(orUpsert).toEqual({ name: 'b', z: 3 });

    const upsertedBefore = await coll.findOneAndUpdate(
      { name: 'c' },
      { $set: { z: 1 } },
      { upsert: true, returnDocument: 'before', includeResultMetadata: true },
    );
    expect(upsertedBefore.value).toBeNull();
    expect(upsertedBefore.lastErrorObject).toMatchObject({ n: 1, updatedExisting: false });

    const replaced = await coll.findOneAndReplace(
      { name: 'c' },
      { name: 'c', replaced: true },
      { returnDocument: 'after', projection: { _id: 0 } },
    );
    expect(replaced).toEqual({ name: 'c', replaced: true });

    const deleted = await coll.findOneAndDelete({ name: 'b' });
    expect(deleted).toMatchObject({ name: 'b', z: 3 });
    expect(await coll.countDocuments()).toBe(2);
  });
});

describe('unique indexes', () => {
  it('rejects duplicates on insert, upsert and findAndModify with E11000', async () => {
    const coll = db.collection('c');
    const ns = `${db.databaseName}.c`;
    expect(await coll.createIndex({ name: 1, key: 1 }, { unique: true })).toBe('name_1_key_1');
    await coll.insertOne({ name: 'a', key: 'b', v: 1 });
    await coll.insertOne({ name: 'a', key: 'c', v: 1 });
    const dupMessage = `E11000 duplicate key error collection: ${ns} index: name_1_key_1 dup key: { name: "a", key: "b" }`;

    const insert = await rejection(coll.insertOne({ name: 'a', key: 'b' }));
    expect(insert).toBeInstanceOf(MongoServerError);
    expect(insert.code).toBe(11000);
    expect(insert.message).toBe(dupMessage);
    expect(insert.keyPattern).toEqual({ name: 1, key: 1 });
    expect(insert.keyValue).toEqual({ name: 'a', key: 'b' });

    const upsert = await rejection(
      coll.updateOne({ name: 'a', key: 'b', v: 2 }, { $set: { w: 1 } }, { upsert: true }),
    );
    expect(upsert.code).toBe(11000);
    expect(upsert.message).toBe(dupMessage);

    const moved = await rejection(coll.updateOne({ key: 'c' }, { $set: { key: 'b' } }));
    expect(moved.code).toBe(11000);

    const fam = await rejection(
      coll.findOneAndUpdate({ name: 'a', key: 'b', v: 99 }, { $set: { w: 1 } }, { upsert: true }),
    );
    expect(fam).toBeInstanceOf(MongoServerError);
    expect(fam.code).toBe(11000);
    expect(fam.codeName).toBe('DuplicateKey');
    expect(fam.message).toBe(dupMessage);

    const bulk = await rejection(
      coll.insertMany([{ name: 'x', key: 'y' }, { name: 'a', key: 'c' }, { name: 'z' }]),
    );
    expect(bulk).toBeInstanceOf(MongoBulkWriteError);
    expect(bulk.code).toBe(11000);
    expect((bulk as unknown as MongoBulkWriteError).insertedCount).toBe(1);

    const dupId = await rejection(coll.insertOne({ _id: (await coll.findOne({}))?._id }));
    expect(dupId.message).toMatch(/index: _id_ dup key: \{ _id: ObjectId\('[0-9a-f]{24}'\) \}$/);
    expect(await coll.countDocuments()).toBe(3);
  });

  it('indexes missing fields as null and refuses to build over duplicates', async () => {
    const coll = db.collection('m');
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.insertOne({ who: 1 });
    const error = await rejection(coll.insertOne({ who: 2, email: null }));
    expect(error.message).toMatch(/dup key: \{ email: null \}$/);

    const loose = db.collection('loose');
    await loose.insertMany([{ k: 1 }, { k: 1 }]);
    const build = await rejection(loose.createIndex({ k: 1 }, { unique: true }));
    expect(build.code).toBe(11000);
    expect((await loose.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('createIndex is idempotent and conflicting specs fail', async () => {
    const coll = db.collection('idx');
    expect(await coll.createIndex({ name: 1, key: 1 }, { unique: true })).toBe('name_1_key_1');
    expect(await coll.createIndex({ name: 1, key: 1 }, { unique: true })).toBe('name_1_key_1');
    const indexes = await coll.listIndexes().toArray();
    expect(indexes.map((i) => i.name)).toEqual(['_id_', 'name_1_key_1']);
    expect(indexes[1]).toMatchObject({ key: { name: 1, key: 1 }, unique: true });
    const conflict = await rejection(
      coll.createIndex({ name: 1, key: 1 }, { name: 'name_1_key_1' }),
    );
    expect(conflict.code).toBe(86);
    await coll.dropIndex('name_1_key_1');
    expect((await coll.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
    const missing = await rejection(db.collection('nope').listIndexes().toArray());
    expect(missing.code).toBe(26);
  });

  it('exactly one of 50 concurrent claim upserts wins; the others get E11000', async () => {
    const coll = db.collection('claims');
    await coll.createIndex({ name: 1, key: 1 }, { unique: true });

    const claim = async (expiredBefore: Date, until: Date) => {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () =>
          coll.findOneAndUpdate(
            {
              name: 'f',
              key: 'k',
              $or: [{ claimedUntil: { $exists: false } }, { claimedUntil: { $lt: expiredBefore } }],
            },
            { $set: { claimedUntil: until } },
            { upsert: true, returnDocument: 'after' },
          ),
        ),
      );
      const winners = results.filter(
        (r) => r.status === 'fulfilled' && r.value?.claimedUntil?.getTime() === until.getTime(),
      );
      const losers = results.filter((r) => !winners.includes(r));
      for (const loser of losers) {
        if (loser.status === 'rejected')
          expect((loser.reason as MongoServerError).code).toBe(11000);
        else expect(loser.value).toBeNull();
      }
      return winners.length;
    };

    const now = Date.now();
    expect(await claim(new Date(now), new Date(now + 60_000))).toBe(1);
    // While the claim is live, nobody gets it.
    expect(await claim(new Date(now), new Date(now + 120_000))).toBe(0);
    // Once it has expired, exactly one caller takes it over.
    expect(await claim(new Date(now + 90_000), new Date(now + 180_000))).toBe(1);
    expect(await coll.countDocuments()).toBe(1);
  });
});

describe('deletes, counts, aggregation and collections', () => {
  it('deleteOne, deleteMany, countDocuments and distinct', async () => {
    const coll = db.collection('d');
    await coll.insertMany(Array.from({ length: 10 }, (_, i) => ({ i, even: i % 2 === 0 })));
    expect(await coll.countDocuments({ even: true })).toBe(5);
    expect(await coll.countDocuments({}, { skip: 2, limit: 5 })).toBe(5);
    expect((await coll.distinct('even')).sort()).toEqual([false, true]);
    expect((await coll.deleteOne({ even: true })).deletedCount).toBe(1);
    expect((await coll.deleteMany({ even: true })).deletedCount).toBe(4);
    expect((await coll.deleteMany({ nothing: 1 })).deletedCount).toBe(0);
    expect(await coll.countDocuments()).toBe(5);
    expect(await db.collection('absent').countDocuments()).toBe(0);
  });

  it('runs aggregation pipelines', async () => {
    const coll = db.collection('agg');
    await coll.insertMany([
      { g: 'a', v: 1 },
      { g: 'b', v: 2 },
      { g: 'a', v: 3 },
    ]);
    const grouped = await coll
      .aggregate([
        { $match: { v: { $gt: 0 } } },
        { $group: { _id: '$g', total: { $sum: '$v' } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(grouped).toEqual([
      { _id: 'a', total: 4 },
      { _id: 'b', total: 2 },
    ]);
  });

  it('drops databases', async () => {
    await db.collection('keep').insertOne({ a: 1 });
    expect(await db.dropDatabase()).toBe(true);
    expect(await db.collection('keep').findOne({})).toBeNull();
  });
});

describe('connections', () => {
  it('makes client operations fail, not hang, once the server is closed', async () => {
    const doomed = await startMongoTestServer();
    const doomedClient = new MongoClient(doomed.uri, {
      ...clientOptions,
      serverSelectionTimeoutMS: 500,
    });
    try {
      await doomedClient.db('x').collection('c').insertOne({ a: 1 });
      await doomed.close();
      const started = Date.now();
      await expect(doomedClient.db('x').collection('c').findOne({})).rejects.toThrow();
      await expect(doomedClient.db('x').command({ ping: 1 })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await doomedClient.close();
    }
  });

  it('handles split frames, several messages per chunk, no-reply messages and resets', async () => {
    const opMsg = (requestId: number, body: Document, flags = 0) => {
      const doc = Buffer.from(BSON.serialize(body));
      const head = Buffer.alloc(21);
      head.writeInt32LE(21 + doc.length, 0);
      head.writeInt32LE(requestId, 4);
      head.writeInt32LE(OP_MSG, 12);
      head.writeUInt32LE(flags, 16);
      return Buffer.concat([head, doc]);
    };
    const connect = async () => {
      const socket = net.connect(server.port, '127.0.0.1');
      await once(socket, 'connect');
      return socket;
    };

    const reset = await connect();
    reset.write(opMsg(1, { ping: 1, $db: 'admin' }).subarray(0, 10));
    reset.resetAndDestroy();

    const socket = await connect();
    const replies: Document[] = [];
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        const message = decodeMessage(frame);
        if (message) replies.push({ responseTo: frame.readInt32LE(8), ...message.command });
      }
    });
    const stream = Buffer.concat([
      opMsg(11, { ping: 1, $db: 'admin' }),
      opMsg(12, { endSessions: [], $db: 'admin' }, 2), // moreToCome: no reply
      opMsg(13, { nope: 1, $db: 'admin' }),
      opMsg(14, { ping: 1, $db: 'admin' }),
    ]);
    for (const [from, to] of [
      [0, 3],
      [3, 30],
      [30, stream.length - 5],
      [stream.length - 5, stream.length],
    ] as const) {
      socket.write(stream.subarray(from, to));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await expect.poll(() => replies.length).toBe(3);
    expect(replies.map((r) => r.responseTo)).toEqual([11, 13, 14]);
    expect(replies[1]).toMatchObject({ ok: 0, code: 59, codeName: 'CommandNotFound' });
    socket.destroy();
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
  });

  it('runs standalone via test/support/mongoTestServerMain.ts', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const child: ChildProcess = spawn('npx', ['tsx', 'test/support/mongoTestServerMain.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    const exited = once(child, 'exit');
    try {
      const lines = createInterface({ input: child.stdout! });
      const firstLine = await Promise.race([
        once(lines, 'line').then(([line]) => String(line)),
        exited.then(() => {
          throw new Error('the server process exited before printing its URI');
        }),
      ]);
      expect(firstLine).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+$/);
      const standalone = new MongoClient(firstLine, clientOptions);
      try {
        expect(await standalone.db('admin').command({ ping: 1 })).toMatchObject({ ok: 1 });
      } finally {
        await standalone.close();
      }
    } finally {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
  });
});

describe('change streams', () => {
  it('are refused as on a standalone server (40573) unless enabled', async () => {
    const stream = db.collection('c').watch();
    const error = await rejection(stream.next());
    expect(error.code).toBe(40573);
    expect(error.message).toMatch(/only supported on replica sets/);
    await stream.close();
  });

  it('with changeStreams: report inserts, updates and deletes of their collection, with updateLookup', async () => {
    const streaming = await startMongoTestServer({ changeStreams: true });
    const watcher = new MongoClient(streaming.uri, clientOptions);
    const writer = new MongoClient(streaming.uri, clientOptions);
    try {
      const stream = watcher
        .db('cs')
        .collection('c')
        .watch([{ $project: { operationType: 1, 'fullDocument.name': 1, documentKey: 1 } }], {
          fullDocument: 'updateLookup',
        });
      const changes: Document[] = [];
      let threeArrived!: () => void;
      const arrived = new Promise<void>((resolve) => {
        threeArrived = resolve;
      });
      // The driver's cursor says when the server accepted the stream: later writes are seen.
      const { cursor } = stream as unknown as { cursor: NodeJS.EventEmitter };
      const accepted = once(cursor, 'init');
      stream.on('error', () => undefined); // a failed test closes the server under it
      stream.on('change', (change) => {
        changes.push(change);
        if (changes.length === 3) threeArrived();
      });
      await accepted;
      const c = writer.db('cs').collection('c');
      const { insertedId } = await c.insertOne({ name: 'a', value: 'big' });
      await writer.db('cs').collection('other').insertOne({ name: 'elsewhere' });
      await c.updateOne({ _id: insertedId }, { $set: { value: 'bigger' } });
      await c.deleteOne({ _id: insertedId });
      await arrived;
      expect(changes.map(({ _id, ...rest }) => rest)).toEqual([
        {
          operationType: 'insert',
          documentKey: { _id: insertedId },
          fullDocument: { name: 'a' },
        },
        {
          operationType: 'update',
          documentKey: { _id: insertedId },
          fullDocument: { name: 'a' },
        },
        { operationType: 'delete', documentKey: { _id: insertedId } },
      ]);
      for (const change of changes) expect(change._id).toEqual({ _data: expect.any(String) });
      await stream.close();
    } finally {
      await watcher.close();
      await writer.close();
      await streaming.close();
    }
  });
});
