/**
 * Runs chaos rounds on one core: worker processes call the catalogue's functions on a
 * random mix of a round's keys while the driver SIGKILLs some of them and starts new
 * ones; after every round it verifies the stored keys and runs the checks.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FUNCTIONS, functionNamed, roundKey } from './catalogue.js';
import { CHECKS, type CheckName, checkRound, type Violation } from './checks.js';
import { findLeftovers } from './leftovers.js';
import {
  type BreakMode,
  type CallOutcome,
  type CoreName,
  type Found,
  type LogLine,
  type PlannedCall,
  parseLogLines,
  type StoreSpec,
} from './protocol.js';
import { seededRandom } from './random.js';
import { openStore } from './stores.js';
import { Worker, within } from './workers.js';

export interface ChaosOptions {
  rounds: number;
  workers: number;
  seed: number;
  /** Stop after the first round with a violation. */
  failFast: boolean;
  /** Claim lease of every core, instead of the short defaults of stores.ts. */
  leaseMs?: number;
  break?: BreakMode;
  /** Called after every round (the progress bar). */
  onRound?: (core: CoreName, round: number, violations: number) => void;
}

/** One row of the summary table. */
export interface CoreSummary {
  core: CoreName;
  rounds: number;
  calls: number;
  calculations: number;
  kills: number;
  takeovers: number;
  violations: Record<CheckName, number>;
  /** The first violations, for the report (all are counted). */
  examples: Violation[];
  seconds: number;
}

export type CoreResult = CoreSummary | { core: CoreName; skipped: string };

/** Keys per function in a round: few, so that calls collide. */
const KEYS_PER_ROUND = 4;
/** Calls each worker makes per round: a random count in [MIN, MIN + SPREAD). */
const CALLS_MIN = 3;
const CALLS_SPREAD = 4;
/** Calls start within this many ms of the round's start. */
const CALL_SPREAD_MS = 200;
/** Chance that a round kills a worker, and that it kills a second one. */
const KILL_CHANCE = 0.5;
const SECOND_KILL_CHANCE = 0.15;
const SLACK_MS = 5000;
const START_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 10_000;
const MAX_EXAMPLES = 20;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Reads what was appended to the log since the last read. */
class LogReader {
  private offset = 0;
  constructor(readonly path: string) {}

  readNew(): LogLine[] {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      return [];
    }
    if (size <= this.offset) return [];
    const buffer = Buffer.alloc(size - this.offset);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, this.offset);
    } finally {
      closeSync(fd);
    }
    // Only whole lines: a line being written stays for the next read.
    const text = buffer.toString('utf8');
    const end = text.lastIndexOf('\n') + 1;
    this.offset += Buffer.byteLength(text.slice(0, end));
    return parseLogLines(text.slice(0, end));
  }
}

function maxCalcMs(): number {
  let max = 0;
  for (let i = 0; i < 200; i++) {
    for (const f of FUNCTIONS) max = Math.max(max, f.calcMs(`probe${i}`));
  }
  return max;
}

function emptyViolations(): Record<CheckName, number> {
  return Object.fromEntries(CHECKS.map((c) => [c.name, 0])) as Record<CheckName, number>;
}

/** Runs the chaos rounds on `core`; resolves with its summary row (or why it was skipped). */
export async function runChaos(core: CoreName, options: ChaosOptions): Promise<CoreResult> {
  const store = await openStore(core, options.leaseMs);
  if (!store.spec) return { core, skipped: store.skipReason };
  const work = mkdtempSync(join(tmpdir(), 'cachier-chaos-log-'));
  try {
    return await new ChaosRun(core, store.spec, join(work, 'calculations.log'), options).run();
  } finally {
    await store.close();
    rmSync(work, { recursive: true, force: true });
  }
}

class ChaosRun {
  private readonly workers: Worker[] = [];
  private readonly log: LogReader;
  private readonly summary: CoreSummary;
  private readonly slowest = maxCalcMs();

  constructor(
    private readonly core: CoreName,
    private readonly spec: StoreSpec,
    private readonly logPath: string,
    private readonly options: ChaosOptions,
  ) {
    this.log = new LogReader(logPath);
    this.summary = {
      core,
      rounds: 0,
      calls: 0,
      calculations: 0,
      kills: 0,
      takeovers: 0,
      violations: emptyViolations(),
      examples: [],
      seconds: 0,
    };
  }

  async run(): Promise<CoreSummary> {
    const started = Date.now();
    try {
      for (let i = 0; i < this.options.workers; i++) this.startWorker();
      for (let round = 1; round <= this.options.rounds; round++) {
        const violations = await this.round(round);
        this.summary.rounds = round;
        this.record(violations);
        this.options.onRound?.(this.core, round, this.totalViolations());
        if (this.options.failFast && violations.length > 0) break;
      }
      this.record(await this.finish());
    } finally {
      for (const worker of this.workers) worker.kill();
      this.summary.seconds = (Date.now() - started) / 1000;
    }
    return this.summary;
  }

  private totalViolations(): number {
    return Object.values(this.summary.violations).reduce((a, b) => a + b, 0);
  }

  private record(violations: Violation[]): void {
    for (const violation of violations) {
      this.summary.violations[violation.check]++;
      if (this.summary.examples.length < MAX_EXAMPLES) this.summary.examples.push(violation);
    }
  }

  private startWorker(): Worker {
    const worker = new Worker({ store: this.spec, log: this.logPath, break: this.options.break });
    this.workers.push(worker);
    return worker;
  }

  private live(): Worker[] {
    return this.workers.filter((w) => w.alive);
  }

  /** The ready workers, waiting (for workers still starting) until there are at least two. */
  private async participants(): Promise<Worker[]> {
    const wanted = Math.min(2, this.options.workers);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const ready = this.live().filter((w) => w.isReady);
      if (ready.length >= wanted) return ready;
      if (Date.now() > deadline) {
        const stderr = this.workers.map((w) => w.stderr).join('\n');
        throw new Error(`chaos: workers did not start within ${START_TIMEOUT_MS} ms\n${stderr}`);
      }
      while (this.live().length < this.options.workers) this.startWorker();
      // Only workers still starting: a resolved `ready` would make this loop spin.
      const starting = this.live().filter((w) => !w.isReady);
      await Promise.race([...starting.map((w) => w.ready), sleep(1000)]);
    }
  }

  private async round(round: number): Promise<Violation[]> {
    const random = seededRandom(this.options.seed, this.core, round);
    const participants = await this.participants();
    const plans = new Map<Worker, PlannedCall[]>();
    for (const worker of participants) {
      const count = CALLS_MIN + random.int(CALLS_SPREAD);
      const calls = Array.from({ length: count }, () => ({
        fn: random.pick(FUNCTIONS).name,
        key: roundKey(round, random.int(KEYS_PER_ROUND)),
        atMs: random.int(CALL_SPREAD_MS),
      }));
      plans.set(worker, calls);
    }
    const victims: { worker: Worker; atMs: number }[] = [];
    if (random.next() < KILL_CHANCE) {
      const shuffled = [...participants].sort(() => random.next() - 0.5);
      const count = random.next() < SECOND_KILL_CHANCE ? 2 : 1;
      for (const worker of shuffled.slice(0, Math.min(count, participants.length - 1))) {
        victims.push({ worker, atMs: 30 + random.int(420) });
      }
    }

    const outcomes: CallOutcome[] = [];
    const killed = new Set<number>();
    const done = new Set<Worker>();
    const unlisten = participants.map((worker) =>
      worker.listen((message) => {
        if ('round' in message && message.round !== round) return;
        if (message.type === 'outcome') outcomes.push(message.outcome);
        if (message.type === 'round-done') done.add(worker);
      }),
    );
    const roundEnded = () => participants.every((w) => done.has(w) || !w.alive);
    const timers = victims.map(({ worker, atMs }) =>
      setTimeout(() => {
        if (!worker.alive || done.has(worker)) return;
        worker.kill();
        killed.add(worker.pid);
        this.summary.kills++;
        this.startWorker();
      }, atMs),
    );
    for (const [worker, calls] of plans) worker.send({ type: 'round', round, calls });

    const allowedMs = CALL_SPREAD_MS + this.spec.leaseMs + 3 * this.slowest + SLACK_MS;
    const deadline = Date.now() + allowedMs;
    while (!roundEnded() && Date.now() < deadline) await sleep(10);
    for (const timer of timers) clearTimeout(timer);
    const unfinished: string[] = [];
    for (const worker of participants) {
      if (done.has(worker) || !worker.alive) continue;
      const got = new Set(outcomes.map((o) => `${o.fn}(${o.key})`));
      const pending = (plans.get(worker) ?? []).filter((c) => !got.has(`${c.fn}(${c.key})`));
      unfinished.push(
        `worker ${worker.pid} did not finish its calls within ${allowedMs} ms; still pending: ${pending.map((c) => `${c.fn}(${c.key})`).join(', ')}`,
      );
      worker.kill();
      killed.add(worker.pid);
      this.startWorker();
    }
    // Wait for the killed workers to be gone, so that their pids are provably dead.
    await Promise.all(participants.filter((w) => w.killed).map((w) => w.exited));
    for (const stop of unlisten) stop();

    const verifyLimitMs = this.spec.leaseMs + this.slowest + SLACK_MS;
    const verified = await this.verify(round, plans, verifyLimitMs, unfinished);
    const leftovers = this.liveLeftovers();
    const log = this.log.readNew().filter((l) => l.key.startsWith(`r${round}k`));
    const { violations, counts } = checkRound({
      round,
      outcomes,
      verified,
      log,
      killed,
      unfinished,
      verifyLimitMs,
      leftovers,
    });
    this.summary.calls += counts.calls;
    this.summary.calculations += counts.calculations;
    this.summary.takeovers += counts.takeovers;
    return violations;
  }

  /** Calls every non-throwing key of the round once more, from one surviving worker. */
  private async verify(
    round: number,
    plans: Map<Worker, PlannedCall[]>,
    limitMs: number,
    unfinished: string[],
  ): Promise<{ outcome: CallOutcome; found: Found }[]> {
    const pairs = new Map<string, { fn: string; key: string }>();
    for (const calls of plans.values()) {
      for (const { fn, key } of calls) {
        if (!functionNamed(fn).throws(key)) pairs.set(`${fn}(${key})`, { fn, key });
      }
    }
    const verified: { outcome: CallOutcome; found: Found }[] = [];
    if (pairs.size === 0) return verified;
    const [verifier] = await this.participants();
    if (!verifier) return verified;
    let finished = false;
    const stop = verifier.listen((message) => {
      if (message.type === 'verified' && message.round === round) verified.push(message);
      if (message.type === 'round-done' && message.round === round) finished = true;
    });
    verifier.send({ type: 'verify', round, calls: [...pairs.values()] });
    const deadline = Date.now() + pairs.size * limitMs;
    while (!finished && verifier.alive && Date.now() < deadline) await sleep(10);
    stop();
    if (!finished) {
      unfinished.push(
        `verifier ${verifier.pid} did not finish ${pairs.size} calls in ${pairs.size * limitMs} ms (${verified.length} done)`,
      );
      verifier.kill();
      await verifier.exited;
      this.startWorker();
    }
    return verified;
  }

  /** Temp files and claims of workers that are alive and idle: leaks, never crash leftovers. */
  private liveLeftovers(): string[] {
    if (this.spec.core !== 'file') return [];
    const live = new Set(this.live().map((w) => w.pid));
    return findLeftovers(this.spec.cacheDir)
      .filter((l) => l.pid !== undefined && live.has(l.pid))
      .map((l) => `${l.path} of live, idle worker ${l.pid}`);
  }

  /**
   * Ends every worker (each must exit on its own), then, on the file core, lets one fresh
   * process make a miss in every function folder (its claims sweep dead owners' leftovers)
   * and requires the cache folder to hold no `.tmp` or `.lock` at all.
   */
  private async finish(): Promise<Violation[]> {
    const violations: Violation[] = [];
    const stopAll = async (workers: Worker[]) => {
      for (const worker of workers) worker.send({ type: 'exit' });
      await Promise.all(
        workers.map(async (worker) => {
          const exit = await within(worker.exited, EXIT_TIMEOUT_MS, undefined);
          if (exit) return;
          violations.push({
            round: 0,
            check: 'exit',
            detail: `worker ${worker.pid} did not exit within ${EXIT_TIMEOUT_MS} ms of its last call`,
          });
          worker.kill();
        }),
      );
    };
    // Workers still starting are stopped once ready, so each one's exit is judged the same way.
    await Promise.all(this.live().map((w) => within(w.ready, START_TIMEOUT_MS, false)));
    await stopAll(this.live());
    if (this.spec.core !== 'file') return violations;

    const janitor = this.startWorker();
    if (await within(janitor.ready, START_TIMEOUT_MS, false)) {
      let finished = false;
      const stop = janitor.listen((message) => {
        if (message.type === 'round-done') finished = true;
      });
      const calls = FUNCTIONS.map((f) => ({ fn: f.name, key: 'sweep', atMs: 0 }));
      janitor.send({ type: 'round', round: this.options.rounds + 1, calls });
      const deadline = Date.now() + this.spec.leaseMs + this.slowest + SLACK_MS;
      while (!finished && janitor.alive && Date.now() < deadline) await sleep(10);
      stop();
      await stopAll([janitor]);
    }
    for (const leftover of findLeftovers(this.spec.cacheDir)) {
      violations.push({
        round: 0,
        check: 'leftovers',
        detail: `${leftover.path} (pid ${leftover.pid ?? 'unknown'}) remains after every worker ended and a fresh process made a miss in its folder`,
      });
    }
    return violations;
  }
}
