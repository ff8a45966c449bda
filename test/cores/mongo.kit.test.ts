import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, describe, it } from 'vitest';
import { MongoCore } from '../../src/index.js';
import { coreConformance } from '../../src/testing/index.js';
import { startMongoTestServer } from '../support/mongoTestServer.js';

const server = await startMongoTestServer();
const realUri = process.env.CACHIER_TEST_MONGODB_URI;
const clients: MongoClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.close();
  await server.close();
});

for (const [label, uri] of [
  ['wire test server', server.uri],
  ...(realUri ? [['real server, CACHIER_TEST_MONGODB_URI', realUri]] : []),
] as const) {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  clients.push(client);
  const collection = client.db(`cachier_kit_${randomUUID().slice(0, 8)}`).collection('cache');
  coreConformance({
    describe,
    test: it,
    title: `MongoCore (${label})`,
    makeCore: ({ leaseMs }) =>
      new MongoCore({ mongetter: () => collection, ...(leaseMs ? { leaseMs } : {}) }),
    minLeaseMs: 200,
    sharedStore: true,
    names: true,
    list: true,
    corrupt: async (_core, name, key) => {
      await collection.updateOne({ name, key }, { $set: { calculatedAt: 'junk' } });
    },
  });
}
