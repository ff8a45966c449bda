import type { AnyCore } from '../cores/contract.js';

/**
 * A test runner's `describe`: node:test's, vitest's and jest's all fit. The kit calls it
 * with a title and a synchronous body that registers tests.
 *
 * @example
 * import { describe, test } from 'node:test';
 * coreConformance({ describe, test, makeCore: () => new MyCore() });
 */
export type SuiteFunction = (title: string, body: () => void) => unknown;

/**
 * A test runner's `test` (or `it`): node:test's, vitest's and jest's all fit. The kit
 * calls it with a title and an async body that rejects on failure; it uses no hooks,
 * so each test sets up and tears down its own cores.
 *
 * @example
 * import { describe, it } from 'vitest';
 * coreConformance({ describe, test: it, makeCore: () => new MyCore() });
 */
export type TestFunction = (title: string, body: () => Promise<void>) => unknown;

/**
 * What the kit asks of `makeCore` for one core.
 *
 * @example
 * makeCore: ({ leaseMs }) => new MyCore({ url, leaseMs }),
 */
export interface MakeCoreOptions {
  /**
   * The lease the core must give its claims (`core.leaseMs` must then equal it). Set
   * only by the lease tests, to the `minLeaseMs` option; `undefined` means the core's
   * default lease.
   */
  leaseMs?: number | undefined;
}

/**
 * How to run the conformance kit against a core: the runner's functions, a factory for
 * fresh cores, and what the core offers beyond the required methods. Each option that
 * declares a capability switches its group of tests on; a test checks that the core
 * really offers what the options declare (and nothing it is not checked for).
 *
 * @typeParam C - the core class, so `close` and `corrupt` receive it typed.
 *
 * @example
 * import { describe, test } from 'node:test';
 * import { coreConformance } from 'cachier/testing';
 *
 * coreConformance({
 *   describe,
 *   test,
 *   makeCore: ({ leaseMs }) => new MyRedisCore({ url: process.env.REDIS_URL, leaseMs }),
 *   close: (core) => core.close(),
 *   sharedStore: true,
 *   minLeaseMs: 100,
 *   subscribe: true,
 * });
 */
export interface CoreConformanceOptions<C extends AnyCore = AnyCore> {
  /** The runner's `describe`; the kit nests its groups under one suite. */
  describe: SuiteFunction;
  /** The runner's `test` or `it`. Give each test at least `2 * minLeaseMs + 10 s` (jest: `testTimeout`). */
  test: TestFunction;
  /**
   * Makes a fresh core (may be async). Called once or twice per test, so keep it cheap;
   * the kit uses random cache names and keys, so cores may share one store across tests
   * and runs. With `leaseMs` set, the core must use that lease.
   */
  makeCore: (options: MakeCoreOptions) => C | Promise<C>;
  /**
   * Closes a core the kit made (connections, watchers). Called at the end of every
   * test, after the kit has cleared what it wrote.
   * @default nothing
   */
  close?: ((core: C) => void | Promise<void>) | undefined;
  /**
   * The title of the kit's outer suite.
   * @default 'cachier core conformance'
   */
  title?: string | undefined;
  /**
   * The shortest lease `makeCore({ leaseMs })` honours (ms). Switches on the lease
   * tests, which wait out a lease once or twice, so keep it small (100–2000 ms). Leave
   * it out only for a core whose claims die with its process (`core.leaseMs` is
   * `undefined`, as in the memory core).
   * @default undefined: the core has no lease
   */
  minLeaseMs?: number | undefined;
  /**
   * The core keeps each claim alive itself for as long as the owning process lives (say,
   * a lock that a locking library refreshes from its own timer), so a claim is taken
   * over only once its owner is gone, never just because `renew` was not called.
   * The kit cannot end an owner's process, so instead of the takeover test it checks that
   * a claim left unrenewed past its lease is still held (and its `renew()` still says
   * `true`); renewal, and loss reported after `clearClaims`, are checked as for any core.
   * Test takeover after the owner's death yourself, with a real child process that is
   * killed. Needs `minLeaseMs`. A core whose claims never lapse fails the takeover test
   * unless it declares this.
   * @default false: a claim left unrenewed lapses after its lease and is taken over
   *
   * @example
   * coreConformance({ describe, test, makeCore, minLeaseMs: 2000, renewsItself: true });
   */
  renewsItself?: boolean | undefined;
  /**
   * Two `makeCore` calls reach the same store (one database, one folder), like two
   * processes would. Switches on the tests across instances: one claim winner among
   * both, entries seen by both, and `subscribe`.
   * @default false
   */
  sharedStore?: boolean | undefined;
  /**
   * The core offers `subscribe`. The kit checks that it is called for a change made
   * through another instance and that the unsubscribe stops it; needs `sharedStore`.
   * @default false
   */
  subscribe?: boolean | undefined;
  /**
   * The core offers `names()`: every cache name that holds entries.
   * @default false
   */
  names?: boolean | undefined;
  /**
   * The core offers `list(name)`: every entry of a name without its value.
   * @default false
   */
  list?: boolean | undefined;
  /**
   * Damages the stored entry of `key` under `name` in place (truncate a file, overwrite
   * a field with junk), so the kit can check that `get` then throws
   * `CorruptEntryError` and that `set` replaces the damaged entry. Leave out for a core
   * that cannot hold a damaged entry (a value core).
   * @default undefined: the corrupt-entry test is not registered
   *
   * @example
   * corrupt: (core, name, key) => writeFile(core.pathOf(name, key), 'junk'),
   */
  corrupt?: ((core: C, name: string, key: string) => void | Promise<void>) | undefined;
}
