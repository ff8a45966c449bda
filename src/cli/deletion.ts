import type { Core } from '../cores/contract.js';
import type { Progress } from './progress.js';
import { walk } from './scan.js';

/** What deleting from one cache did (or, in a dry run, would do). */
export interface DeletionResult {
  /** Entries that were there before and are gone (dry run: that would go). */
  deleted: number;
  /** Entries left in the cache. */
  remaining: number;
}

/**
 * Deletes `name`'s entries calculated before `cutoff` (every entry when undefined)
 * through the core (`deleteStale` / `clear`), and counts from the entries seen before and
 * after rather than trusting its own filter, so the counts say what really happened. A
 * dry run only counts the entries older than the cutoff.
 */
export async function deleteEntries(
  core: Core,
  name: string,
  options: { cutoff: number | undefined; dryRun: boolean; progress?: Progress },
): Promise<DeletionResult> {
  const { cutoff, dryRun, progress } = options;
  const before = new Map<string, number>();
  let doomed = 0;
  for await (const info of walk(core, name, progress)) {
    before.set(info.key, info.calculatedAt);
    if (cutoff === undefined || info.calculatedAt < cutoff) doomed++;
  }
  if (dryRun) return { deleted: doomed, remaining: before.size - doomed };
  if (cutoff === undefined) await core.clear(name);
  else await core.deleteStale(name, cutoff);
  let remaining = 0;
  let kept = 0;
  for await (const info of walk(core, name)) {
    remaining++;
    if (before.get(info.key) === info.calculatedAt) kept++;
  }
  return { deleted: before.size - kept, remaining };
}
