import { createClient } from 'redis';
import { afterAll, describe, it } from 'vitest';
import { RedisCore } from '../../src/index.js';
import { coreConformance } from '../../src/testing/index.js';
import { redisForTests } from '../support/redisServer.js';

const { server } = await redisForTests(
  'test/cores/redis.kit.test.ts (the conformance kit on RedisCore)',
);
const client = server ? await createClient({ url: server.url }).connect() : undefined;
afterAll(async () => {
  await client?.quit();
  await server?.close();
});

describe.skipIf(!client)('RedisCore', () => {
  const prefix = 'cachier-kit:';
  coreConformance({
    describe,
    test: it,
    makeCore: ({ leaseMs }) =>
      new RedisCore({
        client: client as NonNullable<typeof client>,
        prefix,
        ...(leaseMs ? { leaseMs } : {}),
      }),
    minLeaseMs: 200,
    sharedStore: true,
    subscribe: true,
    names: true,
    list: true,
    corrupt: async (_core, name, key) => {
      await client?.hSet(`${prefix}${encodeURIComponent(name)}:e:${key}`, 't', 'junk');
    },
  });
});
