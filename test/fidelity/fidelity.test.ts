/**
 * The fidelity table (test/fidelity/table.ts) on every core: an argument is keyed by its
 * content or refused with a TypeError naming `args[1]` and `hashArgs`; a result comes back as
 * it went in, after a restart too, or is returned and not stored, with one
 * CACHIER_UNSERIALIZABLE warning per wrapper and a `not-stored` event per call.
 *
 * The memory core runs both phases in this process with the same wrappers (a second call);
 * the file, MongoDB, Redis and PostgreSQL cores store in one child process and reload in a
 * fresh one. The expected observations come from each row's `outcome` alone, so every core is
 * held to the same rule. All stores run side by side: four pairs of children.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startMongoTestServer } from '../support/mongoTestServer.js';
import { findPostgres } from '../support/postgresServer.js';
import { redisForTests } from '../support/redisServer.js';
import type { FidelityRequest, StoreSpec } from './child.js';
import {
  type ArgumentCall,
  makeWrappers,
  type Phase,
  type PhaseReport,
  runPhase,
  type ValueReport,
} from './runner.js';
import { ARGUMENT_ROWS, type ArgumentRow, VALUE_ROWS, type ValueRow } from './table.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'cachier-fidelity-'));

// ---------------------------------------------------------------------------------------------
// What the rule says each row must give

function expectedArgumentCalls(row: ArgumentRow, phase: Phase): ArgumentCall[] {
  if (row.outcome === 'refused') {
    return row.variants.map(() => ({
      calculated: false,
      refusal: { name: 'TypeError', namesPath: true, namesHashArgs: true, quotesData: false },
    }));
  }
  // Each variant has its own entry: calculated the first time, a hit on its own value after.
  const calls: ArgumentCall[] = row.variants.map((_, index) => ({
    calculated: phase === 'store',
    result: `store v${index}`,
  }));
  // Equal content, built another way: a hit on variant 0's value.
  calls.push({ calculated: false, result: 'store v0' });
  return calls;
}

function expectedValueReport(row: ValueRow, phase: Phase): ValueReport {
  const stored = row.outcome === 'stored';
  return {
    calls: [
      { calculated: !stored || phase === 'store', fidelity: 'same' },
      { calculated: !stored, fidelity: 'same' },
    ],
    warnings: row.outcome === 'unserializable' ? { CACHIER_UNSERIALIZABLE: 1 } : {},
    warningQuotesData: false,
    notStored: stored ? [] : [row.outcome, row.outcome],
    storeErrors: 0,
  };
}

/**
 * Rows where a core disagrees with the rule today (`<core> <arguments|values> <row id>` →
 * why). Each runs as `it.fails`: it goes red once the bug is fixed, so the entry is removed
 * then. Keep this list empty in a release.
 */
/** Rows where a core is known to break the rule, as `'<core> <arguments|values> <row id>'`: none. */
const KNOWN_DISAGREEMENTS: Record<string, string> = {};

// ---------------------------------------------------------------------------------------------
// Running the table on a store

type Reports = Record<Phase, PhaseReport>;

function runChild(request: FidelityRequest): Promise<PhaseReport> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--no-warnings', CHILD, JSON.stringify(request)],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, HOME: home, USERPROFILE: home },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`fidelity child (${request.phase}) failed: ${error.message}\n${stderr}`),
          );
        } else {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as PhaseReport);
        }
      },
    );
  });
}

/** Store in one child, reload in a fresh one. */
async function runInChildren(store: StoreSpec): Promise<Reports> {
  const runId = randomUUID().slice(0, 8);
  const storeReport = await runChild({ store, runId, phase: 'store' });
  const reloadReport = await runChild({ store, runId, phase: 'reload' });
  return { store: storeReport, reload: reloadReport };
}

/** The memory core: one process, the same wrappers, a second call. */
async function runInProcess(): Promise<Reports> {
  const wrappers = makeWrappers({ backend: 'memory' }, `memory-${randomUUID().slice(0, 8)}`);
  const store = await runPhase(wrappers, 'store');
  const reload = await runPhase(wrappers, 'reload');
  return { store, reload };
}

// Every store starts at once; each describe waits for its own.
const mongo = await startMongoTestServer();
const redis = await redisForTests('test/fidelity/fidelity.test.ts (the table on the Redis core)');
const postgres = await findPostgres();
afterAll(async () => {
  await mongo.close();
  await redis.server?.close();
  await postgres.server?.close();
  rmSync(home, { recursive: true, force: true });
});

/** Runs never reject here, so a store that cannot start fails its rows, not the file. */
const settled = (run: Promise<Reports>) =>
  run.then(
    (reports) => ({ reports }),
    (error: unknown) => ({ error }),
  );

const cores: Array<{ core: string; skip?: string; run: () => Promise<Reports> }> = [
  { core: 'memory', run: runInProcess },
  { core: 'file', run: () => runInChildren({ backend: 'file', cacheDir: join(home, 'cache') }) },
  {
    core: 'mongo',
    run: () =>
      runInChildren({
        backend: 'mongo',
        uri: mongo.uri,
        db: `fidelity_${randomUUID().slice(0, 8)}`,
      }),
  },
  {
    core: 'redis',
    skip: redis.skipReason,
    run: () => runInChildren({ backend: 'redis', url: redis.server?.url ?? '' }),
  },
  {
    core: 'postgres',
    skip: postgres.skipReason,
    run: () => runInChildren({ backend: 'postgres', url: postgres.server?.url ?? '' }),
  },
];

const runs = new Map(
  cores.filter(({ skip }) => !skip).map(({ core, run }) => [core, settled(run())] as const),
);

async function reportsOf(core: string): Promise<Reports> {
  const outcome = await runs.get(core);
  if (!outcome) throw new Error(`no run for ${core}`);
  if ('error' in outcome) throw outcome.error;
  return outcome.reports;
}

for (const { core, skip } of cores) {
  describe.skipIf(skip !== undefined)(`fidelity table on the ${core} core`, () => {
    describe('arguments', () => {
      for (const row of ARGUMENT_ROWS) {
        const test = KNOWN_DISAGREEMENTS[`${core} arguments ${row.id}`] ? it.fails : it;
        test(`${row.id}: ${row.outcome}`, async () => {
          const reports = await reportsOf(core);
          for (const phase of ['store', 'reload'] as const) {
            const report = reports[phase].arguments[row.id];
            expect(report?.calls, `${phase}; messages: ${report?.messages.join(' | ')}`).toEqual(
              expectedArgumentCalls(row, phase),
            );
          }
        });
      }
    });
    describe('values', () => {
      for (const row of VALUE_ROWS) {
        const test = KNOWN_DISAGREEMENTS[`${core} values ${row.id}`] ? it.fails : it;
        test(`${row.id}: ${row.outcome}`, async () => {
          const reports = await reportsOf(core);
          for (const phase of ['store', 'reload'] as const) {
            expect(reports[phase].values[row.id], phase).toEqual(expectedValueReport(row, phase));
          }
        });
      }
    });
  });
}
