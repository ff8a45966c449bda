import assert from 'node:assert/strict';
import type { AnyCore, Claim } from '../cores/contract.js';
import type { CoreConformanceOptions } from './conformanceOptions.js';
import { assertEntry, filled, read, sample } from './samples.js';
import { sceneTest } from './scene.js';
import { pastLease, sleep } from './waiting.js';

function winners(claims: Array<Claim | undefined>): Claim[] {
  return claims.filter((claim): claim is Claim => claim !== undefined);
}

/** Claims: atomic, released, kept per name and key, loss reported, owned. */
export function claimTests<C extends AnyCore>(options: CoreConformanceOptions<C>): void {
  sceneTest(options, 'tryClaim: one winner among 20 concurrent claims', async (scene) => {
    const core = await scene.core();
    const name = scene.name();
    const key = scene.key();
    const claims = await Promise.all(Array.from({ length: 20 }, () => core.tryClaim(name, key)));
    assert.equal(winners(claims).length, 1, 'exactly one of 20 concurrent tryClaim calls wins');
  });

  if (options.sharedStore) {
    sceneTest(
      options,
      'tryClaim: one winner among concurrent claims from two instances of one store',
      async (scene) => {
        const cores = [await scene.core(), await scene.core()];
        const name = scene.name();
        const key = scene.key();
        const claims = await Promise.all(
          Array.from({ length: 20 }, (_, i) => cores[i % 2]!.tryClaim(name, key)),
        );
        assert.equal(winners(claims).length, 1, 'exactly one of 20 claims over two instances wins');
      },
    );
  }

  sceneTest(options, 'release lets the next claim win', async (scene) => {
    const core = await scene.core();
    const name = scene.name();
    const key = scene.key();
    const first = await core.tryClaim(name, key);
    assert.ok(first, 'the first claim of a free key wins');
    assert.equal(await core.tryClaim(name, key), undefined, 'a held claim is not won again');
    await first.release();
    assert.ok(await core.tryClaim(name, key), 'after release, the next claim wins');
  });

  sceneTest(options, 'claims are kept per name and per key', async (scene) => {
    const core = await scene.core();
    const [name, other] = [scene.name(), scene.name()];
    const key = scene.key();
    assert.ok(await core.tryClaim(name, key), 'the first claim wins');
    assert.ok(await core.tryClaim(other, key), 'the same key under another name is free');
    assert.ok(await core.tryClaim(name, scene.key()), 'another key under the same name is free');
  });

  sceneTest(
    options,
    'renew resolves true while the claim is held and false once clearClaims dropped it',
    async (scene) => {
      const core = await scene.core();
      const name = scene.name();
      const key = scene.key();
      const claim = await core.tryClaim(name, key);
      assert.ok(claim, 'the first claim wins');
      assert.equal(await claim.renew(), true, 'renew of a held claim resolves true');
      await core.clearClaims(name);
      assert.equal(await claim.renew(), false, 'renew after clearClaims resolves false');
      assert.ok(await core.tryClaim(name, key), 'the dropped claim no longer blocks');
      assert.equal(await claim.renew(), false, 'renew does not take the new owner’s claim');
    },
  );

  sceneTest(
    options,
    'a claim’s store (where claims offer one) writes while held and nothing once the claim is lost',
    async (scene) => {
      const core = await scene.core();
      const name = scene.name();
      const key = scene.key();
      const claim = await core.tryClaim(name, key);
      assert.ok(claim, 'the first claim wins');
      // Optional (Claim.store); value cores keep values in the process and never offer it.
      if (!claim.store) return;
      const first = sample(filled(8, 1), 1_700_000_000_000);
      assert.equal(await claim.store(first), true, 'store through a held claim resolves true');
      assertEntry(await read(core, name, key), first, 'the entry stored through the held claim');
      await core.clearClaims(name);
      const late = sample(filled(8, 2), 1_700_000_000_001);
      assert.equal(await claim.store(late), false, 'store after clearClaims resolves false');
      assert.ok(await core.tryClaim(name, key), 'a new owner claims the key');
      assert.equal(
        await claim.store(late),
        false,
        'store does not write through the new owner’s claim',
      );
      assertEntry(
        await read(core, name, key),
        first,
        'the entry is still the one stored while held',
      );
    },
  );

  sceneTest(options, 'release of a lost claim leaves the new owner’s claim', async (scene) => {
    const core = await scene.core();
    const name = scene.name();
    const key = scene.key();
    const lost = await core.tryClaim(name, key);
    assert.ok(lost, 'the first claim wins');
    await core.clearClaims(name);
    const owner = await core.tryClaim(name, key);
    assert.ok(owner, 'a claim after clearClaims wins');
    await lost.release();
    assert.equal(await core.tryClaim(name, key), undefined, 'the new owner still holds the key');
    assert.equal(await owner.renew(), true, 'the new owner’s renew still resolves true');
    await owner.release();
    assert.ok(await core.tryClaim(name, key), 'the owner’s own release frees the key');
  });
}

/**
 * Leases: a dead owner's claim is taken over; a renewed one is not. For a core that keeps
 * its claims alive itself (`renewsItself`), an unrenewed claim is kept instead.
 */
export function leaseTests<C extends AnyCore>(
  options: CoreConformanceOptions<C>,
  leaseMs: number,
): void {
  if (options.renewsItself) keptByOwnerTest(options, leaseMs);
  else takeoverTest(options, leaseMs);
  renewalTest(options, leaseMs);
}

function keptByOwnerTest<C extends AnyCore>(options: CoreConformanceOptions<C>, leaseMs: number) {
  sceneTest(
    options,
    'a claim left unrenewed is kept past its lease while its owner lives (renewsItself)',
    async (scene) => {
      const core = await scene.core({ leaseMs });
      assert.equal(core.leaseMs, leaseMs, `makeCore({ leaseMs: ${leaseMs} }) sets core.leaseMs`);
      const other = options.sharedStore ? await scene.core({ leaseMs }) : core;
      const name = scene.name();
      const key = scene.key();
      const claim = await core.tryClaim(name, key);
      assert.ok(claim, 'the first claim wins');
      await sleep(pastLease(leaseMs));
      assert.equal(
        await other.tryClaim(name, key),
        undefined,
        'a claim whose owner lives is not taken over, renewed or not',
      );
      assert.equal(await claim.renew(), true, 'the holder’s renew still resolves true');
      await claim.release();
      assert.ok(await other.tryClaim(name, key), 'after release, the next claim wins');
    },
  );
}

function takeoverTest<C extends AnyCore>(options: CoreConformanceOptions<C>, leaseMs: number) {
  sceneTest(
    options,
    'a claim left unrenewed is taken over after its lease; the old holder’s renew resolves false',
    async (scene) => {
      const core = await scene.core({ leaseMs });
      assert.equal(core.leaseMs, leaseMs, `makeCore({ leaseMs: ${leaseMs} }) sets core.leaseMs`);
      const other = options.sharedStore ? await scene.core({ leaseMs }) : core;
      const name = scene.name();
      const key = scene.key();
      const dead = await core.tryClaim(name, key);
      assert.ok(dead, 'the first claim wins');
      await sleep(pastLease(leaseMs));
      // Lapsed but not taken (a function that blocked its process past the lease): its
      // value is still the one to store.
      const lapsed = sample(filled(8, 3), 1_700_000_000_003);
      if (dead.store) {
        assert.equal(
          await dead.store(lapsed),
          true,
          'store through a lapsed claim nobody took writes',
        );
      }
      const taker = await other.tryClaim(name, key);
      assert.ok(taker, 'a claim whose lease lapsed is taken over');
      assert.equal(await dead.renew(), false, 'the old holder’s renew resolves false');
      if (dead.store) {
        const late = sample(filled(8, 4), 1_700_000_000_004);
        assert.equal(
          await dead.store(late),
          false,
          'store through a claim taken over writes nothing',
        );
        assertEntry(await read(core, name, key), lapsed, 'the entry stored before the takeover');
      }
      await dead.release();
      assert.equal(await core.tryClaim(name, key), undefined, 'the old holder’s release leaves it');
      assert.equal(await taker.renew(), true, 'the new holder’s renew resolves true');
    },
  );
}

function renewalTest<C extends AnyCore>(options: CoreConformanceOptions<C>, leaseMs: number) {
  sceneTest(options, 'renewing every leaseMs/4 keeps a claim past its lease', async (scene) => {
    const core = await scene.core({ leaseMs });
    assert.equal(core.leaseMs, leaseMs, `makeCore({ leaseMs: ${leaseMs} }) sets core.leaseMs`);
    const other = options.sharedStore ? await scene.core({ leaseMs }) : core;
    const name = scene.name();
    const key = scene.key();
    const claim = await core.tryClaim(name, key);
    assert.ok(claim, 'the first claim wins');
    // Five renewals a quarter lease apart: without them the lease would have lapsed a
    // quarter lease ago.
    for (let renewal = 1; renewal <= 5; renewal++) {
      await sleep(leaseMs / 4);
      assert.equal(await claim.renew(), true, `renewal ${renewal} of a held claim resolves true`);
    }
    assert.equal(await other.tryClaim(name, key), undefined, 'a renewed claim is not taken over');
  });
}
