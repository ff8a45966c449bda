import { type CommandContext, describeStore, storeOf } from '../context.js';
import { formatAge, formatBytes, isoOrNull, table } from '../format.js';
import { namesOf, summarize, unlessRefused } from '../scan.js';
import type { StoreDescription } from '../store.js';

/** `cachier ls --json`. */
export interface LsJson {
  store: StoreDescription;
  caches: {
    name: string;
    entries: number;
    bytes: number;
    /** ISO 8601, `null` when the cache has no entries. */
    oldest: string | null;
    newest: string | null;
  }[];
}

/** `cachier ls`: every cache in the store with its entry count, size, oldest and newest entry. */
export async function ls(context: CommandContext): Promise<void> {
  const { core } = context.store;
  const names = await namesOf(core);
  const progress = context.progress(names.length);
  const caches: LsJson['caches'] = [];
  const rows: string[][] = [];
  try {
    for (const name of names) {
      let summary: Awaited<ReturnType<typeof summarize>> | undefined;
      try {
        summary = await unlessRefused(context.note, name, () => summarize(core, name, progress));
      } finally {
        progress.cacheDone();
      }
      if (summary === undefined) continue;
      caches.push({
        name,
        entries: summary.entries,
        bytes: summary.bytes,
        oldest: isoOrNull(summary.oldest),
        newest: isoOrNull(summary.newest),
      });
      rows.push([
        name,
        String(summary.entries),
        formatBytes(summary.bytes),
        formatAge(summary.oldest, context.now),
        formatAge(summary.newest, context.now),
      ]);
    }
  } finally {
    progress.done();
  }
  if (context.json) {
    context.printJson({ store: storeOf(context), caches } satisfies LsJson);
    return;
  }
  if (names.length === 0) {
    context.print(`no caches in ${describeStore(storeOf(context))}`);
    return;
  }
  context.print(describeStore(storeOf(context)));
  context.print(table(['NAME', 'ENTRIES', 'SIZE', 'OLDEST', 'NEWEST'], rows));
}
