/**
 * The checks run after every chaos round: pure functions of what the round recorded, so
 * each is easy to read and to test.
 */
import { isDeepStrictEqual } from 'node:util';
import { functionNamed, thrownMessage, trueValue } from './catalogue.js';
import type { CallOutcome, Found, LogLine } from './protocol.js';

export type CheckName = 'value' | 'lost' | 'stuck' | 'leftovers' | 'once' | 'exit';

/** Every check, in the order of the summary table, with what it proves. */
export const CHECKS: readonly { name: CheckName; meaning: string }[] = [
  { name: 'value', meaning: 'every value (or error) a worker got is the true one for its key' },
  { name: 'lost', meaning: 'every value a calculation stored is read back from the cache' },
  {
    name: 'stuck',
    meaning: 'every call ends, and a dead owner’s key is calculable within the lease',
  },
  { name: 'leftovers', meaning: 'no .tmp or .lock of a live or ended worker stays behind' },
  { name: 'once', meaning: 'a key whose owner was not killed is calculated exactly once' },
  { name: 'exit', meaning: 'a worker asked to stop ends on its own (nothing keeps it alive)' },
];

export interface Violation {
  /** The round (1-based), or 0 for the end of the run. */
  round: number;
  check: CheckName;
  detail: string;
}

/** What one round recorded. */
export interface RoundRecord {
  round: number;
  /** Outcomes of the round's calls, as workers reported them. */
  outcomes: CallOutcome[];
  /** Outcomes of the verify pass, one call per key touched, after every worker settled. */
  verified: { outcome: CallOutcome; found: Found }[];
  /** The log lines of this round's keys. */
  log: LogLine[];
  /** Pids SIGKILLed during the round. */
  killed: ReadonlySet<number>;
  /** Workers that did not finish the round in time, described. */
  unfinished: string[];
  /** Longest a verify call may take: the lease, plus the slowest calculation, plus slack. */
  verifyLimitMs: number;
  /** Crash leftovers of live workers found once every worker settled (file core). */
  leftovers: string[];
}

/** What a round counts, for the summary table. */
export interface RoundCounts {
  calls: number;
  calculations: number;
  takeovers: number;
}

const pairId = (fn: string, key: string) => `${fn}(${key})`;

function checkValue(outcome: CallOutcome): string | undefined {
  const { fn, key } = outcome;
  if (functionNamed(fn).throws(key)) {
    if (outcome.ok)
      return `${pairId(fn, key)} must throw but returned ${JSON.stringify(outcome.value)}`;
    if (outcome.error !== thrownMessage(fn, key)) {
      return `${pairId(fn, key)} rejected with "${outcome.error}", not its own error`;
    }
    return undefined;
  }
  if (!outcome.ok) return `${pairId(fn, key)} rejected with "${outcome.error}"`;
  const expected = trueValue(fn, key);
  if (!isDeepStrictEqual(outcome.value, expected)) {
    return `${pairId(fn, key)} returned ${JSON.stringify(outcome.value)}, expected ${JSON.stringify(expected)}`;
  }
  return undefined;
}

/** Runs every per-round check; returns the violations and the round's counts. */
export function checkRound(record: RoundRecord): { violations: Violation[]; counts: RoundCounts } {
  const violations: Violation[] = [];
  const violate = (check: CheckName, detail: string) =>
    violations.push({ round: record.round, check, detail });

  for (const outcome of [...record.outcomes, ...record.verified.map((v) => v.outcome)]) {
    const problem = checkValue(outcome);
    if (problem) violate('value', problem);
  }

  // Stored by the round's calls: the verify pass must then find it (it may store what
  // only killed workers were calculating, which proves nothing about loss).
  const stored = new Set(
    record.log
      .filter((l) => l.kind === 'stored' && l.phase === 'round')
      .map((l) => pairId(l.fn, l.key)),
  );
  for (const { outcome, found } of record.verified) {
    const id = pairId(outcome.fn, outcome.key);
    if (stored.has(id) && found === 'miss') {
      const who = (kind: LogLine['kind']) =>
        record.log
          .filter((l) => l.kind === kind && pairId(l.fn, l.key) === id)
          .map((l) => `${l.pid}${record.killed.has(l.pid) ? ' (killed)' : ''} in ${l.phase}`)
          .join(', ');
      violate(
        'lost',
        `${id} was stored (by ${who('stored')}) but a later call found no entry ` +
          `(calculated by ${who('calc')}; the verify call took ${outcome.ms} ms)`,
      );
    }
  }
  const verifiedIds = new Set(record.verified.map((v) => pairId(v.outcome.fn, v.outcome.key)));
  for (const id of stored) {
    if (!verifiedIds.has(id))
      violate('lost', `${id} was stored but never read back (verify pass incomplete)`);
  }

  for (const description of record.unfinished) violate('stuck', description);
  for (const { outcome } of record.verified) {
    if (outcome.ms > record.verifyLimitMs) {
      violate(
        'stuck',
        `${pairId(outcome.fn, outcome.key)} took ${outcome.ms} ms after every owner ended (limit ${record.verifyLimitMs} ms)`,
      );
    }
  }

  for (const leftover of record.leftovers) violate('leftovers', leftover);

  const calcsByPair = new Map<string, LogLine[]>();
  for (const line of record.log) {
    if (line.kind !== 'calc') continue;
    const id = pairId(line.fn, line.key);
    calcsByPair.set(id, [...(calcsByPair.get(id) ?? []), line]);
  }
  const lostClaims = new Set(
    record.log.filter((l) => l.kind === 'claim-lost').map((l) => pairId(l.fn, l.key)),
  );
  let takeovers = 0;
  for (const id of verifiedIds) {
    const [fn = '', key = ''] = /^(.*)\((.*)\)$/.exec(id)?.slice(1) ?? [];
    const calcs = calcsByPair.get(id) ?? [];
    const byKilled = calcs.filter((c) => record.killed.has(c.pid));
    const bySurvivors = calcs.filter((c) => !record.killed.has(c.pid));
    if (byKilled.length > 0 && bySurvivors.length > 0) takeovers++;
    const f = functionNamed(fn);
    if (!f.exactlyOnce || f.throws(key)) continue;
    const expected = byKilled.length > 0 ? bySurvivors.length <= 1 : calcs.length === 1;
    if (!expected) {
      const pids = calcs.map((c) => `${c.pid}${record.killed.has(c.pid) ? ' (killed)' : ''}`);
      const note = lostClaims.has(id) ? '; an owner reported claim-lost' : '';
      violate('once', `${id} was calculated ${calcs.length} times, by ${pids.join(', ')}${note}`);
    }
  }

  return {
    violations,
    counts: {
      calls: record.outcomes.length + record.verified.length,
      calculations: record.log.filter((l) => l.kind === 'calc').length,
      takeovers,
    },
  };
}
