import type { Claim, EntryInfo, StoredEntry } from '../../src/cores/contract.js';
import { MapCore, MapStore } from './mapCore.js';

export { MapStore };

interface Watcher {
  core: ReferenceCore;
  name: string;
  key: string;
  onChange: () => void;
}

const watchersOf = new WeakMap<MapStore, Set<Watcher>>();

function watchers(store: MapStore): Set<Watcher> {
  const set = watchersOf.get(store) ?? new Set<Watcher>();
  watchersOf.set(store, set);
  return set;
}

/**
 * The README's MapCore with every optional method: `subscribe` (called for sets and
 * releases made through another ReferenceCore of the store), `names` and `list`. The
 * kit's own tests run against it and against broken subclasses of it.
 */
export class ReferenceCore extends MapCore {
  override async set(name: string, key: string, entry: StoredEntry): Promise<void> {
    await super.set(name, key, entry);
    this.changed(name, key);
  }

  override async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    const claim = await super.tryClaim(name, key);
    if (!claim) return undefined;
    const owner = this.store.claims.get(name)?.get(key)?.owner;
    return {
      renew: () => claim.renew(),
      store: async (entry) => {
        if (this.store.claims.get(name)?.get(key)?.owner !== owner) return false;
        await this.set(name, key, entry);
        return true;
      },
      release: async () => {
        const held = this.store.claims.get(name)?.get(key);
        await claim.release();
        if (held && !this.store.claims.get(name)?.has(key)) this.changed(name, key);
      },
    };
  }

  subscribe(name: string, key: string, onChange: () => void): () => void {
    const watcher = { core: this, name, key, onChange };
    watchers(this.store).add(watcher);
    return () => watchers(this.store).delete(watcher);
  }

  async names(): Promise<string[]> {
    return [...this.store.records].filter(([, keys]) => keys.size > 0).map(([name]) => name);
  }

  async *list(name: string): AsyncIterable<EntryInfo> {
    for (const key of [...(this.store.records.get(name)?.keys() ?? [])]) {
      const entry = this.get(name, key);
      if (entry) yield { key, calculatedAt: entry.calculatedAt, size: entry.bytes.byteLength };
    }
  }

  /** Signals the other cores' subscriptions: a core's own changes are signalled by cachier. */
  private changed(name: string, key: string): void {
    for (const w of watchers(this.store)) {
      if (w.core !== this && w.name === name && w.key === key) queueMicrotask(w.onChange);
    }
  }
}
