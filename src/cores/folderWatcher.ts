import { type FSWatcher, watch } from 'node:fs';

type Listener = () => void;

interface WatchedFolder {
  watcher: FSWatcher | undefined;
  listeners: Map<string, Set<Listener>>;
  count: number;
}

/**
 * One `fs.watch` per folder, shared by every waiting call in this process (inotify
 * instances are limited: 200 waiting calls must not need 200 watchers). A listener
 * subscribes to one entry name; lock-folder and entry-file changes both reach it.
 * When watching is impossible, subscribers simply rely on their polling timers.
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
    const watched: WatchedFolder = { watcher: undefined, listeners: new Map(), count: 0 };
    this.folders.set(folder, watched);
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
    return watched;
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
    const entry = name.endsWith('.lock') ? name.slice(0, -'.lock'.length) : name;
    const set = watched.listeners.get(entry);
    if (set) for (const listener of [...set]) listener();
  }
}
