import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, describe, it } from 'vitest';
import { MongoCore } from '../../src/index.js';
import { coreConformance } from '../../src/testing/index.js';
import { startMongoTestServer } from '../support/mongoTestServer.js';
import { hasChangeStreams } from '../support/mongoTopology.js';

// The test server with change streams (as a replica set has them), so the kit checks subscribe.
const server = await startMongoTestServer({ changeStreams: true });
const realUri = process.env.CACHIER_TEST_MONGODB_URI;
const clients: MongoClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.close();
  await server.close();
});

for (const [label, uri] of [
  ['wire test server with change streams', server.uri],
  ...(realUri ? [['real server, CACHIER_TEST_MONGODB_URI', realUri]] : []),
] as const) {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  clients.push(client);
  // A standalone server has no change streams, so no push signal to check there: the kit
  // checks everything else, on a core whose subscribe is hidden.
  const pushes = uri === server.uri || (await hasChangeStreams(uri));
  const collection = client.db(`cachier_kit_${randomUUID().slice(0, 8)}`).collection('cache');
  coreConformance({
    describe,
    test: it,
    title: `MongoCore (${label})`,
    makeCore: ({ leaseMs }) => {
      const core = new MongoCore({ mongetter: () => collection, ...(leaseMs ? { leaseMs } : {}) });
      return pushes ? core : Object.assign(core, { subscribe: undefined });
    },
    minLeaseMs: 200,
    sharedStore: true,
    subscribe: pushes,
    names: true,
    list: true,
    corrupt: async (_core, name, key) => {
      await collection.updateOne({ name, key }, { $set: { calculatedAt: 'junk' } });
    },
  });
}
