/**
 * The database cores' one breaker, on a fake monotonic clock: which failures open it, the
 * fail-fast error while open, the single half-open probe, and how the probe's outcome
 * closes or reopens it. The cores' own tests show it at work on real servers.
 */
import { describe, expect, it } from 'vitest';
import { Breaker, breakerPauseMs } from '../../src/cores/breaker.js';
import { CachierError } from '../../src/errors.js';

const PAUSE_MS = 1000;

class Unreachable extends Error {}
class Refused extends Error {}

/** An operation the test settles by hand, counting how many times it was started. */
function gate<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  let started = 0;
  const pending = () =>
    new Promise<T>((done, fail) => {
      started++;
      resolve = done;
      reject = fail;
    });
  return {
    operation: pending,
    started: () => started,
    resolve: (value: T) => resolve(value),
    reject: (error: unknown) => reject(error),
  };
}

function setup() {
  let time = 5_000;
  const opened: unknown[] = [];
  const breaker = new Breaker({
    opensOn: (error) => error instanceof Unreachable,
    pauseMs: PAUSE_MS,
    skipped: (what, openedBy) =>
      new CachierError('CACHIER_TEST_UNAVAILABLE', `skipped ${what}: unreachable`, {
        cause: openedBy,
      }),
    onOpen: (error) => opened.push(error),
    now: () => time,
  });
  /** Runs one operation; returns what it resolved to, or the failure's code or class. */
  const outcome = (what: string, operation: () => Promise<string>) =>
    breaker.run(what, operation).then(
      (value) => value,
      (error: unknown) =>
        error instanceof CachierError ? error.code : (error as Error).constructor.name,
    );
  return {
    breaker,
    opened,
    outcome,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

const ok = async () => 'ok';
const unreachable = (message = 'down') => Promise.reject(new Unreachable(message));

describe('Breaker', () => {
  it('stays closed on failures it does not classify, and passes them on unchanged', async () => {
    const { breaker, opened, outcome } = setup();
    const refused = new Refused('no such table');
    await expect(breaker.run('a read', () => Promise.reject(refused))).rejects.toBe(refused);
    await expect(breaker.run('a read', () => Promise.reject(refused))).rejects.toBe(refused);
    let ran = 0;
    expect(
      await outcome('a write', async () => {
        ran++;
        return 'ok';
      }),
    ).toBe('ok');
    expect(ran).toBe(1);
    expect(opened).toEqual([]);
  });

  it('opens on a classified failure: operations fail fast with the core error, its cause the opener', async () => {
    const { breaker, opened, advance } = setup();
    const down = new Unreachable('ECONNREFUSED');
    await expect(breaker.run('a read', () => Promise.reject(down))).rejects.toBe(down);
    expect(opened).toEqual([down]);
    let ran = 0;
    const counted = async () => {
      ran++;
      return 'ok';
    };
    const skipped = await breaker.run('a claim', counted).catch((error: unknown) => error);
    expect(skipped).toBeInstanceOf(CachierError);
    expect(skipped).toMatchObject({
      code: 'CACHIER_TEST_UNAVAILABLE',
      message: 'skipped a claim: unreachable',
      cause: down,
    });
    advance(PAUSE_MS - 1);
    await expect(breaker.run('a write', counted)).rejects.toMatchObject({
      code: 'CACHIER_TEST_UNAVAILABLE',
    });
    expect(ran).toBe(0);
  });

  it('after the pause lets exactly one operation probe while the concurrent others fail fast', async () => {
    const { outcome, advance } = setup();
    await outcome('a read', () => unreachable());
    advance(PAUSE_MS);
    const probe = gate<string>();
    const results = [
      outcome('a read', probe.operation),
      outcome('a claim', probe.operation),
      outcome('a write', probe.operation),
    ];
    expect(probe.started()).toBe(1);
    // The second and third settle while the probe is still pending.
    expect(await results[1]).toBe('CACHIER_TEST_UNAVAILABLE');
    expect(await results[2]).toBe('CACHIER_TEST_UNAVAILABLE');
    expect(probe.started()).toBe(1);
    advance(10 * PAUSE_MS); // however long the probe takes, nothing else gets through
    expect(await outcome('a release', probe.operation)).toBe('CACHIER_TEST_UNAVAILABLE');
    expect(probe.started()).toBe(1);
    probe.resolve('value');
    expect(await results[0]).toBe('value');
  });

  it('closes when the probe succeeds', async () => {
    const { outcome, advance, opened } = setup();
    await outcome('a read', () => unreachable());
    advance(PAUSE_MS);
    expect(await outcome('a read', ok)).toBe('ok');
    expect(await Promise.all([outcome('a read', ok), outcome('a claim', ok)])).toEqual([
      'ok',
      'ok',
    ]);
    expect(opened).toHaveLength(1);
  });

  it('reopens for a whole pause when the probe fails in a classified way; the new failure is the cause', async () => {
    const { breaker, outcome, advance, opened } = setup();
    await outcome('a read', () => unreachable('first'));
    advance(PAUSE_MS);
    const again = new Unreachable('second');
    await expect(breaker.run('a read', () => Promise.reject(again))).rejects.toBe(again);
    expect(opened).toHaveLength(2);
    advance(PAUSE_MS - 1);
    await expect(breaker.run('a claim', ok)).rejects.toMatchObject({
      code: 'CACHIER_TEST_UNAVAILABLE',
      cause: again,
    });
    advance(1);
    expect(await outcome('a claim', ok)).toBe('ok');
  });

  it('closes when the probe fails in a way it does not classify (the database answered)', async () => {
    const { breaker, outcome, advance } = setup();
    await outcome('a read', () => unreachable());
    advance(PAUSE_MS);
    const refused = new Refused('permission denied');
    await expect(breaker.run('a read', () => Promise.reject(refused))).rejects.toBe(refused);
    // Closed, not half-open: concurrent operations all run.
    expect(await Promise.all([outcome('a claim', ok), outcome('a write', ok)])).toEqual([
      'ok',
      'ok',
    ]);
  });

  it('a synchronous throw counts like a rejection', async () => {
    const { breaker, outcome } = setup();
    const down = new Unreachable('sync');
    await expect(
      breaker.run('a read', () => {
        throw down;
      }),
    ).rejects.toBe(down);
    expect(await outcome('a read', ok)).toBe('CACHIER_TEST_UNAVAILABLE');
  });

  it('pauses for the operation timeout, and at least a second', () => {
    expect(breakerPauseMs(200)).toBe(1000);
    expect(breakerPauseMs(5000)).toBe(5000);
  });
});
