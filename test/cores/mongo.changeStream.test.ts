import { randomUUID } from 'node:crypto';
import { type Document, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CachierEvent, cachier, MongoCore } from '../../src/index.js';
import { startMongoTestServer } from '../support/mongoTestServer.js';
import { hasChangeStreams } from '../support/mongoTopology.js';

const entry = (text: string) => ({
  bytes: new TextEncoder().encode(text),
  calculatedAt: Date.now(),
});

interface Target {
  label: string;
  /** Whether the server has change streams (else it answers as a standalone). */
  changeStreams: boolean;
  start: () => Promise<{ uri: string; close(): Promise<void> }>;
}

const targets: Target[] = [
  {
    label: 'the wire test server as a standalone',
    changeStreams: false,
    start: startMongoTestServer,
  },
  {
    label: 'the wire test server with change streams',
    changeStreams: true,
    start: () => startMongoTestServer({ changeStreams: true }),
  },
];
const realUri = process.env.CACHIER_TEST_MONGODB_URI;
if (realUri) {
  targets.push({
    label: 'a real server (CACHIER_TEST_MONGODB_URI)',
    changeStreams: await hasChangeStreams(realUri),
    start: async () => ({ uri: realUri, close: async () => undefined }),
  });
}

/** Resolves when `predicate` holds, checked after each call of the returned `check`. */
function when(predicate: () => boolean): { reached: Promise<void>; check: () => void } {
  let resolve!: () => void;
  const reached = new Promise<void>((r) => {
    resolve = r;
  });
  const check = () => {
    if (predicate()) resolve();
  };
  return { reached, check };
}

describe.each(targets)('MongoCore push signal on $label', ({ changeStreams, start }) => {
  let server: { uri: string; close(): Promise<void> };
  /** The waiting process's client, whose commands are watched. */
  let waiterClient: MongoClient;
  /** Another process's client. */
  let otherClient: MongoClient;
  const dbName = `cachier_push_${randomUUID().slice(0, 8)}`;
  const commands: { name: string; command: Document }[] = [];
  const failures: { name: string; code: unknown }[] = [];
  const onCommand: (() => void)[] = [];

  /** `$changeStream` aggregations the waiter's client sent for `collection`. */
  const changeStreamsOpened = (collection: string) =>
    commands.filter(
      (c) =>
        c.name === 'aggregate' &&
        c.command.aggregate === collection &&
        '$changeStream' in (c.command.pipeline?.[0] ?? {}),
    ).length;

  beforeAll(async () => {
    server = await start();
    waiterClient = new MongoClient(server.uri, {
      serverSelectionTimeoutMS: 5000,
      monitorCommands: true,
    });
    waiterClient.on('commandStarted', (event) => {
      commands.push({ name: event.commandName, command: event.command });
      for (const check of onCommand) check();
    });
    waiterClient.on('commandFailed', (event) => {
      failures.push({ name: event.commandName, code: (event.failure as { code?: unknown }).code });
    });
    otherClient = new MongoClient(server.uri, { serverSelectionTimeoutMS: 5000 });
  });

  afterAll(async () => {
    await otherClient?.db(dbName).dropDatabase();
    await waiterClient?.close();
    await otherClient?.close();
    await server?.close();
  });

  // Each core gets its own Collection object, as `() => client.db(d).collection(c)` makes.
  const waiterCore = (collection: string) =>
    new MongoCore({ mongetter: () => waiterClient.db(dbName).collection(collection) });
  const otherCore = (collection: string) =>
    new MongoCore({ mongetter: () => otherClient.db(dbName).collection(collection) });

  it('a waiter gets the value another process stores, and only one change stream is asked for', async () => {
    const collection = `wait_${randomUUID().slice(0, 8)}`;
    const events: CachierEvent[] = [];
    const finds = () =>
      commands.filter((c) => c.name === 'find' && c.command.find === collection).length;
    let findsAtWait = Number.POSITIVE_INFINITY;
    const polledAWhile = when(() => finds() >= findsAtWait + 5);
    onCommand.push(polledAWhile.check);
    let ownerStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      ownerStarted = resolve;
    });
    const owner = cachier(
      async (_id: string) => {
        ownerStarted();
        // Several waits pass first: each one subscribes anew.
        await polledAWhile.reached;
        return 'from the owner';
      },
      { name: 'push', backend: otherCore(collection) },
    );
    const waiterOptions = {
      name: 'push',
      onEvent: (event: CachierEvent) => {
        events.push(event);
        if (event.type === 'wait') findsAtWait = finds();
      },
    };
    const waiter = cachier(async (_id: string) => 'from the waiter', {
      ...waiterOptions,
      backend: waiterCore(collection),
    });
    // A second wrapper on its own core and Collection object of the same collection shares
    // the change stream (or, on a standalone, the memory that the server refused it).
    const second = cachier(async (_id: string) => 'from the second waiter', {
      ...waiterOptions,
      backend: waiterCore(collection),
    });
    const ownerCall = owner('x');
    await started;
    await expect(Promise.all([waiter('x'), second('x')])).resolves.toEqual([
      'from the owner',
      'from the owner',
    ]);
    await ownerCall;

    expect(events.map((e) => e.type)).toContain('wait');
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'wait-end', reason: 'value-arrived' }),
    );
    expect(events.filter((e) => e.type === 'store-error' || e.type === 'calculate')).toEqual([]);
    expect(changeStreamsOpened(collection)).toBe(1);
    const refused = failures.filter((f) => f.name === 'aggregate');
    expect(refused).toEqual(changeStreams ? [] : [{ name: 'aggregate', code: 40573 }]);
  });

  // Only where the server has change streams: a standalone has no push signal to route.
  if (changeStreams)
    it('routes a change to the waiters of its entry, and a delete to every waiter', async () => {
      const collection = `route_${randomUUID().slice(0, 8)}`;
      const waiter = waiterCore(collection);
      // Another core (its own Collection object) on the same collection: the same stream.
      const waiter2 = waiterCore(collection);
      const other = otherCore(collection);
      await waiter.get('n', 'warm-up');
      await waiter2.get('n', 'warm-up'); // resolves the collection, as a waiter's first read does
      const calls = { k1: 0, k2: 0 };
      const progress: (() => void)[] = [];
      const onChange = (key: 'k1' | 'k2') => () => {
        calls[key]++;
        for (const check of progress) check();
      };
      const stop1 = waiter.subscribe('n', 'k1', onChange('k1'));
      const stop2 = waiter2.subscribe('n', 'k2', onChange('k2'));
      // The stream's start wakes every waiter once (a change just before it would be missed).
      const accepted = when(() => calls.k1 >= 1 && calls.k2 >= 1);
      progress.push(accepted.check);
      await accepted.reached;
      const before = { ...calls };

      const k1Changed = when(() => calls.k1 > before.k1);
      progress.push(k1Changed.check);
      await other.set('n', 'k1', entry('one'));
      await k1Changed.reached;
      expect(calls.k2).toBe(before.k2); // the change of k1 said nothing to k2's waiter

      // A delete names only the document's _id: every waiter of the collection re-reads.
      const afterSet = { ...calls };
      const bothWoken = when(() => calls.k1 > afterSet.k1 && calls.k2 > afterSet.k2);
      progress.push(bothWoken.check);
      await other.delete('n', 'k1');
      await bothWoken.reached;

      // Unsubscribed waiters hear nothing more; the stream stays shared and single.
      stop1();
      const afterStop = { ...calls };
      const k2Again = when(() => calls.k2 > afterStop.k2);
      progress.push(k2Again.check);
      await other.set('n', 'k2', entry('two'));
      await other.delete('n', 'k2');
      await k2Again.reached;
      expect(calls.k1).toBe(afterStop.k1);
      stop2();
      expect(changeStreamsOpened(collection)).toBe(1);
    });
});
