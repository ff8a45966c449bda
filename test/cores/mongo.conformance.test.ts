import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { MongoCore } from '../../src/index.js';
import { conformance } from '../conformance/conformance.js';
import { type MongoTestServer, startMongoTestServer } from '../support/mongoTestServer.js';

/** A MongoCore on a fresh collection of `uri`; disposing drops the database. */
function factory(startUri: () => Promise<string>, stop?: () => Promise<void>) {
  let client: MongoClient | undefined;
  const db = `cachier_conformance_${randomUUID().slice(0, 8)}`;
  return {
    make: async () => {
      client = new MongoClient(await startUri(), { serverSelectionTimeoutMS: 5000 });
      const collection = client.db(db).collection('cache');
      return new MongoCore({ mongetter: () => collection });
    },
    dispose: async () => {
      await client?.db(db).dropDatabase();
      await client?.close();
      await stop?.();
    },
  };
}

let server: MongoTestServer | undefined;
conformance(
  'mongo (wire test server)',
  factory(
    async () => {
      server = await startMongoTestServer();
      return server.uri;
    },
    async () => server?.close(),
  ),
  { serializes: true },
);

const realUri = process.env.CACHIER_TEST_MONGODB_URI;
if (realUri) {
  conformance(
    'mongo (real server, CACHIER_TEST_MONGODB_URI)',
    factory(async () => realUri),
    {
      serializes: true,
    },
  );
}
