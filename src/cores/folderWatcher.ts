import { type FSWatcher, lstatSync, watch } from 'node:fs';
import { join } from 'node:path';

type Listener = () => void;

interface WatchedFolder {
  path: string;
  watcher: FSWatcher | undefined;
  listeners: Map<string, Set<Listener>>;
  count: number;
}

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
  private readonly folders = new Map<string, WatchedFolder>();

  /** Number of live `fs.watch` handles (for tests and diagnostics). */
  get activeWatchers(): number {
    let count = 0;
    for (const folder of this.folders.values()) if (folder.watcher) count++;
    return count;
  }

  /** Calls `listener` when `entry` (or its lock) in `folder` changes. Returns the unsubscribe. */
  subscribe(folder: string, entry: string, listener: Listener): () => void {
    const watched = this.folders.get(folder) ?? this.open(folder);
    // A watch that failed (the folder was missing, or went away) is tried again: the
    // folder may be there now.
    if (watched.watcher === undefined) this.watch(watched);
    let set = watched.listeners.get(entry);
    if (!set) {
      set = new Set();
      watched.listeners.set(entry, set);
    }
    set.add(listener);
    watched.count++;
    return () => {
      const current = watched.listeners.get(entry);
      if (!current?.delete(listener)) return;
      if (current.size === 0) watched.listeners.delete(entry);
      if (--watched.count === 0) this.close(folder, watched);
    };
  }

  private open(folder: string): WatchedFolder {
    const watched: WatchedFolder = {
      path: folder,
      watcher: undefined,
      listeners: new Map(),
      count: 0,
    };
    this.folders.set(folder, watched);
    return watched;
  }

  private watch(watched: WatchedFolder): void {
    const folder = watched.path;
    try {
      const watcher = watch(folder, { persistent: false }, (_event, filename) =>
        this.dispatch(watched, filename),
      );
      watcher.on('error', () => {
        // The folder went away or the OS stopped the watch: polling carries on alone.
        watcher.close();
        if (watched.watcher === watcher) watched.watcher = undefined;
      });
      watcher.unref();
      watched.watcher = watcher;
    } catch {
      // ENOSPC (inotify limit), ENOENT, EPERM: fall back to polling.
    }
  }

  private close(folder: string, watched: WatchedFolder): void {
    watched.watcher?.close();
    if (this.folders.get(folder) === watched) this.folders.delete(folder);
  }

  private dispatch(watched: WatchedFolder, filename: string | Buffer | null): void {
    if (filename === null) {
      for (const set of [...watched.listeners.values()])
        for (const listener of [...set]) listener();
      return;
    }
    const name = String(filename);
    const isLock = name.endsWith('.lock');
    const entry = isLock ? name.slice(0, -'.lock'.length) : name;
    const set = watched.listeners.get(entry);
    if (!set) return;
    // Linux reports a folder's mtime change as 'rename', like its removal: tell them apart
    // by looking. A lock folder that is there was refreshed or taken by another claimer;
    // neither is something a waiter can act on. Its removal is.
    if (isLock && lockExists(join(watched.path, name))) return;
    for (const listener of [...set]) listener();
  }
}
