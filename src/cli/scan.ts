import type { Core, EntryInfo } from '../cores/contract.js';
import { UNSAFE_FOLDER } from '../cores/fileFolders.js';
import type { Progress } from './progress.js';

/** What a walk over one cache's entries found. */
export interface CacheSummary {
  entries: number;
  bytes: number;
  largest: number;
  oldest: number | undefined;
  newest: number | undefined;
}

/** Walks `name`'s entries without reading values, ticking `progress` per entry. */
export async function* walk(
  core: Core,
  name: string,
  progress?: Progress,
): AsyncIterable<EntryInfo> {
  if (core.list === undefined) {
    throw new Error(`the ${core.kind} core cannot list entries`);
  }
  for await (const info of core.list(name)) {
    progress?.entry();
    yield info;
  }
}

/** Counts, sizes and dates of `name`'s entries (optionally only those `pick` accepts). */
export async function summarize(
  core: Core,
  name: string,
  progress?: Progress,
): Promise<CacheSummary> {
  const summary: CacheSummary = {
    entries: 0,
    bytes: 0,
    largest: 0,
    oldest: undefined,
    newest: undefined,
  };
  for await (const info of walk(core, name, progress)) add(summary, info);
  return summary;
}

/** Adds one entry to a summary. */
export function add(summary: CacheSummary, info: EntryInfo): void {
  summary.entries++;
  summary.bytes += info.size;
  summary.largest = Math.max(summary.largest, info.size);
  if (summary.oldest === undefined || info.calculatedAt < summary.oldest)
    summary.oldest = info.calculatedAt;
  if (summary.newest === undefined || info.calculatedAt > summary.newest)
    summary.newest = info.calculatedAt;
}

/** Every cache name the store holds. */
export async function namesOf(core: Core): Promise<string[]> {
  if (core.names === undefined) throw new Error(`the ${core.kind} core cannot list cache names`);
  return core.names();
}

/**
 * One cache's share of a command over every cache; `undefined` when the file core refuses
 * that cache's folder (another user's, or writable by others): the cache is skipped with
 * a `note`, as the library skips it, instead of giving up on the others.
 */
export async function unlessRefused<T>(
  note: (text: string) => void,
  name: string,
  work: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    if ((error as { code?: unknown } | undefined)?.code !== UNSAFE_FOLDER) throw error;
    note(`skipped ${name}: ${(error as Error).message}`);
    return undefined;
  }
}
