import { type CommandContext, describeStore, storeOf } from '../context.js';
import { deleteEntries } from '../deletion.js';
import { usageError } from '../exitCodes.js';
import { isoOrNull } from '../format.js';
import { resolveName } from '../resolveName.js';
import { namesOf } from '../scan.js';
import type { StoreDescription } from '../store.js';

/** `cachier clear NAME --json`. */
export interface ClearJson {
  store: StoreDescription;
  name: string;
  /** Entries calculated before this were deleted (ISO 8601); `null`: every entry. */
  cutoff: string | null;
  dryRun: boolean;
  /** Entries deleted (dry run: that would be). */
  deleted: number;
  /** Entries left. */
  remaining: number;
}

/** The flags of `cachier clear`. */
export interface ClearFlags {
  staleOnly?: boolean;
  staleAfter?: number;
  olderThan?: number;
  dryRun?: boolean;
}

/**
 * `cachier clear NAME [--stale-only --stale-after D | --older-than D] [--dry-run]`.
 * The store does not record a wrapper's `staleAfter`, so `--stale-only` needs it given.
 */
export async function clear(context: CommandContext, requested: string, flags: ClearFlags) {
  const age = chosenAge(flags);
  const { core } = context.store;
  const name = resolveName(requested, await namesOf(core), describeStore(storeOf(context)));
  const cutoff = age === undefined ? undefined : context.now - age;
  const dryRun = flags.dryRun === true;
  const progress = context.progress(1);
  let result: Awaited<ReturnType<typeof deleteEntries>>;
  try {
    result = await deleteEntries(core, name, { cutoff, dryRun, progress });
    progress.cacheDone();
  } finally {
    progress.done();
  }
  if (context.json) {
    context.printJson({
      store: storeOf(context),
      name,
      cutoff: isoOrNull(cutoff),
      dryRun,
      ...result,
    } satisfies ClearJson);
    return;
  }
  const which = cutoff === undefined ? '' : ' older than the cutoff';
  const verb = dryRun ? 'would delete' : 'deleted';
  context.print(
    `${verb} ${plural(result.deleted, 'entry', 'entries')}${which} from ${name}; ${result.remaining} ${dryRun ? 'would be ' : ''}left`,
  );
}

function chosenAge(flags: ClearFlags): number | undefined {
  if (flags.staleOnly && flags.olderThan !== undefined) {
    throw usageError('--stale-only and --older-than are two ways to say one thing: give one');
  }
  if (flags.staleOnly) {
    if (flags.staleAfter === undefined) {
      throw usageError(
        "--stale-only needs --stale-after <duration>: the store does not record the wrapper's staleAfter",
      );
    }
    return flags.staleAfter;
  }
  if (flags.staleAfter !== undefined) throw usageError('--stale-after goes with --stale-only');
  return flags.olderThan;
}

/** `1 entry`, `3 entries`. */
export function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
