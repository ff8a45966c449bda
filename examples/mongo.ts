/**
 * The MongoDB core: a deliberately slow function cached in a MongoDB collection, so that
 * every process and machine that uses the collection shares one entry per argument list.
 * Called twice: only the first call waits.
 *
 *   npm run example:mongo                                   # starts the wire test server
 *   MONGODB_URI=mongodb://localhost:27017 npm run example:mongo   # a real server
 */

import { cachier } from 'cachier';
import { MongoClient } from 'mongodb';

// Without MONGODB_URI, run against the in-memory wire-protocol test server of this repo.
const testServer = process.env.MONGODB_URI
  ? undefined
  : await (await import('../test/support/mongoTestServer.js')).startMongoTestServer();
const uri = process.env.MONGODB_URI ?? testServer!.uri;

// Fail fast when the database is unreachable: the call then returns the function's value.
const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000, socketTimeoutMS: 10_000 });

async function slowSquare(n: number): Promise<{ n: number; square: number; at: Date }> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return { n, square: n * n, at: new Date() };
}

const square = cachier(slowSquare, {
  mongetter: () => client.db('cachier_example').collection('cache'),
  staleAfter: { minutes: 10 },
});

async function timed(label: string): Promise<void> {
  const start = performance.now();
  const result = await square(12);
  const ms = (performance.now() - start).toFixed(1);
  console.log(
    `${label}: square(12) = ${result.square} in ${ms} ms (calculated at ${result.at.toISOString()})`,
  );
}

try {
  console.log(`MongoDB: ${testServer ? `wire test server at ${uri}` : uri}`);
  await square.clearCache();
  await timed('first call ');
  await timed('second call');
} finally {
  // Database clients are the caller's to close; an open one keeps the process alive.
  await client.close();
  await testServer?.close();
}
