import { type CommandContext, describeStore, storeOf } from '../context.js';
import { deleteEntries } from '../deletion.js';
import { table } from '../format.js';
import { namesOf, unlessRefused } from '../scan.js';
import type { StoreDescription } from '../store.js';
import { plural } from './clear.js';

/** `cachier prune --json`. */
export interface PruneJson {
  store: StoreDescription;
  /** `--older-than` in ms. */
  olderThanMs: number;
  /** Entries calculated before this were deleted (ISO 8601). */
  cutoff: string;
  dryRun: boolean;
  /** Entries deleted over all caches (dry run: that would be). */
  deleted: number;
  caches: { name: string; deleted: number; remaining: number }[];
}

/** `cachier prune [--older-than D] [--dry-run]`: deletes old entries of every cache. */
export async function prune(
  context: CommandContext,
  flags: { olderThan: number; dryRun?: boolean },
): Promise<void> {
  const { core } = context.store;
  const names = await namesOf(core);
  const cutoff = context.now - flags.olderThan;
  const dryRun = flags.dryRun === true;
  const progress = context.progress(names.length);
  const caches: PruneJson['caches'] = [];
  try {
    for (const name of names) {
      try {
        const deleted = await unlessRefused(context.note, name, () =>
          deleteEntries(core, name, { cutoff, dryRun, progress }),
        );
        if (deleted !== undefined) caches.push({ name, ...deleted });
      } finally {
        progress.cacheDone();
      }
    }
  } finally {
    progress.done();
  }
  const deleted = caches.reduce((sum, cache) => sum + cache.deleted, 0);
  if (context.json) {
    context.printJson({
      store: storeOf(context),
      olderThanMs: flags.olderThan,
      cutoff: new Date(cutoff).toISOString(),
      dryRun,
      deleted,
      caches,
    } satisfies PruneJson);
    return;
  }
  if (names.length === 0) {
    context.print(`no caches in ${describeStore(storeOf(context))}`);
    return;
  }
  const header = dryRun
    ? ['NAME', 'WOULD DELETE', 'WOULD REMAIN']
    : ['NAME', 'DELETED', 'REMAINING'];
  context.print(
    table(
      header,
      caches.map((cache) => [cache.name, String(cache.deleted), String(cache.remaining)]),
    ),
  );
  context.print(
    `${dryRun ? 'would delete' : 'deleted'} ${plural(deleted, 'entry', 'entries')} calculated before ${new Date(cutoff).toISOString()} in ${describeStore(storeOf(context))}`,
  );
}
