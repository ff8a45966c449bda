import { type CommandContext, describeStore, storeOf } from '../context.js';
import { formatAge, formatBytes, isoOrNull, pairs, tilde } from '../format.js';
import { resolveName } from '../resolveName.js';
import { add, type CacheSummary, namesOf, walk } from '../scan.js';
import type { StoreDescription } from '../store.js';

/** `cachier stats NAME --json`. */
export interface StatsJson {
  store: StoreDescription;
  name: string;
  /** The cache's folder (file core, `~` for the home folder), else `null`. */
  location: string | null;
  entries: number;
  bytes: number;
  /** The largest entry's size in bytes (0 when there is none). */
  largest: number;
  oldest: string | null;
  newest: string | null;
  /** `--stale-after` in ms, `null` when not given. */
  staleAfterMs: number | null;
  /** Entries calculated more than `--stale-after` ago, `null` when not given. */
  stale: number | null;
}

/** `cachier stats NAME [--stale-after D]`. */
export async function stats(
  context: CommandContext,
  requested: string,
  options: { staleAfter?: number },
): Promise<void> {
  const { core } = context.store;
  const name = resolveName(requested, await namesOf(core), describeStore(storeOf(context)));
  const summary: CacheSummary = {
    entries: 0,
    bytes: 0,
    largest: 0,
    oldest: undefined,
    newest: undefined,
  };
  const cutoff = options.staleAfter === undefined ? undefined : context.now - options.staleAfter;
  let stale = 0;
  const progress = context.progress(1);
  try {
    for await (const info of walk(core, name, progress)) {
      add(summary, info);
      if (cutoff !== undefined && info.calculatedAt < cutoff) stale++;
    }
    progress.cacheDone();
  } finally {
    progress.done();
  }
  const folder = core.location?.(name);
  const result: StatsJson = {
    store: storeOf(context),
    name,
    location: folder === undefined ? null : tilde(folder),
    entries: summary.entries,
    bytes: summary.bytes,
    largest: summary.largest,
    oldest: isoOrNull(summary.oldest),
    newest: isoOrNull(summary.newest),
    staleAfterMs: options.staleAfter ?? null,
    stale: cutoff === undefined ? null : stale,
  };
  if (context.json) {
    context.printJson(result);
    return;
  }
  const rows: [string, string][] = [
    ['name', name],
    ['store', describeStore(result.store)],
    ...(result.location === null ? [] : [['folder', result.location] as [string, string]]),
    ['entries', String(result.entries)],
    ['size', `${formatBytes(result.bytes)} (largest entry ${formatBytes(result.largest)})`],
    ['oldest', dated(summary.oldest, context.now)],
    ['newest', dated(summary.newest, context.now)],
    ...(result.stale === null
      ? []
      : [
          ['stale', `${result.stale} of ${result.entries} (older than --stale-after)`] as [
            string,
            string,
          ],
        ]),
  ];
  context.print(pairs(rows));
}

function dated(epochMs: number | undefined, now: number): string {
  return epochMs === undefined
    ? '-'
    : `${formatAge(epochMs, now)} (${new Date(epochMs).toISOString()})`;
}
