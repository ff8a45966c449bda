/**
 * The Redis core through cachier() against a real server, under what an adversary or a
 * bad day can do to it: waiting on another process's long calculation (the load a waiter
 * puts on the server), and foreign data in the place of a claim.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CachierEvent, cachier, RedisCore } from '../../src/index.js';
import { cacheKey } from '../../src/keys.js';
import { redisForTests } from '../support/redisServer.js';
import { startTcpFaultProxy } from '../support/tcpFaultProxy.js';
import { settlesWithin, sleep, until } from '../support/time.js';

const { server } = await redisForTests(
  'test/cores/redis.faults.test.ts (cachier() on Redis under faults and foreign data)',
);
const direct = server ? await createClient({ url: server.url }).connect() : undefined;
afterAll(async () => {
  await direct?.quit();
  await server?.close();
});

/** How often `command` was sent in `bytes` (RESP: each command name is a bulk string). */
const countCommand = (bytes: Buffer, command: string) =>
  bytes.toString('latin1').split(`\r\n${command}\r\n`).length - 1;

describe.skipIf(!server)('cachier() on Redis under faults and foreign data', () => {
  const target = new URL(server?.url ?? 'redis://127.0.0.1:6379');
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function newClient(url = server?.url ?? '') {
    const client = await createClient({ url }).connect();
    cleanups.push(() => client.destroy());
    return client;
  }

  it("a caller waiting on another process's calculation polls at the poll schedule's pace, on one subscription", async () => {
    const proxy = await startTcpFaultProxy(target.hostname, Number(target.port));
    cleanups.push(() => proxy.close());
    const prefix = `cachier-faults:${randomUUID()}:`;
    const name = 'long-calculation';
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const owner = cachier(
      async (id: string) => {
        await finished;
        return `owner's ${id}`;
      },
      { name, backend: new RedisCore({ client: await newClient(), prefix }) },
    );
    const events: CachierEvent[] = [];
    // The waiter's client (and so its subscriber connection) goes through the proxy, which
    // counts what it sends.
    const waiter = cachier(async (id: string) => `waiter's ${id}`, {
      name,
      backend: new RedisCore({
        client: await newClient(`redis://127.0.0.1:${proxy.port}`),
        prefix,
      }),
      onEvent: (event) => events.push(event),
    });

    const owned = owner('a');
    await until(
      async () => (await direct?.keys(`${prefix}*:c:*`))?.length === 1,
      5000,
      "the owner's claim",
    );
    const waited = waiter('a');
    await until(() => events.some((e) => e.type === 'wait'), 5000, 'the wait');
    const from = proxy.fromClients().length;
    const started = performance.now();
    await sleep(1500);
    const sent = proxy.fromClients().subarray(from);
    const elapsed = performance.now() - started;
    finish();
    expect(await owned).toBe("owner's a");
    expect(await waited).toBe("owner's a");

    // A bound on load, not on speed: the poll schedule reads at most every 45 ms (60 ms
    // less its jitter), so a slower machine only reads less. A waiter woken by its own
    // (re)subscription would read hundreds of times in this while.
    expect(countCommand(sent, 'HMGET')).toBeLessThanOrEqual(Math.ceil(elapsed / 45) + 5);
    // The channel stays subscribed between the polls of one wait.
    expect(countCommand(sent, 'SUBSCRIBE')).toBeLessThanOrEqual(2);
  });

  it.each<[string, (client: ReturnType<typeof createClient>, key: string) => Promise<unknown>]>([
    ['a string without expiry', (client, key) => client.set(key, 'not a cachier owner')],
    ['a list', (client, key) => client.rPush(key, ['not', 'a', 'claim'])],
    ['a hash', (client, key) => client.hSet(key, { owner: 'someone' })],
  ])(
    'a claim key that can never lapse (%s, written by something else) is taken over: the call returns its value',
    async (_label, plant) => {
      const client = await newClient();
      const prefix = `cachier-faults:${randomUUID()}:`;
      const name = 'planted-claim';
      const calculated: string[] = [];
      const cached = cachier(
        async (id: string) => {
          calculated.push(id);
          return `value of ${id}`;
        },
        { name, backend: new RedisCore({ client, prefix, leaseMs: 500 }) },
      );
      const claimKey = `${prefix}${name}:c:${cacheKey(['x'], undefined, undefined, false)}`;
      await plant(client, claimKey);

      // The default waitForCalcTimeout (0: wait as long as the owner lives) is kept: the
      // planted key has no owner that could ever store a value or let go.
      const value = await settlesWithin(cached('x'), 20_000, 'a claim that never lapses');
      expect(value).toBe('value of x');
      expect(calculated).toEqual(['x']);
      // The call's own claim replaced the planted key and was released after the store.
      expect(await client.exists(claimKey)).toBe(0);
      expect(await cached('x')).toBe('value of x');
      expect(calculated).toEqual(['x']);
    },
  );
});
