/**
 * Fail open through cachier() on a real PostgreSQL server behind a TCP proxy that can stop
 * forwarding: the server unreachable from the start, stopped in the middle of a
 * calculation, and back again; after each pause of the core's breaker, one call probes the
 * server while the others skip it. Every call returns the function's value, each wrapper
 * warns once, and no call waits longer than the core's operation timeout.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PostgresCore } from '../../src/index.js';
import {
  captureWarnings,
  storeErrors,
  warningsDelivered,
  wasSkipped,
  wrapped,
} from '../support/failOpenCalls.js';
import { findPostgres, freePort } from '../support/postgresServer.js';
import { startTcpFaultProxy, type TcpFaultProxy } from '../support/tcpFaultProxy.js';

const { server } = await findPostgres();
const direct = server ? new pg.Pool({ connectionString: server.url, max: 2 }) : undefined;
afterAll(async () => {
  await direct?.end();
  await server?.close();
});

/** PostgresCore operationTimeoutMs in these tests; the default lease (10 s) is far longer. */
const TIMEOUT_MS = 1000;
/** What a call may add to the timeout: scheduling on a busy machine, never a second wait. */
const SLACK_MS = 1500;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe.skipIf(!server)('cachier() on PostgreSQL fails open', () => {
  const target = new URL(server?.url ?? 'postgres://127.0.0.1:5432');
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function proxy(): Promise<TcpFaultProxy> {
    const started = await startTcpFaultProxy(target.hostname, Number(target.port));
    cleanups.push(() => started.close());
    return started;
  }

  function poolAt(port: number): pg.Pool {
    const url = new URL(target);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    const pool = new pg.Pool({ connectionString: url.href, connectionTimeoutMillis: 3000 });
    pool.on('error', () => undefined); // idle connections the proxy drops, expected here
    cleanups.push(() => pool.end());
    return pool;
  }

  it('server unreachable from the start ({ pgPool }): values returned, one warning per wrapper, no wait', async () => {
    const pool = poolAt(await freePort());
    const warnings = captureWarnings();
    cleanups.push(warnings.stop);

    const first = wrapped({ pgPool: pool });
    const second = wrapped({ pgPool: pool });
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
    // The default operationTimeoutMs is 5 s; a refused connection is not waited for.
    for (const { ms } of results) expect(ms).toBeLessThan(5000 + SLACK_MS);
  });

  it('server stopped mid-calculation, then back: the value is returned, one warning, and the next call stores again', async () => {
    const link = await proxy();
    const pool = poolAt(link.port);
    const table = `cachier_fo_${randomUUID().slice(0, 8)}`;
    cleanups.push(() => direct?.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta"`));
    const store = new PostgresCore({ pool, table, operationTimeoutMs: TIMEOUT_MS });
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
    await sleep(TIMEOUT_MS + 100); // the documented pause after a timeout, if one happened
    const back = await fn.call('back');
    expect(back.value).toBe('value of back');
    const stored = await direct?.query(
      `SELECT count(*)::int AS n FROM "${table}" WHERE value IS NOT NULL`,
    );
    expect(stored?.rows[0]?.n).toBe(2); // 'before' and 'back'
    // Stored again: the next call is a hit, and no new warning came.
    await fn.call('back');
    await warningsDelivered();
    expect(fn.calculations).toEqual(['before', 'during', 'after-stop', 'back']);
    expect(warnings.codesOf(fn.name)).toEqual(['CACHIER_STORE_FAILED']);
  });

  it('server that stops answering mid-calculation: the value after at most one operation timeout', async () => {
    const link = await proxy();
    const pool = poolAt(link.port);
    const table = `cachier_fo_${randomUUID().slice(0, 8)}`;
    cleanups.push(() => direct?.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta"`));
    const fn = wrapped({
      backend: new PostgresCore({ pool, table, operationTimeoutMs: TIMEOUT_MS }),
    });
    const warnings = captureWarnings();
    cleanups.push(warnings.stop);
    expect((await fn.call('warm')).value).toBe('value of warm'); // the table exists

    fn.duringNext(async () => link.freeze());
    const frozen = await fn.call('frozen');
    const next = await fn.call('next');
    await warningsDelivered();

    expect([frozen.value, next.value]).toEqual(['value of frozen', 'value of next']);
    expect(frozen.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(next.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(warnings.codesOf(fn.name)).toEqual(['CACHIER_STORE_FAILED']);
    const codes = storeErrors(fn.events).map((error) => error?.code ?? '');
    expect(codes).toContain('CACHIER_POSTGRES_TIMEOUT');
  });

  it('server down: after each pause one call probes it while the others skip it; once it is back, the probe closes the breaker and values are cached again', async () => {
    const link = await proxy();
    const pool = poolAt(link.port);
    const table = `cachier_fo_${randomUUID().slice(0, 8)}`;
    cleanups.push(() => direct?.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta"`));
    const fn = wrapped({
      backend: new PostgresCore({ pool, table, operationTimeoutMs: TIMEOUT_MS }),
    });
    const pause = Math.max(1000, TIMEOUT_MS); // the documented pause
    expect((await fn.call('warm')).value).toBe('value of warm'); // the table exists

    // Every connection, the pool's idle ones included, is closed as soon as it is made.
    await link.hangUp();
    expect((await fn.call('opens')).value).toBe('value of opens');
    // Its read reached the server and opened the breaker: its claim and write were skipped.
    expect(storeErrors(fn.events).map(wasSkipped)).toEqual([false, true, true]);
    await sleep(pause + 100);
    const attempts = link.connections;
    const events = fn.events.length;
    const round = await Promise.all(['a', 'b', 'c'].map((key) => fn.call(key)));
    expect(round.map((r) => r.value)).toEqual(['value of a', 'value of b', 'value of c']);
    // Half-open: one statement tried to connect, the others were skipped without trying.
    expect(link.connections - attempts).toBe(1);
    const errors = storeErrors(fn.events.slice(events));
    expect(errors.filter((error) => !wasSkipped(error))).toHaveLength(1);
    expect(new Set(errors.filter(wasSkipped).map((error) => error?.code))).toEqual(
      new Set(['CACHIER_POSTGRES_UNAVAILABLE']),
    );

    await link.restore();
    await sleep(pause + 100);
    const back = await fn.call('back'); // the probe gets through: the breaker closes
    expect(back.value).toBe('value of back');
    expect(await fn.call('back')).toMatchObject({ value: 'value of back' }); // a hit
    const stored = await direct?.query(
      `SELECT count(*)::int AS n FROM "${table}" WHERE value IS NOT NULL`,
    );
    expect(stored?.rows[0]?.n).toBe(2); // 'warm' and 'back'
    // Every call calculated once, and the last 'back' was a hit.
    expect([...fn.calculations].sort()).toEqual(['a', 'b', 'back', 'c', 'opens', 'warm']);
  });
});
