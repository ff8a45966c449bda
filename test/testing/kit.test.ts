import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';
import { coreConformance } from '../../src/testing/index.js';
import { mapSetup, mutations, selfRenewingSetup, T, valueSetup } from './brokenCores.js';
import { recordKit, runRecorded } from './recordingRunner.js';

const allTitles = Object.values(T);

describe('the conformance kit', () => {
  it('registers every test for a core with every capability, and the reference core passes them', async () => {
    const tests = recordKit(mapSetup());
    expect(tests.map((test) => test.title).sort()).toEqual(
      allTitles.filter((title) => title !== T.keptByOwner).sort(),
    );
    const failures = await runRecorded(tests);
    expect([...failures].map(([title, error]) => `${title}: ${String(error)}`)).toEqual([]);
  });

  it('registers only the tests a value core without lease or options can take, and it passes them', async () => {
    const tests = recordKit(valueSetup());
    const skipped: string[] = [
      T.oneWinnerShared,
      T.takeover,
      T.keptByOwner,
      T.renewal,
      T.shared,
      T.corrupt,
      T.subscribeSet,
      T.subscribeRelease,
      T.unsubscribe,
      T.names,
      T.list,
    ];
    expect(tests.map((test) => test.title).sort()).toEqual(
      allTitles.filter((title) => !skipped.includes(title)).sort(),
    );
    const failures = await runRecorded(tests);
    expect([...failures].map(([title, error]) => `${title}: ${String(error)}`)).toEqual([]);
  });

  it('checks a renewsItself core for claims kept while their owner lives instead of takeover, and it passes', async () => {
    const tests = recordKit(selfRenewingSetup());
    expect(tests.map((test) => test.title).sort()).toEqual(
      allTitles.filter((title) => title !== T.takeover).sort(),
    );
    const failures = await runRecorded(tests);
    expect([...failures].map(([title, error]) => `${title}: ${String(error)}`)).toEqual([]);
  });

  it('nests its tests in one suite named by title, one group per guarantee', () => {
    const tests = recordKit({ ...mapSetup(), title: 'map core' });
    expect(new Set(tests.map((test) => test.suites[0]))).toEqual(new Set(['map core']));
    expect(new Set(tests.map((test) => test.suites[1]))).toEqual(
      new Set([
        'capabilities',
        'claims',
        'leases',
        'entries',
        'delete, clear, clearClaims, deleteStale',
        'subscribe',
        'names and list',
      ]),
    );
  });

  it('names a mutation that fails each of its tests', () => {
    const named = new Set(mutations.flatMap((mutation) => mutation.fails));
    expect(allTitles.filter((title) => !named.has(title))).toEqual([]);
  });

  it('refuses options it cannot honour, naming the option', () => {
    const runner = { describe: () => {}, test: () => {} };
    expect(() => coreConformance({ ...runner, ...mapSetup(), sharedStore: false })).toThrow(
      /subscribe: true needs sharedStore: true/,
    );
    expect(() => coreConformance({ ...runner, ...mapSetup(), minLeaseMs: -1 })).toThrow(
      /minLeaseMs must be a positive number/,
    );
    expect(() => coreConformance({ ...runner, ...valueSetup(), renewsItself: true })).toThrow(
      /renewsItself: true needs minLeaseMs/,
    );
    expect(() =>
      coreConformance({ ...runner, ...mapSetup(), makeCore: undefined as never }),
    ).toThrow(/makeCore must be a function/);
  });
});

describe.concurrent('each deliberately broken core fails the kit tests that name its bug', () => {
  for (const mutation of mutations) {
    it(mutation.name, async () => {
      const tests = recordKit(mutation.setup()).filter((test) =>
        mutation.fails.includes(test.title),
      );
      expect(tests.map((test) => test.title).sort()).toEqual([...mutation.fails].sort());
      const failures = await runRecorded(tests);
      for (const title of mutation.fails) {
        expect(failures.has(title), `"${title}" passed`).toBe(true);
        expect(failures.get(title), `"${title}" failed on an assertion`).toBeInstanceOf(
          AssertionError,
        );
      }
    });
  }
});
