import assert from 'node:assert/strict';
import type { AnyCore } from '../cores/contract.js';
import { claimTests, leaseTests } from './claimTests.js';
import type { CoreConformanceOptions } from './conformanceOptions.js';
import { entryTests } from './entryTests.js';
import { maintenanceTests } from './maintenanceTests.js';
import { sceneTest } from './scene.js';
import { signalTests, toolTests } from './signalTests.js';

function checkOptions<C extends AnyCore>(options: CoreConformanceOptions<C>): void {
  const { describe, test, makeCore, minLeaseMs } = options;
  for (const [what, fn] of Object.entries({ describe, test, makeCore })) {
    if (typeof fn !== 'function')
      throw new TypeError(`coreConformance: ${what} must be a function`);
  }
  if (minLeaseMs !== undefined && !(Number.isFinite(minLeaseMs) && minLeaseMs > 0)) {
    throw new TypeError('coreConformance: minLeaseMs must be a positive number of milliseconds');
  }
  if (options.renewsItself && minLeaseMs === undefined) {
    throw new TypeError(
      'coreConformance: renewsItself: true needs minLeaseMs (it describes how a lease is kept)',
    );
  }
  if (options.subscribe && !options.sharedStore) {
    throw new TypeError(
      'coreConformance: subscribe: true needs sharedStore: true (subscribe signals changes made by other instances)',
    );
  }
}

/** The core offers the optional methods the options declare, and no unchecked one. */
function capabilityTest<C extends AnyCore>(options: CoreConformanceOptions<C>): void {
  sceneTest(options, 'the core offers what the options declare', async (scene) => {
    const core = await scene.core();
    assert.equal(typeof core.kind, 'string', 'kind is a string');
    assert.ok(core.kind.length > 0, 'kind is not empty');
    assert.ok(
      core.stores === undefined || core.stores === 'bytes' || core.stores === 'values',
      "stores is 'bytes', 'values' or left out",
    );
    if (options.minLeaseMs === undefined) {
      assert.equal(
        core.leaseMs,
        undefined,
        `the core has a lease (leaseMs ${core.leaseMs}): pass minLeaseMs so the kit checks lease expiry and renewal`,
      );
    } else {
      assert.ok(
        typeof core.leaseMs === 'number' && core.leaseMs > 0,
        'minLeaseMs was passed, so makeCore({}) makes a core with a positive leaseMs',
      );
    }
    for (const method of ['subscribe', 'names', 'list'] as const) {
      const offered = typeof core[method] === 'function';
      const declared = options[method] === true;
      assert.equal(
        offered,
        declared,
        offered
          ? `the core has ${method}(): pass ${method}: true so the kit checks it`
          : `${method}: true was passed but the core has no ${method}() method`,
      );
    }
  });
}

/**
 * Registers the conformance tests for a core with the given test runner: claims (atomic,
 * owned, released, leased, renewed, loss reported), entries (exact bytes and
 * calculatedAt, atomic replacement, names kept apart), delete / clear / clearClaims /
 * deleteStale (each touching only what it names), corrupt entries, and the optional
 * `subscribe`, `names` and `list`. Works with node:test, vitest and jest; asserts with
 * `node:assert/strict`. Each test makes its own cores, uses random cache names and keys,
 * clears what it wrote and closes its cores, so runs never collide.
 *
 * `deleteStale(name, cutoff)` is checked to delete entries with `calculatedAt < cutoff`
 * and keep those at or after it. `calculatedAt` is checked to come back exactly for
 * integer epoch milliseconds (cachier's clock), not for fractions of a millisecond.
 *
 * @example
 * // test/myRedisCore.test.ts
 * import { describe, test } from 'node:test';
 * import { coreConformance } from 'cachier/testing';
 * import { MyRedisCore } from '../src/myRedisCore.js';
 *
 * coreConformance({
 *   describe,
 *   test,
 *   makeCore: ({ leaseMs }) => new MyRedisCore({ url: 'redis://localhost:6379', leaseMs }),
 *   close: (core) => core.close(),
 *   sharedStore: true,
 *   minLeaseMs: 100,
 *   subscribe: true,
 * });
 */
export function coreConformance<C extends AnyCore>(options: CoreConformanceOptions<C>): void {
  checkOptions(options);
  const { describe, minLeaseMs } = options;
  describe(options.title ?? 'cachier core conformance', () => {
    describe('capabilities', () => capabilityTest(options));
    describe('claims', () => claimTests(options));
    if (minLeaseMs !== undefined) describe('leases', () => leaseTests(options, minLeaseMs));
    describe('entries', () => entryTests(options));
    describe('delete, clear, clearClaims, deleteStale', () => maintenanceTests(options));
    if (options.subscribe) describe('subscribe', () => signalTests(options));
    if (options.names || options.list) describe('names and list', () => toolTests(options));
  });
}
