/**
 * What the chaos driver and its worker processes say to each other over IPC, and the
 * lines workers append to the shared log.
 */

/** A store described in JSON, so that every worker builds its own core for it. */
export type StoreSpec =
  | { core: 'file'; cacheDir: string; leaseMs: number }
  | { core: 'mongo'; uri: string; db: string; collection: string; leaseMs: number }
  | { core: 'redis'; url: string; prefix: string; leaseMs: number }
  | { core: 'postgres'; url: string; table: string; leaseMs: number };

export type CoreName = StoreSpec['core'];
export const CORE_NAMES: readonly CoreName[] = ['file', 'mongo', 'redis', 'postgres'];

/**
 * Deliberate faults, for proving that the checks catch what they claim to catch:
 * `wrong-value` makes the wrapped functions return another key's value; `grant-all`
 * wraps the core in one whose `tryClaim` always grants, so processes calculate side by side.
 */
export type BreakMode = 'wrong-value' | 'grant-all';
export const BREAK_MODES: readonly BreakMode[] = ['wrong-value', 'grant-all'];

/** What a worker is started with (its one command-line argument, as JSON). */
export interface WorkerConfig {
  store: StoreSpec;
  /** The shared append-only log of calculations and stores. */
  log: string;
  break?: BreakMode;
}

/** One call a worker makes in a round. */
export interface PlannedCall {
  fn: string;
  key: string;
  /** Milliseconds after the round starts. */
  atMs: number;
}

export type DriverMessage =
  | { type: 'round'; round: number; calls: PlannedCall[] }
  | { type: 'verify'; round: number; calls: { fn: string; key: string }[] }
  | { type: 'exit' };

/** How one call ended, as the worker saw it. */
export type CallOutcome =
  | { fn: string; key: string; ok: true; value: unknown; ms: number }
  | { fn: string; key: string; ok: false; error: string; ms: number };

/** How a verify call found its key: in the cache (fresh or stale) or not. */
export type Found = 'hit' | 'stale' | 'miss';

export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'outcome'; round: number; outcome: CallOutcome }
  | { type: 'round-done'; round: number }
  | { type: 'verified'; round: number; outcome: CallOutcome; found: Found };

/**
 * One line of the shared log, written with `appendFileSync` (O_APPEND: lines from several
 * processes never interleave): `calc` when a calculation starts, `stored` when cachier
 * stored its value, `claim-lost` when an owner lost its claim. Tab-separated.
 */
export interface LogLine {
  kind: 'calc' | 'stored' | 'claim-lost' | 'store-error';
  /** Whether it happened during the round's calls or during the verify pass after them. */
  phase: 'round' | 'verify';
  fn: string;
  key: string;
  pid: number;
}

export function formatLogLine(line: LogLine): string {
  return `${line.kind}\t${line.phase}\t${line.fn}\t${line.key}\t${line.pid}\n`;
}

export function parseLogLines(text: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const row of text.split('\n')) {
    const [kind, phase, fn, key, pid] = row.split('\t');
    if (!kind || !phase || !fn || !key || !pid) continue;
    lines.push({
      kind: kind as LogLine['kind'],
      phase: phase as LogLine['phase'],
      fn,
      key,
      pid: Number(pid),
    });
  }
  return lines;
}
