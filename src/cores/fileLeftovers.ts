import { lstat } from 'node:fs/promises';
import { kindOfName, tempWriter } from './fileNames.js';
import { isWriterGone, reapIfDead, STUCK_CLAIM } from './fileOwners.js';
import { removeName } from './fileWrite.js';

/** A temp file untouched this long belongs to a writer that is gone. */
export const TEMP_FILE_MAX_AGE_MS = 10 * 60_000;

/**
 * Removes a crash leftover at `path` (named `file`) if it is provably dead: a temp file
 * whose writer's process is gone (same machine) or that nobody touched for 10 minutes; a
 * claim folder whose owner's process is gone (same machine) or whose lease ran out.
 * Anything live is left alone; nothing is followed through a symlink.
 *
 * @example
 * for (const file of await readdir(folder)) await removeIfDead(join(folder, file), file, 10_000);
 */
export async function removeIfDead(path: string, file: string, leaseMs: number): Promise<void> {
  const kind = kindOfName(file);
  if (kind === 'lock') {
    await reapIfDead(path, leaseMs).catch(leaveStuckAlone);
    return;
  }
  if (kind !== 'temp') return;
  const info = await lstat(path).catch(() => undefined);
  if (!info) return;
  const writer = tempWriter(file);
  const gone =
    !info.isFile() ||
    (writer !== undefined && isWriterGone(writer.pid, writer.hostTag)) ||
    info.mtimeMs < Date.now() - TEMP_FILE_MAX_AGE_MS;
  if (gone) await removeName(path);
}

/** A lapsed claim folder holding someone else's files is left alone, like any foreign file. */
function leaveStuckAlone(error: unknown): void {
  if ((error as { code?: unknown } | undefined)?.code !== STUCK_CLAIM) throw error;
}
