import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Calculation, ChildRequest, Scenario } from '../support/child.js';
import type { CoreSpec } from '../support/coreSpec.js';
import { sleep } from '../support/time.js';
import {
  type Child,
  ChildPool,
  countByKey,
  finished,
  type Received,
  readLog,
  resultOf,
  shuffled,
} from './harness.js';

/** Process start on a busy 2-core machine takes ~0.5–1 s; this is the generous bound for it. */
const START_MS = 30_000;

const isReady = (m: Received) => m.event === 'ready';
const isStarted = (m: Received) => m.event === 'started';
const isDone = (m: Received) => m.event === 'done';
const waitsOnOtherOwner = (m: Received) =>
  m.event === 'cachier' && m.type === 'wait' && m.detail === 'other-owner';
const isOutcomeFor = (key: string) => (m: Received) =>
  (m.event === 'result' || m.event === 'error') && m.key === key;

function calls(keys: string[], calc: Calculation, extra: Partial<Scenario> = {}): Scenario {
  return { kind: 'calls', keys, calc, ...extra } as Scenario;
}

/** Starts `children` behind their barriers and releases them together. */
async function releaseTogether(children: Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.waitFor(isReady, 'ready', START_MS)));
  for (const child of children) child.go();
}

/**
 * The call algorithm across real processes, for any core that children can reach from a
 * {@link CoreSpec}. Each test gets a fresh store from `makeSpec` (cleaned up by
 * `dispose`) and a fresh cache name; children count their calculations in a shared log,
 * so "exactly once" is counted, not inferred.
 *
 * @example
 * crossProcessSuite('file', async () => ({ backend: 'file', cacheDir: mkdtempSync(...) }),
 *   async (spec) => rmSync(spec.cacheDir, { recursive: true, force: true }));
 */
export function crossProcessSuite(
  label: string,
  makeSpec: () => Promise<CoreSpec>,
  dispose?: (spec: CoreSpec) => Promise<void>,
): void {
  describe(`cross-process: ${label} core`, () => {
    let pool: ChildPool;
    let work: string;
    let log: string;
    let spec: CoreSpec;
    let name: string;

    const request = (scenario: Scenario, extra: Partial<ChildRequest> = {}): ChildRequest => ({
      spec,
      name,
      log,
      scenario,
      ...extra,
    });

    beforeEach(async () => {
      pool = new ChildPool();
      work = mkdtempSync(join(tmpdir(), 'cachier-xp-'));
      log = join(work, 'calculations.log');
      spec = await makeSpec();
      name = `xp-${randomUUID().slice(0, 8)}`;
    });

    afterEach(async () => {
      await pool.stopAll();
      rmSync(work, { recursive: true, force: true });
      await dispose?.(spec);
    });

    it('a new process reads a stored Date, Map, Set, BigInt and Buffer without calculating', async () => {
      const a = pool.start('A', request({ kind: 'rich', key: 'rich' }));
      await finished(a);
      const b = pool.start('B', request({ kind: 'rich', key: 'rich' }));
      await finished(b);

      const expected = {
        by: a.by,
        date: '2024-02-29T12:30:00.000Z',
        map: [
          ['a', 1],
          ['b', 2],
        ],
        set: ['x', 'y'],
        big: (2n ** 70n + 1n).toString(),
        buffer: 'cachier bytes',
      };
      expect(resultOf(a, 'rich'), a.describe()).toEqual(expected);
      expect(resultOf(b, 'rich'), b.describe()).toEqual(expected);
      expect(readLog(log)).toEqual([{ by: a.by, key: 'rich' }]);
    });

    it('4 processes calling one key at once calculate it once and share the value', async () => {
      const children = [0, 1, 2, 3].map((i) =>
        pool.start(`P${i}`, request(calls(['one'], { ms: 1000 }), { barrier: true })),
      );
      await releaseTogether(children);
      await Promise.all(children.map(finished));

      const calculations = readLog(log);
      expect(calculations).toHaveLength(1);
      const calculator = calculations[0]?.by;
      expect(children.map((c) => c.by)).toContain(calculator);
      for (const child of children) {
        expect(resultOf(child, 'one'), child.describe()).toEqual({ key: 'one', by: calculator });
      }
    });

    it('a process waits for a live owner instead of calculating', async () => {
      const b = pool.start('B (waiter)', request(calls(['live'], { ms: 100 }), { barrier: true }));
      await b.waitFor(isReady, 'ready', START_MS);
      const a = pool.start('A (owner)', request(calls(['live'], { ms: 1500 })));
      await a.waitFor(isStarted, 'calculation start', START_MS);
      b.go();
      await Promise.all([finished(a), finished(b)]);

      expect(b.messages.some(waitsOnOtherOwner), b.describe()).toBe(true);
      expect(resultOf(b, 'live'), b.describe()).toEqual({ key: 'live', by: a.by });
      expect(readLog(log)).toEqual([{ by: a.by, key: 'live' }]);
    });

    it('an owner killed mid-calculation is taken over within 30 s, without waitForCalcTimeout', async () => {
      const b = pool.start(
        'B (waiting before the kill)',
        request(calls(['orphan'], { ms: 300 }), { barrier: true }),
      );
      await b.waitFor(isReady, 'ready', START_MS);
      const a = pool.start(
        'A (killed owner)',
        request(calls(['orphan'], { ms: 0, outcome: 'hang' })),
      );
      await a.waitFor(isStarted, 'calculation start', START_MS);
      b.go();
      await b.waitFor(waitsOnOtherOwner, 'wait on the owner', START_MS);

      const killedAt = Date.now();
      a.kill('SIGKILL');
      expect((await a.exited).signal).toBe('SIGKILL');
      const c = pool.start('C (started after the kill)', request(calls(['orphan'], { ms: 300 })));
      const [fromB, fromC] = await Promise.all([
        b.waitFor(isOutcomeFor('orphan'), 'a value after the kill', 40_000),
        c.waitFor(isOutcomeFor('orphan'), 'a value after the kill', 40_000),
      ]);
      await Promise.all([finished(b), finished(c)]);

      expect(fromB.at - killedAt).toBeLessThan(30_000);
      expect(fromC.at - killedAt).toBeLessThan(30_000);
      const calculations = readLog(log);
      // The dead owner's start, then exactly one takeover by B or C.
      expect(calculations, `${b.describe()}\n${c.describe()}`).toHaveLength(2);
      expect(calculations[0]).toEqual({ by: a.by, key: 'orphan' });
      const takeover = calculations[1]?.by;
      expect([b.by, c.by]).toContain(takeover);
      expect(resultOf(b, 'orphan')).toEqual({ key: 'orphan', by: takeover });
      expect(resultOf(c, 'orphan')).toEqual({ key: 'orphan', by: takeover });
    }, 90_000);

    it('6 processes × 40 shared keys in random orders calculate each key exactly once', async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}`);
      const seed = Date.now() % 1_000_000;
      const children = [0, 1, 2, 3, 4, 5].map((i) =>
        pool.start(
          `P${i}`,
          request(calls(shuffled(keys, seed + i), { ms: 30 }), { barrier: true }),
          60_000,
        ),
      );
      await releaseTogether(children);
      await Promise.all(children.map(finished));

      const calculations = readLog(log);
      const context = `shuffle seed ${seed}`;
      expect(countByKey(calculations), context).toEqual(new Map(keys.map((k) => [k, 1])));
      const calculatorOf = new Map(calculations.map(({ key, by }) => [key, by]));
      for (const child of children) {
        expect(child.outcomes(), `${context}\n${child.describe()}`).toHaveLength(keys.length);
        for (const key of keys) {
          expect(resultOf(child, key), `${context}: ${child.label} ${key}`).toEqual({
            key,
            by: calculatorOf.get(key),
          });
        }
      }
    }, 90_000);

    it('nextTime from 3 processes: all get the stale value at once, one background refresh in all', async () => {
      const staleAfterMs = 1500;
      const precache = pool.start(
        'precache',
        request({ kind: 'precache', key: 'nt', value: { key: 'nt', by: 'precached' } }),
      );
      await finished(precache);
      const staleFrom = Date.now() + staleAfterMs + 100;
      const children = [0, 1, 2].map((i) =>
        pool.start(
          `P${i}`,
          request(calls(['nt'], { ms: 2000 }, { staleAfterMs, nextTime: true }), {
            barrier: true,
          }),
        ),
      );
      await Promise.all(children.map((c) => c.waitFor(isReady, 'ready', START_MS)));
      await sleep(Math.max(0, staleFrom - Date.now()));
      for (const child of children) child.go();
      // No process is stopped: each ends on its own once its call and any refresh it runs settle.
      await Promise.all(children.map(finished));

      for (const child of children) {
        expect(resultOf(child, 'nt'), child.describe()).toEqual({ key: 'nt', by: 'precached' });
      }
      const calculations = readLog(log);
      expect(calculations, children.map((c) => c.describe()).join('\n')).toHaveLength(1);
      const refresher = calculations[0]?.by;
      expect(children.map((c) => c.by)).toContain(refresher);

      // The refresher stayed alive until its refresh was stored.
      const reader = pool.start('reader', request(calls(['nt'], { ms: 0 })));
      await finished(reader);
      expect(resultOf(reader, 'nt'), reader.describe()).toEqual({ key: 'nt', by: refresher });
      expect(readLog(log)).toHaveLength(1);
    });

    it('a throwing owner releases its claim: a waiting process calculates at once, not after the lease', async () => {
      const b = pool.start('B (waiter)', request(calls(['boom'], { ms: 200 }), { barrier: true }));
      await b.waitFor(isReady, 'ready', START_MS);
      // A stays alive after its failure: the failed call itself must release the claim,
      // not the lock library's clean-up when the process exits.
      const a = pool.start(
        'A (throws)',
        request(calls(['boom'], { ms: 1500, outcome: 'throw' }, { lingerMs: 6000 })),
      );
      await a.waitFor(isStarted, 'calculation start', START_MS);
      b.go();
      await b.waitFor(waitsOnOtherOwner, 'wait on the owner', START_MS);
      const failed = await a.waitFor(isOutcomeFor('boom'), 'the error', START_MS);
      const fromB = await b.waitFor(isOutcomeFor('boom'), 'its own value', 20_000);
      const ownerAliveWhenBGotItsValue = a.running;
      await Promise.all([finished(a), finished(b)]);

      expect(failed).toMatchObject({
        event: 'error',
        message: 'calculation of boom failed on purpose',
      });
      expect(fromB).toMatchObject({ event: 'result', value: { key: 'boom', by: b.by } });
      // The lease is 10 s or more; a released claim is noticed far sooner.
      expect(fromB.at - failed.at).toBeLessThan(5000);
      expect(ownerAliveWhenBGotItsValue).toBe(true);
      expect(readLog(log)).toEqual([
        { by: a.by, key: 'boom' },
        { by: b.by, key: 'boom' },
      ]);
    });

    it("waitForCalcTimeout: a process waiting on another process's owner calculates itself, and the owner's later store breaks nothing", async () => {
      const b = pool.start(
        'B (waits 500 ms)',
        request(calls(['slow'], { ms: 100 }, { waitForCalcTimeoutMs: 500 }), { barrier: true }),
      );
      await b.waitFor(isReady, 'ready', START_MS);
      const a = pool.start('A (owner)', request(calls(['slow'], { ms: 4000 })));
      await a.waitFor(isStarted, 'calculation start', START_MS);
      b.go();
      await Promise.all([finished(a), finished(b)]);

      const gaveUp = (m: Received) =>
        m.event === 'cachier' && m.type === 'wait-end' && m.detail === 'timeout';
      expect(b.messages.some(waitsOnOtherOwner), b.describe()).toBe(true);
      expect(b.messages.some(gaveUp), b.describe()).toBe(true);
      expect(resultOf(b, 'slow'), b.describe()).toEqual({ key: 'slow', by: b.by });
      expect(resultOf(a, 'slow'), a.describe()).toEqual({ key: 'slow', by: a.by });
      expect(countByKey(readLog(log))).toEqual(new Map([['slow', 2]]));

      // Whichever of the two stores came last, the entry is whole: a new process reads it.
      const reader = pool.start('reader', request(calls(['slow'], { ms: 0 })));
      await finished(reader);
      expect([a.by, b.by]).toContain((resultOf(reader, 'slow') as { by: string }).by);
      expect(readLog(log)).toHaveLength(2);
    });

    it('overwriteCache from one process calculates at once while another process waits on the owner', async () => {
      const b = pool.start('B (waiter)', request(calls(['ow'], { ms: 100 }), { barrier: true }));
      const o = pool.start(
        'O (overwrite)',
        request(calls(['ow'], { ms: 100 }, { overwriteCache: true }), { barrier: true }),
      );
      await Promise.all([b, o].map((c) => c.waitFor(isReady, 'ready', START_MS)));
      const a = pool.start('A (owner)', request(calls(['ow'], { ms: 4000 })));
      await a.waitFor(isStarted, 'calculation start', START_MS);
      b.go();
      await b.waitFor(waitsOnOtherOwner, 'wait on the owner', START_MS);
      o.go();
      await Promise.all([finished(a), finished(b), finished(o)]);

      // The overwrite neither read the cache nor waited for A's claim.
      expect(resultOf(o, 'ow'), o.describe()).toEqual({ key: 'ow', by: o.by });
      expect(o.messages.some(waitsOnOtherOwner), o.describe()).toBe(false);
      // B was waiting for a value of the key: the overwrite's stored value is one.
      expect(resultOf(b, 'ow'), b.describe()).toEqual({ key: 'ow', by: o.by });
      expect(resultOf(a, 'ow'), a.describe()).toEqual({ key: 'ow', by: a.by });
      expect(readLog(log)).toEqual([
        { by: a.by, key: 'ow' },
        { by: o.by, key: 'ow' },
      ]);
    });

    it("clearBeingCalculated from a third process: the waiter takes over at once, and the old owner's release leaves the new claim alone", async () => {
      const b = pool.start('B (waiter)', request(calls(['cl'], { ms: 8000 }), { barrier: true }));
      await b.waitFor(isReady, 'ready', START_MS);
      // A fails, so it stores nothing: only B's claim can keep D from calculating too.
      const a = pool.start('A (owner)', request(calls(['cl'], { ms: 5000, outcome: 'throw' })));
      await a.waitFor(isStarted, 'calculation start', START_MS);
      b.go();
      await b.waitFor(waitsOnOtherOwner, 'wait on the owner', START_MS);
      const x = pool.start('X (clears)', request({ kind: 'clear-claims' }));
      await finished(x);
      const bStarted = await b.waitFor(isStarted, 'its own calculation', START_MS);
      const aFailed = await a.waitFor(isOutcomeFor('cl'), 'its error', START_MS);
      await finished(a);
      const d = pool.start('D (after the old owner released)', request(calls(['cl'], { ms: 100 })));
      await Promise.all([finished(b), finished(d)]);

      expect(x.outcomes(), x.describe()).toMatchObject([{ event: 'result', key: 'clear' }]);
      const ownerGone = (m: Received) =>
        m.event === 'cachier' && m.type === 'wait-end' && m.detail === 'owner-gone';
      expect(b.messages.some(ownerGone), b.describe()).toBe(true);
      expect(aFailed, a.describe()).toMatchObject({ event: 'error' });
      // B took over when the claim was cleared, not when A's failure released it.
      expect(bStarted.at, b.describe()).toBeLessThan(aFailed.at);
      expect(resultOf(b, 'cl'), b.describe()).toEqual({ key: 'cl', by: b.by });
      expect(d.messages.some(waitsOnOtherOwner), d.describe()).toBe(true);
      expect(resultOf(d, 'cl'), d.describe()).toEqual({ key: 'cl', by: b.by });
      expect(readLog(log)).toEqual([
        { by: a.by, key: 'cl' },
        { by: b.by, key: 'cl' },
      ]);
    }, 60_000);

    it("clearCache from another process while the owner calculates: the owner's caller gets its value, which is not stored; the next call calculates anew", async () => {
      const x = pool.start('X (clears)', request({ kind: 'clear' }, { barrier: true }));
      await x.waitFor(isReady, 'ready', START_MS);
      const a = pool.start('A (owner)', request(calls(['cc'], { ms: 3000 })));
      await a.waitFor(isStarted, 'calculation start', START_MS);
      x.go();
      const cleared = await x.waitFor(isOutcomeFor('clear'), 'the clear', START_MS);
      const aDone = await a.waitFor(isOutcomeFor('cc'), 'its value', START_MS);
      await Promise.all([finished(x), finished(a)]);
      // The clear landed while A was still calculating.
      expect(cleared.at, x.describe()).toBeLessThan(aDone.at);
      const d = pool.start('D (after the clear)', request(calls(['cc'], { ms: 100 })));
      await finished(d);

      expect(x.outcomes(), x.describe()).toMatchObject([{ event: 'result', key: 'clear' }]);
      expect(resultOf(a, 'cc'), a.describe()).toEqual({ key: 'cc', by: a.by });
      // Without the claim-guarded store, A's value begun before the clear would be served here.
      expect(resultOf(d, 'cc'), d.describe()).toEqual({ key: 'cc', by: d.by });
      expect(readLog(log)).toEqual([
        { by: a.by, key: 'cc' },
        { by: d.by, key: 'cc' },
      ]);
    }, 60_000);

    it('a process that made a hit, a miss and waited calls exits on its own', async () => {
      const e = pool.start(
        'E (exit check)',
        request(
          {
            kind: 'exit-check',
            key: 'mine',
            waitKey: 'held',
            sharedKey: 'pair',
            calc: { ms: 100 },
          },
          { barrier: true },
        ),
      );
      await e.waitFor(isReady, 'ready', START_MS);
      const a = pool.start('A (owner)', request(calls(['held'], { ms: 2000 })));
      await a.waitFor(isStarted, 'calculation start', START_MS);
      e.go();
      const done = await e.waitFor(isDone, 'done', START_MS);
      const exit = await finished(e);
      await finished(a);

      // Nothing cachier started (watchers, lock timers) holds the process once its work is done.
      expect(exit.at - done.at).toBeLessThan(5000);
      expect(e.messages.some(waitsOnOtherOwner), e.describe()).toBe(true);
      const waitsInProcess = (m: Received) =>
        m.event === 'cachier' && m.type === 'wait' && m.detail === 'this-process';
      expect(e.messages.some(waitsInProcess), e.describe()).toBe(true);
      expect(e.outcomeValues()).toEqual([
        { key: 'mine', by: e.by },
        { key: 'mine', by: e.by },
        { key: 'held', by: a.by },
        { key: 'pair', by: e.by },
        { key: 'pair', by: e.by },
      ]);
      expect(countByKey(readLog(log))).toEqual(
        new Map([
          ['mine', 1],
          ['held', 1],
          ['pair', 1],
        ]),
      );
    });
  });
}
