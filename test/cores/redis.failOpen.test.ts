/**
 * Fail open through cachier() on a real Redis server behind a TCP proxy that can stop
 * forwarding: the server unreachable from the start, stopped in the middle of a
 * calculation, and back again; after each pause of the core's breaker, one call probes the
 * server while the others skip it. Every call returns the function's value, each wrapper
 * warns once, and no call waits longer than the core's operation timeout.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisCore } from '../../src/index.js';
import {
  captureWarnings,
  storeErrors,
  warningsDelivered,
  wasSkipped,
  wrapped,
} from '../support/failOpenCalls.js';
import { redisForTests } from '../support/redisServer.js';
import { startTcpFaultProxy, type TcpFaultProxy } from '../support/tcpFaultProxy.js';

const { server } = await redisForTests(
  'test/cores/redis.failOpen.test.ts (cachier() when Redis fails)',
);
const direct = server ? await createClient({ url: server.url }).connect() : undefined;
afterAll(async () => {
  await direct?.quit();
  await server?.close();
});

/** RedisCore operationTimeoutMs in these tests; the default lease (10 s) is far longer. */
const TIMEOUT_MS = 1000;
/** What a call may add to the timeout: scheduling on a busy machine, never a second wait. */
const SLACK_MS = 1500;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe.skipIf(!server)('cachier() on Redis fails open', () => {
  const target = new URL(server?.url ?? 'redis://127.0.0.1:6379');
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function proxy(): Promise<TcpFaultProxy> {
    const started = await startTcpFaultProxy(target.hostname, Number(target.port));
    cleanups.push(() => started.close());
    return started;
  }

  async function proxiedClient(port: number) {
    const client = await createClient({ url: `redis://127.0.0.1:${port}` }).connect();
    client.on('error', () => undefined); // reconnection errors, expected here
    cleanups.push(() => client.destroy());
    return client;
  }

  it('server unreachable from the start ({ redisClient }): values returned, one warning per wrapper, no wait', async () => {
    const down = await proxy();
    await down.cut();
    const client = createClient({ url: `redis://127.0.0.1:${down.port}` });
    client.on('error', () => undefined);
    // As an application that starts while Redis is down: the client keeps reconnecting.
    client.connect().catch(() => undefined);
    cleanups.push(() => client.destroy());
    const warnings = captureWarnings();
    cleanups.push(warnings.stop);

    const first = wrapped({ redisClient: client });
    const second = wrapped({ redisClient: client });
    const results = [
      await first.call('a'),
      await first.call('a'),
      await first.call('b'),
      await second.call('a'),
    ];
    await warningsDelivered();

    expect(results.map((r) => r.value)).toEqual([
      'value of a',
      'value of a',
      'value of b',
      'value of a',
    ]);
    // Nothing could be stored: every call calculated.
    expect(first.calculations).toEqual(['a', 'a', 'b']);
    expect(second.calculations).toEqual(['a']);
    expect(warnings.codesOf(first.name)).toEqual(['CACHIER_STORE_FAILED']);
    expect(warnings.codesOf(second.name)).toEqual(['CACHIER_STORE_FAILED']);
    expect(storeErrors(first.events).length).toBeGreaterThan(0);
    // The default operationTimeoutMs is 5 s; a down server is not waited for at all.
    for (const { ms } of results) expect(ms).toBeLessThan(5000 + SLACK_MS);
  });

  it('server stopped mid-calculation, then back: the value is returned, one warning, and the next call stores again', async () => {
    const link = await proxy();
    const client = await proxiedClient(link.port);
    const prefix = `cachier-fo:${randomUUID()}:`;
    const store = new RedisCore({ client, prefix, operationTimeoutMs: TIMEOUT_MS });
    const warnings = captureWarnings();
    cleanups.push(warnings.stop);
    const fn = wrapped({ backend: store });

    // Stored while the server is up: a hit afterwards.
    expect((await fn.call('before')).value).toBe('value of before');
    expect((await fn.call('before')).value).toBe('value of before');

    fn.duringNext(() => link.cut());
    const stopped = await fn.call('during');
    const afterStop = await fn.call('after-stop');
    await warningsDelivered();
    expect(stopped.value).toBe('value of during');
    expect(afterStop.value).toBe('value of after-stop');
    expect(stopped.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(afterStop.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(warnings.codesOf(fn.name)).toEqual(['CACHIER_STORE_FAILED']);

    await link.restore();
    while (!client.isReady) await sleep(20); // node-redis reconnects on its own
    await sleep(Math.max(1000, TIMEOUT_MS) + 100); // the documented pause after a failure
    const back = await fn.call('back');
    expect(back.value).toBe('value of back');
    const entries = (await direct?.keys(`${prefix}*:e:*`)) ?? [];
    expect(entries).toHaveLength(2); // 'before' and 'back'
    // Stored again: the next call is a hit, and no new warning came.
    await fn.call('back');
    await warningsDelivered();
    expect(fn.calculations).toEqual(['before', 'during', 'after-stop', 'back']);
    expect(warnings.codesOf(fn.name)).toEqual(['CACHIER_STORE_FAILED']);
  });

  it('server that stops answering mid-calculation: the value after at most one operation timeout', async () => {
    const link = await proxy();
    const client = await proxiedClient(link.port);
    const fn = wrapped({
      backend: new RedisCore({
        client,
        prefix: `cachier-fo:${randomUUID()}:`,
        operationTimeoutMs: TIMEOUT_MS,
      }),
    });
    const warnings = captureWarnings();
    cleanups.push(warnings.stop);

    fn.duringNext(async () => link.freeze());
    const frozen = await fn.call('frozen');
    const next = await fn.call('next');
    await warningsDelivered();

    expect([frozen.value, next.value]).toEqual(['value of frozen', 'value of next']);
    expect(frozen.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(next.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(warnings.codesOf(fn.name)).toEqual(['CACHIER_STORE_FAILED']);
    const codes = storeErrors(fn.events).map((error) => error?.code ?? '');
    expect(codes).toContain('CACHIER_REDIS_TIMEOUT');
  });

  it('server hung: after each pause one call probes it while the others skip it; once it answers, the probe closes the breaker and values are cached again', async () => {
    const link = await proxy();
    const client = await proxiedClient(link.port);
    const prefix = `cachier-fo:${randomUUID()}:`;
    const fn = wrapped({
      backend: new RedisCore({ client, prefix, operationTimeoutMs: TIMEOUT_MS }),
    });
    const pause = Math.max(1000, TIMEOUT_MS); // the documented pause
    /** Entry reads (one per call, as HMGET) that reached the network after byte `from`. */
    const readsSince = (from: number) =>
      link.fromClients().subarray(from).toString('latin1').split('\r\nHMGET\r\n').length - 1;
    expect((await fn.call('warm')).value).toBe('value of warm');

    link.freeze();
    expect((await fn.call('opens')).value).toBe('value of opens'); // its read times out
    await sleep(pause + 100);
    const bytes = link.fromClients().length;
    const events = fn.events.length;
    const round = await Promise.all(['a', 'b', 'c'].map((key) => fn.call(key)));
    expect(round.map((r) => r.value)).toEqual(['value of a', 'value of b', 'value of c']);
    // Half-open: one read probed the hung server (and timed out), the others never left.
    expect(readsSince(bytes)).toBe(1);
    const errors = storeErrors(fn.events.slice(events));
    expect(errors.filter((error) => !wasSkipped(error))).toHaveLength(1);
    expect(new Set(errors.map((error) => error?.code))).toEqual(new Set(['CACHIER_REDIS_TIMEOUT']));

    await link.restore();
    await sleep(pause + 100);
    const back = await fn.call('back'); // the probe gets through: the breaker closes
    expect(back.value).toBe('value of back');
    expect(await fn.call('back')).toMatchObject({ value: 'value of back' }); // a hit
    const entries = (await direct?.keys(`${prefix}*:e:*`)) ?? [];
    expect(entries).toHaveLength(2); // 'warm' and 'back'
    // Every call calculated once, and the last 'back' was a hit.
    expect([...fn.calculations].sort()).toEqual(['a', 'b', 'back', 'c', 'opens', 'warm']);
  });
});
