/**
 * `cachier/testing`: the conformance kit every cachier core passes. Run it against a
 * core of your own with your test runner's `describe` and `test`.
 *
 * @example
 * import { describe, test } from 'node:test';
 * import { coreConformance } from 'cachier/testing';
 * import { MapCore } from './mapCore.js';
 *
 * coreConformance({ describe, test, makeCore: ({ leaseMs }) => new MapCore({ leaseMs }), minLeaseMs: 50 });
 *
 * @packageDocumentation
 */
export type {
  CoreConformanceOptions,
  MakeCoreOptions,
  SuiteFunction,
  TestFunction,
} from './conformanceOptions.js';
export { coreConformance } from './coreConformance.js';
