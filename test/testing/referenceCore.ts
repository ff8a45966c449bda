import { randomUUID } from 'node:crypto';
import type { Claim, Core, EntryInfo, StoredEntry } from '../../src/cores/contract.js';
import { CorruptEntryError } from '../../src/errors.js';

/**
 * One in-memory store. Every MapCore over the same store sees the same entries and
 * claims, as processes sharing a database would.
 */
export class MapStore {
  /** name → key → record: calculatedAt as a float64, then the entry's bytes. */
  readonly records = new Map<string, Map<string, Uint8Array>>();
  /** name → key → the claim's owner and when its lease ends (epoch ms). */
  readonly claims = new Map<string, Map<string, { owner: string; until: number }>>();
  /** Subscriptions, each tagged with the core that made it. */
  readonly watchers = new Set<{ core: MapCore; name: string; key: string; onChange: () => void }>();
}

function slot<V>(byName: Map<string, Map<string, V>>, name: string): Map<string, V> {
  const byKey = byName.get(name) ?? new Map<string, V>();
  byName.set(name, byKey);
  return byKey;
}

/** A complete cachier core in memory: entries as encoded records, leased claims, change signals. */
export class MapCore implements Core {
  readonly kind = 'map';
  readonly store: MapStore;
  readonly leaseMs: number;

  constructor(options: { store?: MapStore; leaseMs?: number | undefined } = {}) {
    this.store = options.store ?? new MapStore();
    this.leaseMs = options.leaseMs ?? 10_000;
  }

  get(name: string, key: string): StoredEntry | undefined {
    const record = this.store.records.get(name)?.get(key);
    if (record === undefined) return undefined;
    if (record.byteLength < 8) throw new CorruptEntryError(`entry ${key} of ${name} is truncated`);
    const calculatedAt = new DataView(record.buffer, record.byteOffset).getFloat64(0);
    return { calculatedAt, bytes: record.slice(8) };
  }

  async set(name: string, key: string, entry: StoredEntry): Promise<void> {
    const record = new Uint8Array(8 + entry.bytes.byteLength);
    new DataView(record.buffer).setFloat64(0, entry.calculatedAt);
    record.set(entry.bytes, 8);
    slot(this.store.records, name).set(key, record); // one assignment: atomic
    this.changed(name, key);
  }

  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    const held = this.store.claims.get(name)?.get(key);
    if (held && held.until > Date.now()) return undefined;
    const owner = randomUUID();
    slot(this.store.claims, name).set(key, { owner, until: Date.now() + this.leaseMs });
    const mine = () => this.store.claims.get(name)?.get(key)?.owner === owner;
    return {
      renew: async () => {
        if (!mine()) return false;
        slot(this.store.claims, name).set(key, { owner, until: Date.now() + this.leaseMs });
        return true;
      },
      release: async () => {
        if (!mine()) return;
        this.store.claims.get(name)?.delete(key);
        this.changed(name, key);
      },
    };
  }

  async delete(name: string, key: string): Promise<void> {
    this.store.records.get(name)?.delete(key);
  }

  async clear(name: string): Promise<void> {
    this.store.records.delete(name);
  }

  async clearClaims(name: string): Promise<void> {
    this.store.claims.delete(name);
  }

  async deleteStale(name: string, calculatedBefore: number): Promise<void> {
    for (const [key, record] of this.store.records.get(name) ?? []) {
      if (record.byteLength < 8) continue;
      const calculatedAt = new DataView(record.buffer, record.byteOffset).getFloat64(0);
      if (calculatedAt < calculatedBefore) this.store.records.get(name)?.delete(key);
    }
  }

  /** Calls `onChange` for changes made through other MapCores of this store. */
  subscribe(name: string, key: string, onChange: () => void): () => void {
    const watcher = { core: this, name, key, onChange };
    this.store.watchers.add(watcher);
    return () => this.store.watchers.delete(watcher);
  }

  async names(): Promise<string[]> {
    return [...this.store.records].filter(([, byKey]) => byKey.size > 0).map(([name]) => name);
  }

  async *list(name: string): AsyncIterable<EntryInfo> {
    for (const key of [...(this.store.records.get(name)?.keys() ?? [])]) {
      const entry = this.get(name, key);
      if (entry) yield { key, calculatedAt: entry.calculatedAt, size: entry.bytes.byteLength };
    }
  }

  private changed(name: string, key: string): void {
    for (const w of this.store.watchers) {
      if (w.core !== this && w.name === name && w.key === key) queueMicrotask(w.onChange);
    }
  }
}
