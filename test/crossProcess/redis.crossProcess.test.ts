import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, describe } from 'vitest';
import type { CoreSpec } from '../support/coreSpec.js';
import { redisForTests } from '../support/redisServer.js';
import { crossProcessSuite } from './crossProcessSuite.js';
import { databaseExtras } from './databaseExtras.js';

const { server } = await redisForTests(
  'test/crossProcess/redis.crossProcess.test.ts (RedisCore across real processes)',
);
const admin = server ? await createClient({ url: server.url }).connect() : undefined;
afterAll(async () => {
  await admin?.quit();
  await server?.close();
});

/** A fresh prefix per test; disposing unlinks every key under it. */
const makeSpec = async (tuning = {}): Promise<CoreSpec> => ({
  backend: 'redis',
  url: server?.url ?? '',
  prefix: `cachier-xp:${randomUUID().slice(0, 8)}:`,
  ...tuning,
});
const dispose = async (spec: CoreSpec) => {
  if (spec.backend !== 'redis' || !admin) return;
  for await (const keys of admin.scanIterator({ MATCH: `${spec.prefix}*` })) {
    if (keys.length > 0) await admin.unlink(keys);
  }
};

describe.skipIf(!server)('RedisCore across processes', () => {
  crossProcessSuite('redis', makeSpec, dispose);
  databaseExtras('redis', makeSpec, dispose);
});
