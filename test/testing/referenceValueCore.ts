import type { Claim, ValueCore, ValueEntry } from '../../src/cores/contract.js';

/**
 * A value core in the memory core's shape: values by reference, claims that die with the
 * process (no lease), no optional methods. The kit's value-core path runs against it.
 */
export class ValueMapCore implements ValueCore {
  readonly kind = 'value-map';
  readonly stores = 'values';
  readonly leaseMs = undefined;
  private readonly entries = new Map<string, Map<string, ValueEntry>>();
  private readonly claims = new Map<string, Map<string, symbol>>();

  get(name: string, key: string): ValueEntry | undefined {
    return this.entries.get(name)?.get(key);
  }

  async set(name: string, key: string, entry: ValueEntry): Promise<void> {
    const byKey = this.entries.get(name) ?? new Map<string, ValueEntry>();
    this.entries.set(name, byKey);
    byKey.set(key, { value: entry.value, calculatedAt: entry.calculatedAt });
  }

  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    const byKey = this.claims.get(name) ?? new Map<string, symbol>();
    this.claims.set(name, byKey);
    if (byKey.has(key)) return undefined;
    const owner = Symbol(key);
    byKey.set(key, owner);
    const mine = () => this.claims.get(name)?.get(key) === owner;
    return {
      renew: async () => mine(),
      release: async () => {
        if (mine()) this.claims.get(name)?.delete(key);
      },
    };
  }

  async delete(name: string, key: string): Promise<void> {
    this.entries.get(name)?.delete(key);
  }

  async clear(name: string): Promise<void> {
    this.entries.delete(name);
  }

  async clearClaims(name: string): Promise<void> {
    this.claims.delete(name);
  }

  async deleteStale(name: string, calculatedBefore: number): Promise<void> {
    for (const [key, entry] of this.entries.get(name) ?? []) {
      if (entry.calculatedAt < calculatedBefore) this.entries.get(name)?.delete(key);
    }
  }
}
