import { type FSWatcher, lstatSync, watch } from 'node:fs';
import { basename, join } from 'node:path';
import { Waiters, type Wake } from './waiters.js';

function lockExists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

/**
 * One `fs.watch` per folder, shared by every waiting call in this process (inotify
 * instances are limited: 200 waiting calls must not need 200 watchers). A listener
 * subscribes to one entry name; entry-file changes and a lock folder's removal (the
 * claim's release) reach it. A lock folder's mtime refresh (its holder keeping the claim
 * alive) does not: it changes nothing a waiter can act on, and waking every waiter in
 * every process on each refresh kept their polls in step. When watching is impossible,
 * subscribers rely on polling, and the next subscribe to the folder tries again.
 */
export class FolderWatchers {
  /** The watch of each folder with subscribers; `undefined` while watching it failed. */
  private readonly watchers = new Map<string, FSWatcher | undefined>();
  private readonly waiters = new Waiters({ onGroupEmpty: (folder) => this.close(folder) });

  /** Number of live `fs.watch` handles (for tests and diagnostics). */
  get activeWatchers(): number {
    let count = 0;
    for (const watcher of this.watchers.values()) if (watcher) count++;
    return count;
  }

  /** Calls `listener` when `entry` (or its lock) in `folder` changes. Returns the unsubscribe. */
  subscribe(folder: string, entry: string, listener: Wake): () => void {
    // A watch that failed (the folder was missing, or went away) is tried again: the
    // folder may be there now.
    if (this.watchers.get(folder) === undefined) this.watch(folder);
    return this.waiters.add(folder, entry, listener);
  }

  private watch(folder: string): void {
    this.watchers.set(folder, undefined);
    try {
      const watcher = watch(folder, { persistent: false }, (_event, filename) =>
        this.dispatch(folder, filename),
      );
      watcher.on('error', () => {
        // The folder went away or the OS stopped the watch: polling carries on alone.
        watcher.close();
        if (this.watchers.get(folder) === watcher) this.watchers.set(folder, undefined);
      });
      watcher.unref();
      this.watchers.set(folder, watcher);
    } catch {
      // ENOSPC (inotify limit), ENOENT, EPERM: fall back to polling.
    }
  }

  private close(folder: string): void {
    this.watchers.get(folder)?.close();
    this.watchers.delete(folder);
  }

  private dispatch(folder: string, filename: string | Buffer | null): void {
    if (filename === null) {
      this.waiters.wakeGroup(folder);
      return;
    }
    const name = String(filename);
    if (name === basename(folder)) {
      // The watched folder itself was deleted or moved (Linux names it so, and reports no
      // error): this watch sees nothing more, even once the folder is made again. Drop it,
      // so the next subscribe watches anew, and wake the waiters (a lock went with it).
      this.close(folder);
      this.watchers.set(folder, undefined);
      this.waiters.wakeGroup(folder);
      return;
    }
    const isLock = name.endsWith('.lock');
    const entry = isLock ? name.slice(0, -'.lock'.length) : name;
    if (!this.waiters.has(folder, entry)) return;
    // Linux reports a folder's mtime change as 'rename', like its removal: tell them apart
    // by looking. A lock folder that is there was refreshed or taken by another claimer;
    // neither is something a waiter can act on. Its removal is.
    if (isLock && lockExists(join(folder, name))) return;
    this.waiters.wake(folder, entry);
  }
}
