import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisCore, type RedisCoreOptions } from '../../src/cores/redis.js';
import { type CachierError, CorruptEntryError } from '../../src/errors.js';
import { redisForTests } from '../support/redisServer.js';
import { startTcpFaultProxy } from '../support/tcpFaultProxy.js';
import { sleep } from '../support/time.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const lookup = await redisForTests(
  'test/cores/redis.test.ts (every RedisCore test against a server)',
);
const keyOf = (text: string) => createHash('sha256').update(text).digest('hex');
type Client = ReturnType<typeof createClient>;

describe('RedisCore options', () => {
  const client = createClient(); // never connected: options are checked at construction
  it.each<[string, unknown, RegExp]>([
    ['no options', undefined, /needs an options object/],
    ['an unknown option', { client, lease: 10 }, /unknown RedisCore option 'lease'/],
    ['a missing client', {}, /RedisCore client must be a node-redis client/],
    ['a client that is not one', { client: { get: () => 1 } }, /RedisCore client must be/],
    [
      'a prefix without a colon',
      { client, prefix: 'app' },
      /RedisCore prefix must be a string ending with ':'/,
    ],
    ['a short lease', { client, leaseMs: 10 }, /RedisCore leaseMs must be a number >= 200/],
    ['a zero timeout', { client, operationTimeoutMs: 0 }, /RedisCore operationTimeoutMs must be/],
    ['a fractional ttl', { client, entryTtlMs: 1.5 }, /RedisCore entryTtlMs must be/],
    // Node runs a longer timer after 1 ms: every operation would time out at once.
    [
      'a timeout no timer can wait',
      { client, operationTimeoutMs: 30 * 24 * 3600_000 },
      /RedisCore operationTimeoutMs must be at most 2147483647/,
    ],
    [
      'a lease no timer can wait',
      { client, leaseMs: 2 ** 31 },
      /RedisCore leaseMs must be a number >= 200 and at most 2147483647/,
    ],
  ])('rejects %s with a TypeError naming the option', (_label, options, message) => {
    expect(() => new RedisCore(options as RedisCoreOptions)).toThrow(TypeError);
    expect(() => new RedisCore(options as RedisCoreOptions)).toThrow(message);
  });

  it('accepts clients of every RESP version and type mapping, and functions returning them', () => {
    const resp3 = createClient({ RESP: 3 });
    const mapped = createClient().withTypeMapping({ 36: Buffer });
    expect(new RedisCore({ client: resp3 }).kind).toBe('redis');
    expect(new RedisCore({ client: mapped, leaseMs: 5000 }).leaseMs).toBe(5000);
    expect(new RedisCore({ client: async () => client }).leaseMs).toBe(10_000);
  });
});

describe.skipIf(!lookup.server)('RedisCore on a real Redis server', () => {
  const url = lookup.server?.url ?? '';
  const clientName = `cachier-test-${randomUUID()}`;
  let client: Client;
  let other: Client;
  const extraClients: Client[] = [];
  let prefix: string;

  const core = (options: Partial<RedisCoreOptions> = {}) =>
    new RedisCore({ client, prefix, leaseMs: 5000, ...options });
  const entry = (bytes: Uint8Array, calculatedAt = Date.now()) => ({ bytes, calculatedAt });

  beforeAll(async () => {
    client = await createClient({ url, name: clientName }).connect();
    other = await createClient({ url }).connect();
  });
  afterAll(async () => {
    await Promise.all(
      [client, other, ...extraClients].map((c) => (c.isOpen ? c.quit() : undefined)),
    );
    await lookup.server?.close();
  });
  afterEach(async () => {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys);
    }
  });
  // A fresh prefix per test: tests never see each other's keys, even on a shared server.
  beforeEach(() => {
    prefix = `cachier-test:${randomUUID()}:`;
  });

  describe('entries', () => {
    it('returns exactly the bytes and calculation time it stored, and undefined when absent', async () => {
      const store = core();
      const key = keyOf('k');
      expect(await store.get('report', key)).toBeUndefined();
      const bytes = new Uint8Array([0, 255, 13, 10, 0, 36, 42, ...randomBytes(4096)]);
      await store.set('report', key, entry(bytes, 1_700_000_000_123.5));
      const read = await store.get('report', key);
      expect(read?.calculatedAt).toBe(1_700_000_000_123.5);
      expect(Buffer.from(read!.bytes).equals(Buffer.from(bytes))).toBe(true);

      await store.set('report', key, entry(new Uint8Array(0), 5));
      const replaced = await store.get('report', key);
      expect(replaced?.bytes.byteLength).toBe(0);
      expect(replaced?.calculatedAt).toBe(5);
    });

    it('stores a view of a larger buffer as just its bytes', async () => {
      const store = core();
      const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
      await store.set('view', keyOf('v'), entry(backing.subarray(2, 5)));
      expect([...(await store.get('view', keyOf('v')))!.bytes]).toEqual([1, 2, 3]);
    });

    it('keeps one HASH per entry under the documented key, read in one HMGET', async () => {
      const store = core();
      const key = keyOf('layout');
      await store.set('my report/v2', key, entry(new Uint8Array([7]), 42));
      const redisKey = `${prefix}my%20report%2Fv2:e:${key}`;
      expect(await client.type(redisKey)).toBe('hash');
      expect(await client.hGetAll(redisKey)).toEqual({ v: '\u0007', t: '42', f: '1' });
    });

    it('reads an entry of another format version as absent and a damaged one as corrupt', async () => {
      const store = core();
      const redisKey = (k: string) => `${prefix}n:e:${keyOf(k)}`;
      await client.hSet(redisKey('future'), { v: 'x', t: '1', f: '2' });
      expect(await store.get('n', keyOf('future'))).toBeUndefined();
      await client.hSet(redisKey('no-time'), { v: 'x', f: '1' });
      await expect(store.get('n', keyOf('no-time'))).rejects.toBeInstanceOf(CorruptEntryError);
      await client.set(redisKey('string'), 'not a hash');
      await expect(store.get('n', keyOf('string'))).rejects.toBeInstanceOf(CorruptEntryError);
      // A damaged entry is replaced by the next store.
      await store.set('n', keyOf('string'), entry(new Uint8Array([1]), 3));
      expect((await store.get('n', keyOf('string')))?.calculatedAt).toBe(3);
    });

    it('runs its scripts again after the server forgot them (SCRIPT FLUSH)', async () => {
      const store = core();
      await store.set('s', keyOf('1'), entry(new Uint8Array([1])));
      await client.scriptFlush();
      await store.set('s', keyOf('2'), entry(new Uint8Array([2])));
      expect([...(await store.get('s', keyOf('2')))!.bytes]).toEqual([2]);
    });

    it('sets native expiry when entryTtlMs is given, per name with a function', async () => {
      const fixed = core({ entryTtlMs: 60_000 });
      await fixed.set('t', keyOf('a'), entry(new Uint8Array([1])));
      const ttl = await client.pTTL(`${prefix}t:e:${keyOf('a')}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);

      const perName = core({ entryTtlMs: (name) => (name === 'short' ? 1000 : undefined) });
      await perName.set('short', keyOf('a'), entry(new Uint8Array([1])));
      await perName.set('long', keyOf('a'), entry(new Uint8Array([1])));
      expect(await client.pTTL(`${prefix}short:e:${keyOf('a')}`)).toBeGreaterThan(0);
      expect(await client.pTTL(`${prefix}long:e:${keyOf('a')}`)).toBe(-1);
    });

    it('refuses keys that are not hex SHA-256 and names that are not valid Unicode', async () => {
      const store = core();
      await expect(store.get('n', 'abc')).rejects.toThrow(/64-character lowercase hex/);
      await expect(store.get('\ud800', keyOf('a'))).rejects.toThrow(/valid Unicode/);
    });
  });

  describe('claims', () => {
    it('lets exactly one of 20 concurrent claimers on two clients win', async () => {
      const stores = [core(), new RedisCore({ client: other, prefix })];
      const key = keyOf('race');
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => stores[i % 2]!.tryClaim('race', key)),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      // The claim is the documented key, owned by host:pid:uuid, with the lease as its TTL.
      const owner = await client.get(`${prefix}race:c:${key}`);
      expect(owner).toMatch(new RegExp(`:${process.pid}:[0-9a-f-]{36}$`));
      const ttl = await client.pTTL(`${prefix}race:c:${key}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5000);
    });

    it('is taken over once its lease lapses; the old owner can then neither renew nor release it', async () => {
      const first = core({ leaseMs: 300 });
      const second = new RedisCore({ client: other, prefix, leaseMs: 300 });
      const key = keyOf('lease');
      const old = await first.tryClaim('lease', key);
      expect(old).toBeDefined();
      expect(await second.tryClaim('lease', key)).toBeUndefined();
      let taken = await second.tryClaim('lease', key);
      while (!taken) {
        await sleep(50);
        taken = await second.tryClaim('lease', key);
      }
      expect(await old!.renew()).toBe(false);
      await old!.release();
      // The new owner's claim survived the old owner's release.
      expect(await first.tryClaim('lease', key)).toBeUndefined();
      expect(await taken.renew()).toBe(true);
      await taken.release();
      expect(await first.tryClaim('lease', key)).toBeDefined();
    });

    it('stays held past its lease while renewed', async () => {
      const owner = core({ leaseMs: 300 });
      const rival = new RedisCore({ client: other, prefix, leaseMs: 300 });
      const key = keyOf('renewed');
      const claim = await owner.tryClaim('renewed', key);
      for (let i = 0; i < 12; i++) {
        await sleep(75);
        expect(await claim!.renew()).toBe(true);
        expect(await rival.tryClaim('renewed', key)).toBeUndefined();
      }
    });

    it('reports a claim dropped by clearClaims as lost on renewal', async () => {
      const store = core();
      const claim = await store.tryClaim('cc', keyOf('a'));
      await store.clearClaims('cc');
      expect(await claim!.renew()).toBe(false);
      expect(await store.tryClaim('cc', keyOf('a'))).toBeDefined();
    });
  });

  describe('delete, clear, clearClaims and deleteStale', () => {
    it('touch only their own name and prefix', async () => {
      const store = core();
      const otherPrefix = new RedisCore({ client, prefix: `${prefix}x:` });
      const k = keyOf('a');
      const fill = async () => {
        for (const s of [store, otherPrefix]) {
          for (const name of ['a', 'b', 'a:e']) {
            await s.set(name, k, entry(new Uint8Array([1]), 100));
            await s.set(name, keyOf('b'), entry(new Uint8Array([2]), 200));
            await s.tryClaim(name, k);
          }
        }
      };
      const present = async () => {
        const found: string[] = [];
        for (const [label, s] of [
          ['p', store],
          ['x', otherPrefix],
        ] as const) {
          for (const name of ['a', 'b', 'a:e']) {
            if (await s.get(name, k)) found.push(`${label}/${name}/k`);
            if (await s.get(name, keyOf('b'))) found.push(`${label}/${name}/b`);
          }
        }
        return found;
      };
      const all = ['a', 'b', 'a:e'].flatMap((n) => ['k', 'b'].map((e) => `${n}/${e}`));
      const everywhere = ['p', 'x'].flatMap((p) => all.map((e) => `${p}/${e}`));

      await fill();
      await store.delete('a', k);
      expect(await present()).toEqual(everywhere.filter((e) => e !== 'p/a/k'));

      await store.clear('a');
      expect(await present()).toEqual(everywhere.filter((e) => !e.startsWith('p/a/')));

      await fill();
      await store.deleteStale('a', 150);
      expect(await present()).toEqual(everywhere.filter((e) => e !== 'p/a/k'));
      await store.deleteStale('a', 200); // strictly before: calculated at 200 stays
      expect(await present()).toEqual(everywhere.filter((e) => e !== 'p/a/k'));

      // Claims: only name 'a' under this prefix is freed.
      const claimed = async () => {
        const held: string[] = [];
        for (const [label, s] of [
          ['p', store],
          ['x', otherPrefix],
        ] as const) {
          for (const name of ['a', 'b', 'a:e']) {
            const claim = await s.tryClaim(name, k);
            if (claim) await claim.release();
            else held.push(`${label}/${name}`);
          }
        }
        return held;
      };
      expect(await claimed()).toEqual(['p/a', 'p/b', 'p/a:e', 'x/a', 'x/b', 'x/a:e']);
      await store.clearClaims('a');
      expect(await claimed()).toEqual(['p/b', 'p/a:e', 'x/a', 'x/b', 'x/a:e']);
    });

    it('leave a claim to its owner when they delete or clear its entry', async () => {
      const store = core();
      const claim = await store.tryClaim('held', keyOf('a'));
      await store.set('held', keyOf('a'), entry(new Uint8Array([1])));
      await store.delete('held', keyOf('a'));
      await store.clear('held');
      await store.deleteStale('held', Date.now() + 1000);
      expect(await claim!.renew()).toBe(true);
    });
  });

  describe('names and list', () => {
    it('lists the names and the entries of a name without their values', async () => {
      const store = core();
      await store.set('b/2', keyOf('1'), entry(new Uint8Array(10), 100));
      await store.set('b/2', keyOf('2'), entry(new Uint8Array(3), 200));
      await store.set('a', keyOf('1'), entry(new Uint8Array(1), 300));
      await new RedisCore({ client, prefix: `${prefix}x:` }).set(
        'hidden',
        keyOf('1'),
        entry(new Uint8Array(1)),
      );
      await client.set(`${prefix}not-ours`, '1');
      expect(await store.names()).toEqual(['a', 'b/2']);
      const infos = [];
      for await (const info of store.list('b/2')) infos.push(info);
      expect(infos.sort((x, y) => x.calculatedAt - y.calculatedAt)).toEqual([
        { key: keyOf('1'), calculatedAt: 100, size: 10 },
        { key: keyOf('2'), calculatedAt: 200, size: 3 },
      ]);
    });
  });

  describe('names and list with foreign keys', () => {
    it("lists the readable entries and skips a key of another type in an entry's place", async () => {
      const store = core();
      await store.set('mixed', keyOf('1'), entry(new Uint8Array(4), 100));
      await client.rPush(`${prefix}mixed:e:${keyOf('list')}`, ['not', 'an', 'entry']);
      await client.set(`${prefix}mixed:e:${keyOf('string')}`, 'not an entry');
      const infos = [];
      for await (const info of store.list('mixed')) infos.push(info);
      expect(infos).toEqual([{ key: keyOf('1'), calculatedAt: 100, size: 4 }]);
      expect(await store.names()).toEqual(['mixed']);
    });
  });

  describe('subscribe', () => {
    /** Collects onChange calls; `next()` resolves at the next one. */
    function recorder() {
      let calls = 0;
      let wake: (() => void) | undefined;
      return {
        onChange: () => {
          calls++;
          wake?.();
        },
        get calls() {
          return calls;
        },
        next: () =>
          new Promise<void>((resolve) => {
            wake = resolve;
          }),
      };
    }

    it('signals stores, releases, deletes and clears made through another client', async () => {
      const waiter = core();
      const writer = new RedisCore({ client: other, prefix });
      const key = keyOf('sub');
      const seen = recorder();
      let signal = seen.next();
      const unsubscribe = waiter.subscribe('sub', key, seen.onChange);
      await signal; // the subscription is active (a spurious call so waiters re-check)

      for (const change of [
        () => writer.set('sub', key, entry(new Uint8Array([1]))),
        async () => (await writer.tryClaim('sub', key))?.release(),
        () => writer.delete('sub', key),
        () => writer.clear('sub'),
      ]) {
        signal = seen.next();
        await change();
        await signal;
      }
      unsubscribe();
    });

    it('stops signalling after unsubscribe, and other keys do not wake a waiter', async () => {
      const waiter = core();
      const writer = new RedisCore({ client: other, prefix });
      const key = keyOf('sub');
      const stopped = recorder();
      const staying = recorder();
      const otherKey = recorder();
      let signal = staying.next();
      const unsubscribe = waiter.subscribe('sub', key, stopped.onChange);
      waiter.subscribe('sub', key, staying.onChange);
      waiter.subscribe('sub', keyOf('other'), otherKey.onChange);
      await signal;
      const before = { stopped: stopped.calls, otherKey: otherKey.calls };

      unsubscribe();
      signal = staying.next();
      await writer.set('sub', key, entry(new Uint8Array([1])));
      await signal;
      // The same message reached the remaining waiter; the unsubscribed one and the
      // waiter on another key were not called.
      expect(stopped.calls).toBe(before.stopped);
      expect(otherKey.calls).toBe(before.otherKey);
    });

    it('shares one subscriber connection per client between cores and waiters', async () => {
      const first = core();
      const second = new RedisCore({ client, prefix: `${prefix}second:` });
      const ready = [1, 2, 3].map((i) => {
        const seen = recorder();
        const signal = seen.next();
        (i === 2 ? second : first).subscribe(`name${i}`, keyOf(String(i)), seen.onChange);
        return signal;
      });
      await Promise.all(ready);
      const list = String(await client.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']));
      const ours = list.split('\n').filter((line) => line.includes(` name=${clientName} `));
      expect(ours).toHaveLength(1);
    });

    it('closes its subscriber connection when the user closes the client', async () => {
      const name = `cachier-test-${randomUUID()}`;
      const own = await createClient({ url, name }).connect();
      const seen = recorder();
      const signal = seen.next();
      new RedisCore({ client: own, prefix }).subscribe('q', keyOf('q'), seen.onChange);
      await signal;
      const count = async () =>
        String(await client.sendCommand(['CLIENT', 'LIST']))
          .split('\n')
          .filter((line) => line.includes(` name=${name} `)).length;
      expect(await count()).toBe(2);
      await own.quit();
      for (let i = 0; i < 250 && (await count()) > 0; i++) await sleep(20);
      expect(await count()).toBe(0);
    });
  });

  describe('never keeps a program alive', () => {
    it.each(['quit', 'unref'])(
      'a child that used every part of the core ends after client.%s()',
      async (mode) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'test/support/redisExitChild.ts', url, mode],
          { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let output = '';
        child.stdout.on('data', (data) => {
          output += String(data);
        });
        // Liveness, not speed: a child held open by the core would never exit.
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        const [code, signal] = await once(child, 'exit');
        clearTimeout(killer);
        expect({ code, signal, output }).toEqual({ code: 0, signal: null, output: 'done\n' });
      },
    );
  });

  describe('when the server cannot be reached', () => {
    const server = new URL(url);

    it('rejects within operationTimeoutMs when the server stops answering, then skips it for a while', async () => {
      const proxy = await startTcpFaultProxy(server.hostname, Number(server.port || 6379));
      const proxied = await createClient({ url: `redis://127.0.0.1:${proxy.port}` }).connect();
      extraClients.push(proxied);
      try {
        const store = new RedisCore({ client: proxied, prefix, operationTimeoutMs: 200 });
        await store.set('f', keyOf('a'), entry(new Uint8Array([1])));
        proxy.freeze();
        await expect(store.get('f', keyOf('a'))).rejects.toMatchObject({
          code: 'CACHIER_REDIS_TIMEOUT',
        });
        // Skipped at once, and still a timeout: Redis is slow, not gone.
        await expect(store.tryClaim('f', keyOf('a'))).rejects.toMatchObject({
          code: 'CACHIER_REDIS_TIMEOUT',
          message: expect.stringMatching(/^skipped /),
        });
        await proxy.restore();
        // Back again: after the pause, operations reach the server.
        let read: unknown;
        for (;;) {
          try {
            read = await store.get('f', keyOf('a'));
            break;
          } catch (error) {
            expect((error as CachierError).code).toMatch(/^CACHIER_REDIS_(UNAVAILABLE|TIMEOUT)$/);
            await sleep(100);
          }
        }
        expect(read).toBeDefined();
      } finally {
        proxied.destroy();
        await proxy.close();
      }
    });

    it('rejects instead of queueing while the connection is down, and works again after', async () => {
      const proxy = await startTcpFaultProxy(server.hostname, Number(server.port || 6379));
      const proxied = await createClient({ url: `redis://127.0.0.1:${proxy.port}` }).connect();
      proxied.on('error', () => undefined);
      try {
        const store = new RedisCore({ client: proxied, prefix, operationTimeoutMs: 200 });
        await proxy.cut();
        while (proxied.isReady) await sleep(10); // the client saw the connection drop
        const failure = await store
          .set('f', keyOf('b'), entry(new Uint8Array([1])))
          .catch((e) => e);
        // A connection failure, not a timeout: callers do not wait on a server that is down.
        expect(failure).toMatchObject({ code: 'CACHIER_REDIS_UNAVAILABLE' });
        await proxy.restore();
        for (;;) {
          try {
            await store.set('f', keyOf('c'), entry(new Uint8Array([2]), 7));
            break;
          } catch {
            await sleep(100);
          }
        }
        // Commands are sent in order: had the failed write been kept in the offline queue,
        // it would have reached the server before this later one.
        expect((await core().get('f', keyOf('c')))?.calculatedAt).toBe(7);
        expect(await core().get('f', keyOf('b'))).toBeUndefined();
      } finally {
        proxied.destroy();
        await proxy.close();
      }
    });

    it('rejects at once on a closed client, and asks a client function again after a failure', async () => {
      const closed = createClient({ url });
      await expect(new RedisCore({ client: closed, prefix }).get('c', keyOf('a'))).rejects.toThrow(
        /closed/,
      );
      let calls = 0;
      const store = new RedisCore({
        client: async () => {
          calls++;
          if (calls === 1) throw new Error('no connection yet');
          return client;
        },
        prefix,
        operationTimeoutMs: 100,
      });
      await expect(store.get('c', keyOf('a'))).rejects.toMatchObject({
        code: 'CACHIER_REDIS_CLIENT_FAILED',
      });
      await sleep(1100); // the pause after a failure is max(1000, operationTimeoutMs)
      expect(await store.get('c', keyOf('a'))).toBeUndefined();
      expect(calls).toBe(2);
    });
  });
});
