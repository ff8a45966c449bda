import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { CoreSpec } from '../support/coreSpec.js';
import { type MongoTestServer, startMongoTestServer } from '../support/mongoTestServer.js';
import { crossProcessSuite } from './crossProcessSuite.js';
import { ChildPool, finished, readLog, resultOf } from './harness.js';

/** A fresh database per test on the server at `uri()`; disposing drops it. */
function mongoStore(uri: () => Promise<string>) {
  let client: MongoClient | undefined;
  return {
    makeSpec: async (): Promise<CoreSpec> => ({
      backend: 'mongo',
      uri: await uri(),
      db: `cachier_xp_${randomUUID().slice(0, 8)}`,
      collection: 'cache',
    }),
    dispose: async (spec: CoreSpec) => {
      if (spec.backend !== 'mongo') return;
      client ??= new MongoClient(spec.uri, { serverSelectionTimeoutMS: 5000 });
      await client.db(spec.db).dropDatabase();
    },
    close: async () => client?.close(),
  };
}

// The children connect over TCP, so the wire test server can live in this process.
let server: Promise<MongoTestServer> | undefined;
const testServer = mongoStore(async () => {
  server ??= startMongoTestServer();
  return (await server).uri;
});
crossProcessSuite('mongo (wire test server)', testServer.makeSpec, testServer.dispose);

// The same scenarios where waiters are also woken by the change stream (as on a replica set).
let streamingServer: Promise<MongoTestServer> | undefined;
const streamingTestServer = mongoStore(async () => {
  streamingServer ??= startMongoTestServer({ changeStreams: true });
  return (await streamingServer).uri;
});
crossProcessSuite(
  'mongo (wire test server with change streams)',
  streamingTestServer.makeSpec,
  streamingTestServer.dispose,
);

const realUri = process.env.CACHIER_TEST_MONGODB_URI;
const realServer = realUri ? mongoStore(async () => realUri) : undefined;
if (realServer) {
  crossProcessSuite(
    'mongo (real server, CACHIER_TEST_MONGODB_URI)',
    realServer.makeSpec,
    realServer.dispose,
  );
}

afterAll(async () => {
  await testServer.close();
  await streamingTestServer.close();
  await realServer?.close();
  await (await server)?.close();
  await (await streamingServer)?.close();
});

describe('cross-process: mongo core without a database', () => {
  it('a process whose database is unreachable returns the function’s value and exits', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const work = mkdtempSync(join(tmpdir(), 'cachier-xp-down-'));
    const pool = new ChildPool();
    try {
      const log = join(work, 'calculations.log');
      const child = pool.start('A (database down)', {
        spec: { backend: 'mongo', uri: `mongodb://127.0.0.1:${port}`, db: 'x', collection: 'y' },
        name: 'down',
        log,
        scenario: { kind: 'calls', keys: ['k'], calc: { ms: 10 } },
      });
      await finished(child);
      expect(resultOf(child, 'k'), child.describe()).toEqual({ key: 'k', by: child.by });
      expect(readLog(log)).toEqual([{ by: child.by, key: 'k' }]);
      const storeErrors = child.messages.filter(
        (m) => m.event === 'cachier' && m.type === 'store-error',
      );
      expect(storeErrors.length, child.describe()).toBeGreaterThan(0);
      expect(child.stderr.match(/CACHIER_STORE_FAILED/g), child.describe()).toHaveLength(1);
    } finally {
      await pool.stopAll();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
