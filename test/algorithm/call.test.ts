import { spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CachierError,
  type CachierEvent,
  type Claim,
  type Core,
  cachier,
  FileCore,
  MemoryCore,
  resetDefaultParams,
  type StoredEntry,
  setDefaultParams,
} from '../../src/index.js';
import { keyFromHashArgs } from '../../src/keys.js';
import { sleep, until } from '../support/time.js';

/** A byte core in this process that answers asynchronously and counts what it is asked. */
class CountingCore implements Core {
  readonly kind = 'counting';
  readonly leaseMs: number;
  readonly entries = new Map<string, StoredEntry>();
  readonly claims = new Map<string, symbol>();
  gets = 0;
  claimsTried = 0;
  failing = false;
  renewAnswer = true;
  /** How long a read takes to answer (ms): it returns what the store held when it began. */
  getDelayMs = 0;
  /** How long a renewal takes to answer (ms). */
  renewDelayMs = 0;
  /** How long a write takes to land (ms); the next writes take these first. */
  setDelayMs = 0;
  nextSetDelaysMs: number[] = [];
  setsBegun = 0;
  /** How long a delete takes to land (ms). */
  deleteDelayMs = 0;

  constructor(leaseMs = 10_000) {
    this.leaseMs = leaseMs;
  }

  private check(): void {
    if (this.failing) throw new Error('store down');
  }

  async get(name: string, key: string) {
    this.gets++;
    this.check();
    const entry = this.entries.get(`${name}/${key}`);
    if (this.getDelayMs > 0) await sleep(this.getDelayMs);
    return entry;
  }
  async set(name: string, key: string, entry: StoredEntry) {
    this.setsBegun++;
    this.check();
    const delayMs = this.nextSetDelaysMs.shift() ?? this.setDelayMs;
    if (delayMs > 0) await sleep(delayMs);
    this.entries.set(`${name}/${key}`, entry);
  }
  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    this.claimsTried++;
    this.check();
    const id = `${name}/${key}`;
    if (this.claims.has(id)) return undefined;
    const token = Symbol(id);
    this.claims.set(id, token);
    return {
      renew: async () => {
        if (this.renewDelayMs > 0) await sleep(this.renewDelayMs);
        this.check();
        return this.renewAnswer && this.claims.get(id) === token;
      },
      release: async () => {
        if (this.claims.get(id) === token) this.claims.delete(id);
      },
    };
  }
  async delete(name: string, key: string) {
    this.check();
    if (this.deleteDelayMs > 0) await sleep(this.deleteDelayMs);
    this.entries.delete(`${name}/${key}`);
  }
  async clear(name: string) {
    this.check();
    for (const id of [...this.entries.keys()])
      if (id.startsWith(`${name}/`)) this.entries.delete(id);
  }
  async clearClaims(name: string) {
    this.check();
    for (const id of [...this.claims.keys()]) if (id.startsWith(`${name}/`)) this.claims.delete(id);
  }
  async deleteStale(name: string, before: number) {
    this.check();
    for (const [id, entry] of [...this.entries]) {
      if (id.startsWith(`${name}/`) && entry.calculatedAt < before) this.entries.delete(id);
    }
  }
}

/**
 * The MaxListenersExceededWarnings ("possible memory leak": an 11th listener on one
 * AbortSignal) that Node emits while `run` runs.
 */
async function listenerLeakWarnings(run: () => Promise<void>): Promise<Error[]> {
  const leaks: Error[] = [];
  const onWarning = (warning: Error) => {
    if (warning.name === 'MaxListenersExceededWarning') leaks.push(warning);
  };
  process.on('warning', onWarning);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve)); // warnings arrive on a later tick
  } finally {
    process.off('warning', onWarning);
  }
  return leaks;
}

afterEach(() => {
  resetDefaultParams();
  vi.restoreAllMocks();
});

describe('the call algorithm', () => {
  it('1,000 concurrent callers of one key share one read and one claim', async () => {
    const core = new CountingCore();
    let calls = 0;
    const cached = cachier(
      async (id: number) => {
        calls++;
        await sleep(20);
        return id * 2;
      },
      { name: 'shared-read', backend: core },
    );
    const results = await Promise.all(Array.from({ length: 1000 }, () => cached(21)));
    expect(results.every((value) => value === 42)).toBe(true);
    expect(calls).toBe(1);
    expect(core.claimsTried).toBe(1);
    // One shared read, plus the owner's re-read after winning the claim.
    expect(core.gets).toBe(2);
  });

  it('runs on an injected clock: staleness without sleeping', async () => {
    let now = 1_000_000;
    let calls = 0;
    const cached = cachier(async () => ++calls, {
      name: 'clocked',
      backend: new CountingCore(),
      staleAfter: { minutes: 5 },
      clock: { now: () => now },
    });
    expect(await cached()).toBe(1);
    now += 4 * 60_000;
    expect(await cached()).toBe(1);
    now += 60_000;
    expect(await cached()).toBe(2);
  });

  it('per-call staleAfter, nextTime and allowNone override the wrapper for one call', async () => {
    let now = 0;
    let calls = 0;
    const cached = cachier(async () => ++calls, {
      name: 'overrides',
      backend: new CountingCore(),
      staleAfter: 1000,
      clock: { now: () => now },
    });
    await cached();
    now = 500;
    expect(await cached.withOptions({ staleAfter: 100 })()).toBe(2);
    now = 800;
    expect(await cached()).toBe(2);
    now = 1600;
    expect(await cached.withOptions({ nextTime: true })()).toBe(2); // stale value, refresh behind
    await cached.settle();
    expect(await cached()).toBe(3);
    const none = cachier(async () => null as number | null, {
      name: 'none-override',
      backend: new CountingCore(),
    });
    const core = new CountingCore();
    const nothing = cachier(async () => undefined, { name: 'none', backend: core });
    await nothing.withOptions({ allowNone: true })();
    expect(core.entries.size).toBe(1);
    expect(await none()).toBeNull();
  });

  it('a negative maxAge always recalculates', async () => {
    let calls = 0;
    const cached = cachier(async () => ++calls, { name: 'neg', backend: new CountingCore() });
    await cached();
    expect(await cached.withOptions({ maxAge: -1 })()).toBe(2);
    expect(await cached()).toBe(2);
  });

  it('shouldCache keeps a result out of the store: an event, not a warning', async () => {
    const events: CachierEvent[] = [];
    const warnings = vi.spyOn(process, 'emitWarning');
    let calls = 0;
    const search = cachier(
      async (q: string) => {
        calls++;
        return q === 'none' ? [] : [q];
      },
      {
        name: 'search',
        backend: new CountingCore(),
        shouldCache: (hits) => hits.length > 0,
        onEvent: (event) => events.push(event),
      },
    );
    await search('none');
    await search('none');
    await search('x');
    await search('x');
    expect(calls).toBe(3);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'not-stored', reason: 'should-cache' }),
    );
    expect(warnings).not.toHaveBeenCalled();
  });

  it('an aborted signal rejects before any work; aborting a wait rejects at once while the calculation goes on and is stored', async () => {
    const core = new CountingCore();
    let calls = 0;
    let finish: (value: string) => void = () => undefined;
    const cached = cachier(
      () => {
        calls++;
        return new Promise<string>((resolve) => {
          finish = resolve;
        });
      },
      { name: 'abortable', backend: core },
    );
    const aborted = AbortSignal.abort(new Error('gave up'));
    await expect(cached.withOptions({ signal: aborted })()).rejects.toThrow('gave up');
    expect(calls).toBe(0);
    expect(core.gets).toBe(0);

    const controller = new AbortController();
    const first = cached();
    const second = cached.withOptions({ signal: controller.signal })();
    await sleep(5);
    controller.abort(new Error('user left'));
    await expect(second).rejects.toThrow('user left');
    finish('done');
    expect(await first).toBe('done');
    expect(await cached()).toBe('done');
    expect(calls).toBe(1);
  });

  it('a long-lived signal keeps no listener once its calls have settled', async () => {
    const cached = cachier(async (id: number) => id, { name: 'one-signal', backend: 'memory' });
    const controller = new AbortController();
    const withSignal = cached.withOptions({ signal: controller.signal });
    for (let id = 0; id < 20; id++) await withSignal(id); // misses
    for (let id = 0; id < 20; id++) await withSignal(id); // hits
    await Promise.all([withSignal(99), withSignal(99)]); // a shared calculation
    // A listener left per call would keep every call's state alive as long as the signal.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('one signal shared by many concurrent calls gets one listener: no MaxListenersExceededWarning', async () => {
    const leaks = await listenerLeakWarnings(async () => {
      const core = new CountingCore();
      const cached = cachier(
        async (id: number) => {
          await sleep(20);
          return id;
        },
        { name: 'shared-signal', backend: core, waitForCalcTimeout: 1000 },
      );
      const controller = new AbortController();
      const withSignal = cached.withOptions({ signal: controller.signal });
      const ids = Array.from({ length: 20 }, (_, id) => id);
      // Twenty calculations, and twenty callers joining them in this process.
      const calls = [...ids, ...ids].map((id) => withSignal(id));
      await sleep(5);
      expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
      expect(await Promise.all(calls)).toEqual([...ids, ...ids]);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      // Aborting still reaches every caller that shares the signal.
      const late = [1, 2, 3].map((id) => withSignal(100 + id));
      controller.abort(new Error('shut down'));
      for (const call of late) await expect(call).rejects.toThrow('shut down');
    });
    expect(leaks).toEqual([]);
  });

  it('a caller that gave up waiting in this process does not calculate once its waitForCalcTimeout ends', async () => {
    let calls = 0;
    let finish: (value: string) => void = () => undefined;
    const cached = cachier(
      () => {
        calls++;
        return new Promise<string>((resolve) => {
          finish = resolve;
        });
      },
      { name: 'gave-up-in-process', backend: new CountingCore(), waitForCalcTimeout: 20 },
    );
    const first = cached();
    // One gives up before its read returns, one while it waits.
    const early = new AbortController();
    const late = new AbortController();
    const second = expect(cached.withOptions({ signal: early.signal })()).rejects.toThrow('left');
    early.abort(new Error('left'));
    const third = expect(cached.withOptions({ signal: late.signal })()).rejects.toThrow('too');
    await sleep(5);
    late.abort(new Error('left too'));
    await second;
    await third;
    await sleep(60); // well past their waitForCalcTimeout
    expect(calls).toBe(1);
    finish('done');
    expect(await first).toBe('done');
  });

  it('a caller that gives up waiting on another owner stops waiting', async () => {
    const core = new CountingCore();
    const claim = await core.tryClaim('held-elsewhere', keyFromHashArgs('k'));
    const cached = cachier(async () => 1, {
      name: 'held-elsewhere',
      backend: core,
      hashArgs: () => 'k',
    });
    const controller = new AbortController();
    const waiting = cached.withOptions({ signal: controller.signal })();
    await sleep(30);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    const after = core.gets;
    await sleep(300);
    expect(core.gets - after).toBeLessThanOrEqual(1);
    await claim?.release();
  });

  it('a caller that comes after every waiting caller gave up gets the value, not their abort', async () => {
    const core = new CountingCore();
    let finish: (value: string) => void = () => undefined;
    const options = { name: 'abandoned-wait', backend: core, hashArgs: () => 'k' };
    // Two wrappers of one name on one store: the waiter's process sees another owner.
    const owner = cachier(
      () =>
        new Promise<string>((resolve) => {
          finish = resolve;
        }),
      options,
    );
    const waiter = cachier(async () => 'waiter', options);
    const owning = owner();
    await sleep(5);
    const controller = new AbortController();
    const gaveUp = waiter.withOptions({ signal: controller.signal })();
    await sleep(30);
    controller.abort(new Error('stop'));
    // Joins while the abandoned wait is still winding down: it never aborted anything.
    const later = waiter().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await expect(gaveUp).rejects.toThrow('stop');
    finish('owner');
    expect(await owning).toBe('owner');
    expect(await later).toEqual({ value: 'owner' });
  });

  it("settle waits for every calculation, also an overwrite and a waiter's own after waitForCalcTimeout whose callers gave up", async () => {
    const core = new CountingCore();
    const finished: string[] = [];
    const cached = cachier(
      async (id: string) => {
        await sleep(40);
        finished.push(id);
        return id;
      },
      { name: 'settle-all', backend: core, waitForCalcTimeout: 5 },
    );
    const overwriting = new AbortController();
    const overwrite = cached.withOptions({ overwriteCache: true, signal: overwriting.signal })('o');
    overwriting.abort(new Error('gone'));
    await expect(overwrite).rejects.toThrow('gone');
    await cached.settle();
    expect(finished).toEqual(['o']);

    const first = cached('w');
    const waiting = new AbortController();
    const second = cached.withOptions({ signal: waiting.signal })('w');
    await sleep(20); // past waitForCalcTimeout: the second caller calculates too
    waiting.abort(new Error('gone'));
    await expect(second).rejects.toThrow('gone');
    expect(await first).toBe('w');
    await cached.settle();
    expect(finished).toEqual(['o', 'w', 'w']);
  });

  it('a waitForCalcTimeout longer than a Node timer can wait, or Infinity, still waits', async () => {
    // Node runs a timer set for longer than 2^31-1 ms after 1 ms (TimeoutOverflowWarning).
    const overflows: Error[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === 'TimeoutOverflowWarning') overflows.push(warning);
    };
    process.on('warning', onWarning);
    try {
      for (const waitForCalcTimeout of [{ days: 30 }, Number.POSITIVE_INFINITY]) {
        const core = new CountingCore();
        let calls = 0;
        const cached = cachier(
          async () => {
            calls++;
            await sleep(50);
            return 'v';
          },
          { name: 'long-wait', backend: core, waitForCalcTimeout },
        );
        // Callers in this process share the one calculation.
        expect(await Promise.all([cached(), cached(), cached()])).toEqual(['v', 'v', 'v']);
        expect(calls).toBe(1);

        // Another owner's claim: the caller waits for its value.
        const claim = await core.tryClaim('long-wait-other', keyFromHashArgs('k'));
        const options = { name: 'long-wait-other', backend: core, hashArgs: () => 'k' };
        const waiting = cachier(async () => 'mine', { ...options, waitForCalcTimeout })();
        await sleep(100);
        await cachier(async () => 'unused', options).precacheValue([], 'theirs');
        await claim?.release();
        expect(await waiting).toBe('theirs');
      }
      await new Promise((resolve) => setImmediate(resolve)); // warnings arrive on a later tick
      expect(overflows).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('many keys waiting at once on other owners raise no MaxListenersExceededWarning', async () => {
    // Node warns of a "possible memory leak" when an AbortSignal gets an 11th listener.
    const leaks = await listenerLeakWarnings(async () => {
      const core = new CountingCore();
      const options = {
        name: 'many-waiting',
        backend: core,
        hashArgs: ([id]: unknown[]) => `${id}`,
      };
      const ids = Array.from({ length: 20 }, (_, id) => id);
      const claims = await Promise.all(
        ids.map((id) => core.tryClaim('many-waiting', keyFromHashArgs(`${id}`))),
      );
      const cached = cachier(async (id: number) => `mine ${id}`, options);
      const waiting = Promise.all(ids.map((id) => cached(id)));
      await sleep(100); // every call is waiting on the other owner
      const owner = cachier(async (id: number) => `theirs ${id}`, options);
      for (const id of ids) await owner.precacheValue([id], `theirs ${id}`);
      for (const claim of claims) await claim?.release();
      expect(await waiting).toEqual(ids.map((id) => `theirs ${id}`));
    });
    expect(leaks).toEqual([]);
  });

  it('a clock stepped back while waiting on another owner does not stretch waitForCalcTimeout', async () => {
    const core = new CountingCore();
    // Another owner holds the key and never finishes.
    const claim = await core.tryClaim('clock-step', keyFromHashArgs('k'));
    let now = Date.now();
    const cached = cachier(async () => 'mine', {
      name: 'clock-step',
      backend: core,
      hashArgs: () => 'k',
      waitForCalcTimeout: 200,
      clock: { now: () => now },
    });
    const waiting = cached();
    await sleep(20);
    now -= 3_600_000; // NTP steps the clock back an hour
    // Not a timing check: a generous bound, so that a wait stretched by the step fails here.
    const outcome = await Promise.race([waiting, sleep(5_000).then(() => 'still waiting')]);
    expect(outcome).toBe('mine');
    await claim?.release();
  });

  it('a lost claim is reported as claim-lost', async () => {
    const core = new CountingCore(40);
    core.renewAnswer = false;
    const events: CachierEvent[] = [];
    const cached = cachier(
      async () => {
        await sleep(60);
        return 1;
      },
      { name: 'lost', backend: core, onEvent: (event) => events.push(event) },
    );
    await cached();
    expect(events.map((event) => event.type)).toContain('claim-lost');
  });

  it('a renewal still on its way when the calculation ends is no claim-lost and no warning', async () => {
    for (const failing of [false, true]) {
      const core = new CountingCore(40); // renewals every 10 ms
      core.renewDelayMs = 60; // answered after the claim was released
      const events: CachierEvent[] = [];
      const cached = cachier(
        async () => {
          await sleep(25);
          return 1;
        },
        { name: `late-renewal-${failing}`, backend: core, onEvent: (event) => events.push(event) },
      );
      expect(await cached()).toBe(1);
      core.failing = failing; // e.g. the program closed its client after the call
      await sleep(120);
      const types = events.map((event) => event.type);
      expect(types).not.toContain('claim-lost');
      expect(types).not.toContain('store-error');
    }
  });

  it('a call made after clearCache, clearEntry or an overwrite never joins a read begun before it', async () => {
    const core = new CountingCore();
    let calls = 0;
    const cached = cachier(async () => `new-${++calls}`, {
      name: 'read-after-clear',
      backend: core,
    });
    for (const change of [
      () => cached.clearCache(),
      () => cached.clearEntry(),
      () => cached.withOptions({ overwriteCache: true })(),
    ]) {
      core.getDelayMs = 0;
      await cached.precacheValue([], 'old');
      core.getDelayMs = 50;
      const before = cached(); // its read began while 'old' was stored
      await change();
      expect(await cached()).not.toBe('old');
      expect(await before).toBe('old');
    }
  });

  it('precacheValue refuses an argument list that is not an array, without quoting it', async () => {
    const core = new CountingCore();
    const cached = cachier(async (id: string) => `calculated ${id}`, {
      name: 'precache-args',
      backend: core,
    });
    for (const args of ['secret-id', 7, undefined, { 0: 'a' }]) {
      const attempt = cached.precacheValue(args as unknown as [string], 'stored');
      await expect(attempt).rejects.toThrow(TypeError);
      await expect(attempt).rejects.toThrow(/precacheValue.*array of the arguments/);
      await expect(attempt).rejects.not.toThrow(/secret-id/);
    }
    expect(core.entries.size).toBe(0);
    expect(await cached('secret-id')).toBe('calculated secret-id');
  });

  it('clearEntry deletes the one entry of these arguments', async () => {
    let calls = 0;
    const cached = cachier(async (n: number) => n + ++calls * 0, {
      name: 'entry',
      backend: new CountingCore(),
    });
    await cached(1);
    await cached(2);
    await cached.clearEntry(1);
    await cached(1);
    await cached(2);
    expect(calls).toBe(3);
  });

  it('clearCache, clearEntry and precacheValue on a broken store reject with a CachierError and its cause', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const core = new CountingCore();
    const cached = cachier(async (n: number) => n, { name: 'broken', backend: core });
    core.failing = true;
    for (const attempt of [
      () => cached.clearCache(),
      () => cached.clearEntry(1),
      () => cached.precacheValue([1], 1),
      () => cached.clearBeingCalculated(),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CachierError);
      expect((error as CachierError).code).toBe('CACHIER_STORE_FAILED');
      expect((error as Error).cause).toEqual(new Error('store down'));
    }
    // A call still returns the function's value.
    expect(await cached(5)).toBe(5);
  });

  it('verboseCache through setDefaultParams writes to stderr', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    });
    const log = vi.spyOn(console, 'log');
    setDefaultParams({ verboseCache: true });
    const cached = cachier(async () => 1, { name: 'loud', backend: new CountingCore() });
    await cached();
    expect(lines.some((line) => line.startsWith('[cachier] loud'))).toBe(true);
    expect(log).not.toHaveBeenCalled();
  });

  it('NODE_DEBUG=cachier turns verbose lines on, on stderr only', () => {
    const script = `
      import { cachier, MemoryCore } from './src/index.ts';
      const cached = cachier(async () => 1, { name: 'debugged', backend: new MemoryCore() });
      await cached(); await cached();
      console.log('program output');
    `;
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        env: { ...process.env, NODE_DEBUG: 'cachier' },
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe('program output');
    expect(run.stderr).toMatch(/\[cachier\] debugged .*hit/);
  });
});

/**
 * A function that reads `data` when called and, while that was `'old'`, answers only once
 * `finish()` is called: a calculation begun before the data changed, still running.
 */
function slowOnOldData() {
  const state = { data: 'old', calls: 0, waiting: [] as (() => void)[] };
  const fn = async (_id: number) => {
    state.calls++;
    const seen = state.data;
    if (seen === 'old') await new Promise<void>((resolve) => state.waiting.push(resolve));
    return seen;
  };
  const finish = () => {
    for (const resolve of state.waiting.splice(0)) resolve();
  };
  return { state, fn, finish };
}

describe('a value calculated before a clear, a precacheValue or a newer value is never stored over it (this process)', () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });
  const cores: [string, () => Core | MemoryCore | FileCore][] = [
    ['a byte core', () => new CountingCore()],
    ['the memory core', () => new MemoryCore()],
    [
      'the file core',
      () => {
        const folder = mkdtempSync(join(tmpdir(), 'cachier-order-'));
        folders.push(folder);
        return new FileCore({ cacheDir: folder });
      },
    ],
  ];

  for (const [label, makeCore] of cores) {
    it(`clearCache: the running calculation's callers get its value, later calls calculate again (${label})`, async () => {
      const slow = slowOnOldData();
      const events: CachierEvent[] = [];
      const cached = cachier(slow.fn, {
        name: 'cleared-while-running',
        backend: makeCore(),
        onEvent: (event) => events.push(event),
      });
      const first = cached(1);
      await until(() => slow.state.waiting.length === 1, 5000, 'the first calculation');
      slow.state.data = 'new';
      await cached.clearCache();
      const afterClear = cached(1); // asked after the clear: must not join the old calculation
      slow.finish();
      expect(await first).toBe('old');
      expect(await afterClear).toBe('new');
      expect(await cached(1)).toBe('new');
      expect(slow.state.calls).toBe(2);
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'not-stored', reason: 'superseded' }),
      );
    });

    it(`clearEntry: a value begun before it is not stored; other arguments' values are (${label})`, async () => {
      const slow = slowOnOldData();
      const cached = cachier(slow.fn, { name: 'entry-cleared-while-running', backend: makeCore() });
      const first = cached(1);
      const other = cached(2);
      await until(() => slow.state.waiting.length === 2, 5000, 'both calculations');
      await cached.clearEntry(1);
      slow.state.data = 'new';
      const afterClear = cached(1); // asked after the clear: must not join the old calculation
      slow.finish();
      expect(await first).toBe('old');
      expect(await afterClear).toBe('new');
      expect(await other).toBe('old');
      expect(await cached(1)).toBe('new');
      expect(await cached(2)).toBe('old');
      expect(slow.state.calls).toBe(3);
    });

    it(`precacheValue while a calculation runs: the precached value stays (${label})`, async () => {
      const slow = slowOnOldData();
      const cached = cachier(slow.fn, { name: 'precached-while-running', backend: makeCore() });
      const first = cached(1);
      await until(() => slow.state.waiting.length === 1, 5000, 'the first calculation');
      await cached.precacheValue([1], 'precached');
      slow.finish();
      expect(await first).toBe('old');
      expect(await cached(1)).toBe('precached');
    });

    for (const clear of ['clearCache', 'clearEntry'] as const) {
      it(`${clear} through one wrapper reaches the running calculations of another wrapper of the same name and store (${label})`, async () => {
        const slow = slowOnOldData();
        const core = makeCore();
        const one = cachier(slow.fn, { name: `two-wrappers-${clear}`, backend: core });
        const other = cachier(slow.fn, { name: `two-wrappers-${clear}`, backend: core });
        const first = other(1);
        await until(() => slow.state.waiting.length === 1, 5000, 'the first calculation');
        slow.state.data = 'new';
        await (clear === 'clearCache' ? one.clearCache() : one.clearEntry(1));
        const afterClear = [one(1), other(1)]; // neither may get the old calculation's value
        slow.finish();
        expect(await first).toBe('old');
        expect(await Promise.all(afterClear)).toEqual(['new', 'new']);
        expect(await one(1)).toBe('new');
        expect(await other(1)).toBe('new');
      });
    }

    it(`an overwrite that ends before an older calculation keeps its value (${label})`, async () => {
      const slow = slowOnOldData();
      const cached = cachier(slow.fn, { name: 'overwritten-while-running', backend: makeCore() });
      const first = cached(1);
      await until(() => slow.state.waiting.length === 1, 5000, 'the first calculation');
      slow.state.data = 'new';
      expect(await cached.withOptions({ overwriteCache: true })(1)).toBe('new');
      slow.finish();
      expect(await first).toBe('old');
      expect(await cached(1)).toBe('new');
      expect(slow.state.calls).toBe(2);
    });
  }

  it("writes of one key land in the order their calculations began, whatever the store's speed", async () => {
    const core = new CountingCore();
    let data = 'old';
    const cached = cachier(async () => data, { name: 'writes-in-order', backend: core });
    core.nextSetDelaysMs = [60]; // the older value's write is slow to land
    const first = cached();
    await until(() => core.setsBegun === 1, 5000, 'the first write');
    data = 'new';
    expect(await cached.withOptions({ overwriteCache: true })()).toBe('new');
    expect(await first).toBe('old');
    expect(await cached()).toBe('new');
  });

  it('a write already on its way when clearCache is called does not land after the clear', async () => {
    const core = new CountingCore();
    const cached = cachier(async (id: number) => `value ${id}`, {
      name: 'write-before-clear',
      backend: core,
    });
    core.setDelayMs = 50;
    const call = cached(1);
    await until(() => core.setsBegun === 1, 5000, 'the write');
    await cached.clearCache();
    expect(core.entries.size).toBe(0);
    expect(await call).toBe('value 1');
    expect(core.entries.size).toBe(0);
  });

  it('on the memory core clearEntry and clearCache take effect at once: a call or precacheValue asked right after them, not awaited, comes after them', async () => {
    let data = 'old';
    const cached = cachier(async (id: number) => `${data} ${id}`, {
      name: 'cleared-at-once',
      backend: new MemoryCore(),
    });
    expect(await cached(1)).toBe('old 1');
    expect(await cached(2)).toBe('old 2');
    data = 'new';
    const clearingOne = cached.clearEntry(1);
    const afterClearEntry = cached(1);
    await clearingOne;
    expect(await afterClearEntry).toBe('new 1');
    const clearingAll = cached.clearCache();
    const precached = cached.precacheValue([2], 'precached');
    await clearingAll;
    expect(await precached).toBe('precached');
    expect(await cached(2)).toBe('precached');
  });

  for (const clear of ['clearCache', 'clearEntry'] as const) {
    it(`a precacheValue still waiting for an earlier write of its key when ${clear} is called does not land after the clear`, async () => {
      const core = new CountingCore();
      const cached = cachier(async (id: number) => `value ${id}`, {
        name: `precache-before-${clear}`,
        backend: core,
      });
      core.nextSetDelaysMs = [60, 30]; // the calculation's write, then the precached value's
      const call = cached(1);
      await until(() => core.setsBegun === 1, 5000, "the calculation's write");
      const precached = cached.precacheValue([1], 'precached'); // waits for that write
      await (clear === 'clearCache' ? cached.clearCache() : cached.clearEntry(1));
      expect(await precached).toBe('precached');
      expect(await call).toBe('value 1');
      expect(core.entries.size).toBe(0);
    });
  }

  it('a precacheValue asked right after clearEntry (not awaited) lands after its delete, even behind a write on its way', async () => {
    const core = new CountingCore();
    const cached = cachier(async (id: number) => `value ${id}`, {
      name: 'precache-after-clear-entry',
      backend: core,
    });
    core.nextSetDelaysMs = [30];
    core.deleteDelayMs = 30;
    const call = cached(1);
    await until(() => core.setsBegun === 1, 5000, "the calculation's write");
    const clearing = cached.clearEntry(1);
    const precached = cached.precacheValue([1], 'precached');
    await clearing;
    expect(await precached).toBe('precached');
    expect(await call).toBe('value 1');
    expect(await cached(1)).toBe('precached');
  });
});
