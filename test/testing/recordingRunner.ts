import type { AnyCore } from '../../src/cores/contract.js';
import { type CoreConformanceOptions, coreConformance } from '../../src/testing/index.js';

/** One kit test as registered: its own title, its suite path, and its body. */
export interface RecordedTest {
  title: string;
  suites: string[];
  body: () => Promise<void>;
}

/** The kit's options without the runner functions, which the recorder supplies. */
export type KitSetup<C extends AnyCore> = Omit<CoreConformanceOptions<C>, 'describe' | 'test'>;

/**
 * Registers the kit with a fake runner that records each test instead of running it,
 * so a test here can run chosen kit tests against a chosen core and see which fail.
 */
export function recordKit<C extends AnyCore>(setup: KitSetup<C>): RecordedTest[] {
  const tests: RecordedTest[] = [];
  const suites: string[] = [];
  coreConformance<C>({
    ...setup,
    describe: (title, body) => {
      suites.push(title);
      try {
        body();
      } finally {
        suites.pop();
      }
    },
    test: (title, body) => {
      tests.push({ title, suites: [...suites], body });
    },
  });
  return tests;
}

/** Runs `tests` one after another, as the runners do; maps each title to its failure, if any. */
export async function runRecorded(tests: RecordedTest[]): Promise<Map<string, unknown>> {
  const failures = new Map<string, unknown>();
  for (const test of tests) {
    try {
      await test.body();
    } catch (error) {
      failures.set(test.title, error);
    }
  }
  return failures;
}
