import { randomUUID } from 'node:crypto';
import type { Claim, Core, StoredEntry } from '../../src/cores/contract.js';
import { CorruptEntryError } from '../../src/errors.js';

/** Entries and claims kept in memory; MapCores over one store act like processes sharing a database. */
export class MapStore {
  /** name → key → record: calculatedAt as a float64, then the entry's bytes. */
  readonly records = new Map<string, Map<string, Uint8Array>>();
  /** name → key → the claim's owner and when its lease ends (epoch ms). */
  readonly claims = new Map<string, Map<string, { owner: string; until: number }>>();
}

function byKey<V>(byName: Map<string, Map<string, V>>, name: string): Map<string, V> {
  const map = byName.get(name) ?? new Map<string, V>();
  byName.set(name, map);
  return map;
}

function decode(record: Uint8Array): StoredEntry {
  if (record.byteLength < 8) throw new CorruptEntryError('the entry is truncated');
  const calculatedAt = new DataView(record.buffer, record.byteOffset).getFloat64(0);
  return { calculatedAt, bytes: record.slice(8) };
}

/** A complete cachier core: stores entries as encoded records and coordinates leased claims. */
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
    return record && decode(record);
  }

  async set(name: string, key: string, entry: StoredEntry): Promise<void> {
    const record = new Uint8Array(8 + entry.bytes.byteLength);
    new DataView(record.buffer).setFloat64(0, entry.calculatedAt);
    record.set(entry.bytes, 8);
    byKey(this.store.records, name).set(key, record); // one assignment: readers see old or new
  }

  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    const held = this.store.claims.get(name)?.get(key);
    if (held && held.until > Date.now()) return undefined;
    const owner = randomUUID();
    const lease = () =>
      byKey(this.store.claims, name).set(key, { owner, until: Date.now() + this.leaseMs });
    const mine = () => this.store.claims.get(name)?.get(key)?.owner === owner;
    lease();
    return {
      renew: async () => {
        if (!mine()) return false;
        lease();
        return true;
      },
      release: async () => {
        if (mine()) this.store.claims.get(name)?.delete(key);
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
    const records = this.store.records.get(name) ?? new Map<string, Uint8Array>();
    for (const [key, record] of records) {
      if (record.byteLength >= 8 && decode(record).calculatedAt < calculatedBefore)
        records.delete(key);
    }
  }
}
