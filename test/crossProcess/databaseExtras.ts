import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChildRequest } from '../support/child.js';
import type { CoreSpec, DatabaseTuning } from '../support/coreSpec.js';
import { ChildPool, finished, type Received, readLog, resultOf } from './harness.js';

const START_MS = 30_000;
const isReady = (m: Received) => m.event === 'ready';
const isStarted = (m: Received) => m.event === 'started';
const waitsOnOtherOwner = (m: Received) =>
  m.event === 'cachier' && m.type === 'wait' && m.detail === 'other-owner';
const lostClaim = (m: Received) => m.event === 'cachier' && m.type === 'claim-lost';
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Cross-process behaviour of the database cores beyond the shared suite: claims whose
 * lease is far shorter than the calculation, kept alive by the owner's renewals.
 * `makeSpec(tuning)` gives a fresh store with those core options; `dispose` cleans it up.
 */
export function databaseExtras(
  label: string,
  makeSpec: (tuning: DatabaseTuning) => Promise<CoreSpec>,
  dispose: (spec: CoreSpec) => Promise<void>,
): void {
  describe(`cross-process: ${label} core, leases`, () => {
    let pool: ChildPool;
    let work: string;
    let spec: CoreSpec | undefined;

    beforeEach(() => {
      pool = new ChildPool();
      work = mkdtempSync(join(tmpdir(), 'cachier-xp-lease-'));
    });

    afterEach(async () => {
      await pool.stopAll();
      rmSync(work, { recursive: true, force: true });
      if (spec) await dispose(spec);
      spec = undefined;
    });

    it('a live owner keeps its claim past the lease by renewing it: still one calculation', async () => {
      const leaseMs = 600;
      spec = await makeSpec({ leaseMs });
      const log = join(work, 'calculations.log');
      const name = `xp-lease-${randomUUID().slice(0, 8)}`;
      const request = (ms: number, barrier = false): ChildRequest => ({
        spec: spec as CoreSpec,
        name,
        log,
        scenario: { kind: 'calls', keys: ['long'], calc: { ms } },
        barrier,
      });

      // Waiters start first, so that their process start does not eat into the calculation.
      const early = pool.start('B (waits from the start)', request(0, true));
      const late = pool.start('C (comes after several leases)', request(0, true));
      await Promise.all([
        early.waitFor(isReady, 'ready', START_MS),
        late.waitFor(isReady, 'ready', START_MS),
      ]);
      // The calculation lasts eight leases: without renewals its claim would lapse long before.
      const owner = pool.start('A (owner, 8 leases long)', request(8 * leaseMs));
      await owner.waitFor(isStarted, 'calculation start', START_MS);
      early.go();
      await early.waitFor(waitsOnOtherOwner, 'wait on the owner', START_MS);
      await sleep(4 * leaseMs);
      late.go();
      await Promise.all([finished(owner), finished(early), finished(late)]);

      const everyone = [owner, early, late].map((c) => c.describe()).join('\n');
      expect(readLog(log), everyone).toEqual([{ by: owner.by, key: 'long' }]);
      for (const child of [owner, early, late]) {
        expect(resultOf(child, 'long'), child.describe()).toEqual({ key: 'long', by: owner.by });
      }
      expect(late.messages.some(waitsOnOtherOwner), late.describe()).toBe(true);
      expect(owner.messages.some(lostClaim), owner.describe()).toBe(false);
    });
  });
}
