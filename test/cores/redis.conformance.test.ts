import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { describe } from 'vitest';
import { RedisCore } from '../../src/index.js';
import { conformance } from '../conformance/conformance.js';
import { redisForTests } from '../support/redisServer.js';

const { server } = await redisForTests(
  'test/cores/redis.conformance.test.ts (the call algorithm on RedisCore)',
);

describe.skipIf(!server)('RedisCore under cachier()', () => {
  if (!server) return;
  let client: ReturnType<typeof createClient> | undefined;
  const prefix = `cachier-conformance:${randomUUID().slice(0, 8)}:`;
  conformance(
    'redis',
    {
      make: async () => {
        client = await createClient({ url: server.url }).connect();
        return new RedisCore({ client, prefix });
      },
      dispose: async () => {
        if (client) {
          for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) {
            if (keys.length > 0) await client.unlink(keys);
          }
          await client.quit();
        }
        await server.close();
      },
    },
    { serializes: true },
  );
});
