import assert from 'node:assert/strict';
import type { AnyCore } from '../cores/contract.js';
import { CorruptEntryError } from '../errors.js';
import type { CoreConformanceOptions } from './conformanceOptions.js';
import { assertEntry, filled, read, sample, write } from './samples.js';
import { sceneTest } from './scene.js';

/** Whether `error` is cachier's CorruptEntryError, also when another copy of cachier made it. */
function isCorruptEntryError(error: unknown): boolean {
  return (
    error instanceof CorruptEntryError ||
    (error instanceof Error && (error as { code?: unknown }).code === 'CACHIER_CORRUPT_ENTRY')
  );
}

/** delete, clear, clearClaims, deleteStale: each touches exactly what it names. */
export function maintenanceTests<C extends AnyCore>(options: CoreConformanceOptions<C>): void {
  sceneTest(options, 'delete removes one entry and leaves its claim', async (scene) => {
    const core = await scene.core();
    const [name, other] = [scene.name(), scene.name()];
    const [key, neighbour] = [scene.key(), scene.key()];
    const entry = sample(filled(4, 9), 1_000);
    for (const [n, k] of [
      [name, key],
      [name, neighbour],
      [other, key],
    ] as const) {
      await write(core, n, k, entry);
    }
    const claim = await core.tryClaim(name, key);
    assert.ok(claim, 'the first claim wins');
    await core.delete(name, key);
    assert.equal(await read(core, name, key), undefined, 'the deleted entry is gone');
    assertEntry(await read(core, name, neighbour), entry, 'another key of the name');
    assertEntry(await read(core, other, key), entry, 'the same key under another name');
    assert.equal(await core.tryClaim(name, key), undefined, 'the key’s claim is still held');
    await core.delete(name, key);
    await core.delete(name, scene.key());
  });

  sceneTest(
    options,
    'clear deletes every entry of one name and leaves other names and claims',
    async (scene) => {
      const core = await scene.core();
      const [name, other] = [scene.name(), scene.name()];
      const keys = [scene.key(), scene.key(), scene.key()];
      const entry = sample(filled(4, 3), 1_000);
      for (const key of keys) {
        await write(core, name, key, entry);
        await write(core, other, key, entry);
      }
      const claim = await core.tryClaim(name, keys[0]!);
      assert.ok(claim, 'the first claim wins');
      await core.clear(name);
      for (const key of keys) {
        assert.equal(await read(core, name, key), undefined, 'every entry of the name is gone');
        assertEntry(await read(core, other, key), entry, 'the other name’s entry');
      }
      assert.equal(await core.tryClaim(name, keys[0]!), undefined, 'the claim is still held');
      assert.equal(await claim.renew(), true, 'the claim’s renew still resolves true');
    },
  );

  sceneTest(
    options,
    'clearClaims drops every claim of one name and leaves other names and entries',
    async (scene) => {
      const core = await scene.core();
      const [name, other] = [scene.name(), scene.name()];
      const [key, second] = [scene.key(), scene.key()];
      const entry = sample(filled(4, 5), 1_000);
      await write(core, name, key, entry);
      for (const [n, k] of [
        [name, key],
        [name, second],
        [other, key],
      ] as const) {
        assert.ok(await core.tryClaim(n, k), 'the first claim wins');
      }
      await core.clearClaims(name);
      assert.ok(await core.tryClaim(name, key), 'the first key’s claim was dropped');
      assert.ok(await core.tryClaim(name, second), 'the second key’s claim was dropped');
      assert.equal(await core.tryClaim(other, key), undefined, 'the other name’s claim is held');
      assertEntry(await read(core, name, key), entry, 'the name’s entry');
    },
  );

  sceneTest(
    options,
    'deleteStale deletes entries calculated before the cutoff; keeps those at or after it and other names',
    async (scene) => {
      const core = await scene.core();
      const [name, other] = [scene.name(), scene.name()];
      const cutoff = Date.now() - 60_000;
      const times = { long: cutoff - 3_600_000, just: cutoff - 1, at: cutoff, after: cutoff + 1 };
      const keys = { long: scene.key(), just: scene.key(), at: scene.key(), after: scene.key() };
      const entries = {
        long: sample(filled(3, 1), times.long),
        just: sample(filled(3, 2), times.just),
        at: sample(filled(3, 3), times.at),
        after: sample(filled(3, 4), times.after),
      };
      for (const which of ['long', 'just', 'at', 'after'] as const) {
        await write(core, name, keys[which], entries[which]);
        await write(core, other, keys[which], entries[which]);
      }
      await core.deleteStale(name, cutoff);
      assert.equal(await read(core, name, keys.long), undefined, 'an entry an hour older is gone');
      assert.equal(await read(core, name, keys.just), undefined, 'an entry 1 ms older is gone');
      assertEntry(
        await read(core, name, keys.at),
        entries.at,
        'the entry calculated at the cutoff',
      );
      assertEntry(await read(core, name, keys.after), entries.after, 'the entry 1 ms newer');
      for (const which of ['long', 'just', 'at', 'after'] as const) {
        assertEntry(
          await read(core, other, keys[which]),
          entries[which],
          `the other name’s ${which}`,
        );
      }
    },
  );

  if (options.corrupt !== undefined) {
    const corrupt = options.corrupt;
    sceneTest(
      options,
      'a damaged entry is reported as CorruptEntryError and replaced by set',
      async (scene) => {
        const core = await scene.core();
        const name = scene.name();
        const [key, neighbour] = [scene.key(), scene.key()];
        const entry = sample(filled(32, 6), 1_000);
        await write(core, name, key, entry);
        await write(core, name, neighbour, entry);
        await corrupt(core, name, key);
        await assert.rejects(
          read(core, name, key),
          isCorruptEntryError,
          'get of a damaged entry rejects with CorruptEntryError',
        );
        assertEntry(await read(core, name, neighbour), entry, 'another entry of the name');
        const fresh = sample(filled(16, 8), 2_000);
        await write(core, name, key, fresh);
        const replaced = await read(core, name, key).catch((error: unknown) =>
          assert.fail(`get after a set over the damaged entry rejected: ${String(error)}`),
        );
        assertEntry(replaced, fresh, 'the entry set over the damaged one');
      },
    );
  }
}
