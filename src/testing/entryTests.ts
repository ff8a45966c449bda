import assert from 'node:assert/strict';
import type { AnyCore } from '../cores/contract.js';
import type { CoreConformanceOptions } from './conformanceOptions.js';
import {
  assertEntry,
  describeEntry,
  filled,
  isEntry,
  type ReadEntry,
  read,
  type Sample,
  sample,
  write,
} from './samples.js';
import { sceneTest } from './scene.js';
import { yieldTurn } from './waiting.js';

const MiB = 1024 * 1024;

/** Every byte value 0..255, twice, so a text round trip or a sign error shows. */
function everyByte(): Uint8Array {
  return Uint8Array.from({ length: 512 }, (_, i) => i % 256);
}

/** 1 MiB of varied bytes: a size where chunked or truncated writes show. */
function oneMiB(): Uint8Array {
  const bytes = new Uint8Array(MiB);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >>> 8)) & 0xff;
  return bytes;
}

/**
 * A value entry's optional `settled` promise (which cachier returns on a hit) resolves to
 * that entry's own value.
 */
async function assertSettled(entry: ReadEntry, what: string): Promise<void> {
  if (entry === undefined || !('value' in entry) || entry.settled === undefined) return;
  assert.ok(entry.settled instanceof Promise, `${what}: entry.settled is not a Promise`);
  assert.ok(
    (await entry.settled) === entry.value,
    `${what}: entry.settled resolves to another value`,
  );
}

/** Entries: exact round trip, replacement (atomic), names apart. */
export function entryTests<C extends AnyCore>(options: CoreConformanceOptions<C>): void {
  sceneTest(options, 'get of an entry never set is undefined', async (scene) => {
    const core = await scene.core();
    const name = scene.name();
    await write(core, name, scene.key(), sample(filled(3, 1), Date.now()));
    assert.equal(
      await read(core, name, scene.key()),
      undefined,
      'another key of the name is absent',
    );
    assert.equal(await read(core, scene.name(), scene.key()), undefined, 'a new name is empty');
  });

  sceneTest(
    options,
    'get returns exactly the bytes set stored: empty, 1 byte, every byte value, 1 MiB',
    async (scene) => {
      const core = await scene.core();
      const name = scene.name();
      const now = Date.now();
      const cases: Array<[string, Sample]> = [
        ['empty', sample(new Uint8Array(0), now)],
        ['1 byte', sample(Uint8Array.of(0), now)],
        ['every byte value', sample(everyByte(), now)],
        ['1 MiB', sample(oneMiB(), now)],
        ['a view into a larger buffer', sample(new Uint8Array(everyByte().buffer, 100, 50), now)],
      ];
      const keys = cases.map(() => scene.key());
      for (const [i, [, entry]] of cases.entries()) await write(core, name, keys[i]!, entry);
      for (const [i, [what, entry]] of cases.entries()) {
        assertEntry(await read(core, name, keys[i]!), entry, what);
      }
    },
  );

  sceneTest(
    options,
    'calculatedAt comes back exactly: integer epoch ms, past, present and future',
    async (scene) => {
      const core = await scene.core();
      const name = scene.name();
      const now = Date.now();
      const times = [
        now,
        now - 1,
        now + 1,
        Date.UTC(2001, 8, 9, 1, 46, 40, 123),
        Date.UTC(2100, 0, 1),
      ];
      const keys = times.map(() => scene.key());
      const entries = times.map((at) => sample(filled(2, 7), at));
      for (const [i, entry] of entries.entries()) await write(core, name, keys[i]!, entry);
      for (const [i, entry] of entries.entries()) {
        assertEntry(await read(core, name, keys[i]!), entry, `calculatedAt ${times[i]}`);
      }
    },
  );

  sceneTest(options, 'set replaces the entry', async (scene) => {
    const core = await scene.core();
    const name = scene.name();
    const key = scene.key();
    const [first, second] = [sample(filled(10, 1), 1_000), sample(filled(4, 2), 2_000)];
    await write(core, name, key, first);
    const before = await read(core, name, key);
    await write(core, name, key, second);
    const after = await read(core, name, key);
    assertEntry(after, second, 'after a second set');
    await assertSettled(before, 'after the first set');
    await assertSettled(after, 'after a second set');
    if (before && after && ('settled' in before || 'settled' in after)) {
      assert.ok(before !== after, 'a value entry with `settled` was reused for another value');
    }
    await write(core, name, key, first);
    assertEntry(await read(core, name, key), first, 'after a set with an older calculatedAt');
  });

  sceneTest(
    options,
    'concurrent gets during repeated sets see a whole old or new entry',
    async (scene) => {
      const core = await scene.core();
      const readers = options.sharedStore ? [core, await scene.core()] : [core];
      const name = scene.name();
      const key = scene.key();
      // Different sizes, bytes and times: any mix of the two is seen.
      const a = sample(filled(64 * 1024, 0xaa), 1_000_000);
      const b = sample(filled(48 * 1024, 0x55), 2_000_000);
      await write(core, name, key, a);
      let writing = true;
      const writer = (async () => {
        try {
          for (let round = 0; round < 40; round++) await write(core, name, key, round % 2 ? a : b);
        } finally {
          writing = false;
        }
      })();
      const torn: ReadEntry[] = [];
      let reads = 0;
      const readLoop = async (reader: AnyCore) => {
        while (writing) {
          const got = await read(reader, name, key);
          reads++;
          if (!isEntry(got, a) && !isEntry(got, b)) torn.push(got);
          await yieldTurn();
        }
      };
      await Promise.all([
        writer,
        ...readers.flatMap((reader) => [readLoop(reader), readLoop(reader)]),
      ]);
      assert.ok(reads > 0, 'the readers ran while the writer wrote');
      assert.deepEqual(
        torn.map(describeEntry),
        [],
        `${torn.length} of ${reads} gets saw neither whole entry`,
      );
    },
  );

  sceneTest(options, 'one key under two names keeps two entries', async (scene) => {
    const core = await scene.core();
    const [name, other] = [scene.name(), scene.name()];
    const key = scene.key();
    const [mine, theirs] = [sample(filled(5, 1), 1_000), sample(filled(6, 2), 2_000)];
    await write(core, name, key, mine);
    await write(core, other, key, theirs);
    assertEntry(await read(core, name, key), mine, 'the first name’s entry');
    assertEntry(await read(core, other, key), theirs, 'the second name’s entry');
  });

  if (options.sharedStore) {
    sceneTest(
      options,
      'an entry set through one instance is read, replaced and deleted through another',
      async (scene) => {
        const [one, two] = [await scene.core(), await scene.core()];
        const name = scene.name();
        const key = scene.key();
        const [first, second] = [sample(filled(8, 1), 1_000), sample(filled(9, 2), 2_000)];
        await write(one, name, key, first);
        assertEntry(await read(two, name, key), first, 'read through the second instance');
        await write(two, name, key, second);
        assertEntry(await read(one, name, key), second, 'replaced through the second instance');
        await two.delete(name, key);
        assert.equal(await read(one, name, key), undefined, 'deleted through the second instance');
      },
    );
  }
}
