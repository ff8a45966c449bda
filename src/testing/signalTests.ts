import assert from 'node:assert/strict';
import type { AnyCore } from '../cores/contract.js';
import type { CoreConformanceOptions } from './conformanceOptions.js';
import { filled, sample, write } from './samples.js';
import type { Scene } from './scene.js';
import { sceneTest } from './scene.js';
import { changeUntilSeen } from './waiting.js';

/** Subscribes through `core` and counts the calls; unsubscribed at the end of the test. */
function counter<C extends AnyCore>(scene: Scene<C>, core: C, name: string, key: string) {
  const subscribe = core.subscribe;
  assert.ok(subscribe, 'the core has subscribe()');
  const seen = { calls: 0, unsubscribe: () => {} };
  let subscribed = true;
  const unsubscribe = subscribe.call(core, name, key, () => {
    seen.calls++;
  });
  assert.equal(typeof unsubscribe, 'function', 'subscribe returns the unsubscribe function');
  seen.unsubscribe = () => {
    if (subscribed) unsubscribe();
    subscribed = false;
  };
  scene.atEnd(seen.unsubscribe);
  return seen;
}

/**
 * The optional push signal: called for changes made through another instance (as by
 * another process), and stopped by its unsubscribe. Spurious calls are allowed, so the
 * kit only checks that a call comes, never that it comes alone; a signal may start a
 * moment after `subscribe` returns, so the kit repeats a change until it is signalled.
 */
export function signalTests<C extends AnyCore>(options: CoreConformanceOptions<C>): void {
  sceneTest(options, 'subscribe is called when another instance sets the entry', async (scene) => {
    const [watcher, writer] = [await scene.core(), await scene.core()];
    const name = scene.name();
    const key = scene.key();
    const seen = counter(scene, watcher, name, key);
    await changeUntilSeen(
      () => write(writer, name, key, sample(filled(4, 1), Date.now())),
      () => seen.calls > 0,
      'a subscribe call after another instance’s set',
    );
  });

  sceneTest(
    options,
    'subscribe is called when another instance releases the claim',
    async (scene) => {
      const [watcher, claimer] = [await scene.core(), await scene.core()];
      const name = scene.name();
      const key = scene.key();
      let claim = await claimer.tryClaim(name, key);
      assert.ok(claim, 'the first claim wins');
      const seen = counter(scene, watcher, name, key);
      await changeUntilSeen(
        async () => {
          claim ??= await claimer.tryClaim(name, key);
          assert.ok(claim, 'a released claim is won again');
          await claim.release();
          claim = undefined;
        },
        () => seen.calls > 0,
        'a subscribe call after another instance’s release',
      );
    },
  );

  sceneTest(options, 'unsubscribe stops the calls', async (scene) => {
    const [watcher, writer] = [await scene.core(), await scene.core()];
    const name = scene.name();
    const key = scene.key();
    // A second subscription that stays on tells when the changes have been signalled,
    // so no sleep is needed to know the first one would have been called by then.
    const stopped = counter(scene, watcher, name, key);
    const witness = counter(scene, watcher, name, key);
    stopped.unsubscribe();
    for (let change = 1; change <= 2; change++) {
      const before = witness.calls;
      await changeUntilSeen(
        () => write(writer, name, key, sample(filled(4, change), Date.now())),
        () => witness.calls > before,
        `the witness subscription’s call for change ${change}`,
      );
    }
    assert.equal(stopped.calls, 0, 'an unsubscribed callback is not called');
  });
}

/** names() and list(name), for tools such as the CLI. */
export function toolTests<C extends AnyCore>(options: CoreConformanceOptions<C>): void {
  if (options.names) {
    sceneTest(options, 'names() lists every name that holds entries', async (scene) => {
      const core = await scene.core();
      const [name, other, empty] = [scene.name(), scene.name(), scene.name()];
      await write(core, name, scene.key(), sample(filled(2, 1), 1_000));
      await write(core, other, scene.key(), sample(filled(2, 2), 2_000));
      const names = await core.names!();
      assert.ok(Array.isArray(names), 'names() resolves to an array');
      assert.ok(names.includes(name), 'names() includes the first name');
      assert.ok(names.includes(other), 'names() includes the second name');
      assert.ok(!names.includes(empty), 'names() leaves out a name never written');
    });
  }

  if (options.list) {
    sceneTest(
      options,
      'list(name) describes every entry of that name and no other',
      async (scene) => {
        const core = await scene.core();
        const [name, other] = [scene.name(), scene.name()];
        const expected = new Map<string, number>();
        for (let i = 0; i < 3; i++) {
          const key = scene.key();
          expected.set(key, 1_000 + i);
          await write(core, name, key, sample(filled(10 * (i + 1), i), 1_000 + i));
        }
        await write(core, other, scene.key(), sample(filled(5, 9), 5_000));
        const listed = new Map<string, number>();
        for await (const info of core.list!(name)) {
          assert.ok(!listed.has(info.key), 'list() gives each key once');
          assert.ok(
            Number.isFinite(info.size) && info.size >= 0,
            `list() gives a size in bytes (got ${info.size})`,
          );
          listed.set(info.key, info.calculatedAt);
        }
        assert.deepEqual(
          listed,
          expected,
          'list() gives exactly the name’s keys with their calculatedAt',
        );
      },
    );
  }
}
