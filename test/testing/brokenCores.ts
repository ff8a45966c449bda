import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AnyCore, Claim, StoredEntry, ValueEntry } from '../../src/cores/contract.js';
import type { KitSetup } from './recordingRunner.js';
import { MapStore, ReferenceCore } from './referenceCore.js';
import { ValueMapCore } from './referenceValueCore.js';

/** The kit's test titles, as the kit registers them. */
export const T = {
  capabilities: 'the core offers what the options declare',
  oneWinner: 'tryClaim: one winner among 20 concurrent claims',
  oneWinnerShared: 'tryClaim: one winner among concurrent claims from two instances of one store',
  release: 'release lets the next claim win',
  perNameKey: 'claims are kept per name and per key',
  renewLoss: 'renew resolves true while the claim is held and false once clearClaims dropped it',
  claimStore:
    'a claim’s store (where claims offer one) writes while held and nothing once the claim is lost',
  lostRelease: 'release of a lost claim leaves the new owner’s claim',
  takeover:
    'a claim left unrenewed is taken over after its lease; the old holder’s renew resolves false',
  renewal: 'renewing every leaseMs/4 keeps a claim past its lease',
  keptByOwner: 'a claim left unrenewed is kept past its lease while its owner lives (renewsItself)',
  absent: 'get of an entry never set is undefined',
  bytes: 'get returns exactly the bytes set stored: empty, 1 byte, every byte value, 1 MiB',
  calculatedAt: 'calculatedAt comes back exactly: integer epoch ms, past, present and future',
  replace: 'set replaces the entry',
  atomic: 'concurrent gets during repeated sets see a whole old or new entry',
  namesApart: 'one key under two names keeps two entries',
  shared: 'an entry set through one instance is read, replaced and deleted through another',
  delete: 'delete removes one entry and leaves its claim',
  clear: 'clear deletes every entry of one name and leaves other names and claims',
  clearClaims: 'clearClaims drops every claim of one name and leaves other names and entries',
  deleteStale:
    'deleteStale deletes entries calculated before the cutoff; keeps those at or after it and other names',
  corrupt: 'a damaged entry is reported as CorruptEntryError and replaced by set',
  subscribeSet: 'subscribe is called when another instance sets the entry',
  subscribeRelease: 'subscribe is called when another instance releases the claim',
  unsubscribe: 'unsubscribe stops the calls',
  names: 'names() lists every name that holds entries',
  list: 'list(name) describes every entry of that name and no other',
} as const;

/** The reference core's lease in these tests: short, so the lease tests take ~0.3 s. */
export const REFERENCE_LEASE_MS = 100;

/** The kit set up for MapCore (or a broken subclass) with every capability on, over one store. */
export function mapSetup(Variant: typeof ReferenceCore = ReferenceCore): KitSetup<ReferenceCore> {
  const store = new MapStore();
  return {
    makeCore: ({ leaseMs }) => new Variant({ store, leaseMs }),
    sharedStore: true,
    minLeaseMs: REFERENCE_LEASE_MS,
    subscribe: true,
    names: true,
    list: true,
    corrupt: (core, name, key) => {
      core.store.records.get(name)?.set(key, Uint8Array.of(1, 2, 3));
    },
  };
}

/**
 * The kit set up for a core that keeps its claims alive itself while its process lives
 * (as the file core does): the reference core with a lease that never lapses.
 */
export function selfRenewingSetup(
  Variant: typeof ReferenceCore = SelfRenewingCore,
): KitSetup<ReferenceCore> {
  return { ...mapSetup(Variant), renewsItself: true };
}

/** Claims live as long as this process: a lease that lapses is taken to mean its owner is gone. */
class SelfRenewingCore extends ReferenceCore {
  override async tryClaim(name: string, key: string) {
    if (this.store.claims.get(name)?.has(key)) return undefined;
    return super.tryClaim(name, key);
  }
}

/** The kit set up for the value core (or a broken subclass): no lease, no optional methods. */
export function valueSetup(Variant: typeof ValueMapCore = ValueMapCore): KitSetup<ValueMapCore> {
  return { makeCore: () => new Variant() };
}

/** Wraps each claim `tryClaim` wins; `record` is the claim's entry in the store when won. */
function withClaim(
  wrap: (claim: Claim, core: ReferenceCore, name: string, key: string, record: object) => Claim,
): typeof ReferenceCore {
  return class extends ReferenceCore {
    override async tryClaim(name: string, key: string) {
      const claim = await super.tryClaim(name, key);
      const record = this.store.claims.get(name)?.get(key);
      return claim && record ? wrap(claim, this, name, key, record) : claim;
    }
  };
}

function ownerOf(core: ReferenceCore, name: string, key: string): object | undefined {
  return core.store.claims.get(name)?.get(key);
}

/** A core with one deliberate bug, and the kit tests that bug must fail. */
export interface Mutation {
  name: string;
  setup: () => KitSetup<AnyCore>;
  fails: string[];
}

const asAny = (setup: KitSetup<ReferenceCore> | KitSetup<ValueMapCore>) =>
  setup as unknown as KitSetup<AnyCore>;

export const mutations: Mutation[] = [
  {
    name: 'a claim that always succeeds',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async tryClaim(name: string, key: string) {
              this.store.claims.get(name)?.delete(key);
              return super.tryClaim(name, key);
            }
          },
        ),
      ),
    fails: [T.oneWinner, T.oneWinnerShared, T.release],
  },
  {
    name: 'a claim that checks, waits a turn, then takes (a race)',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async tryClaim(name: string, key: string) {
              const held = this.store.claims.get(name)?.get(key);
              await nextTurn();
              if (held && held.until > Date.now()) return undefined;
              this.store.claims.get(name)?.delete(key);
              return super.tryClaim(name, key);
            }
          },
        ),
      ),
    fails: [T.oneWinner, T.oneWinnerShared],
  },
  {
    name: 'claims kept per key only, not per name',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override tryClaim(_name: string, key: string) {
              return super.tryClaim('all names', key);
            }
          },
        ),
      ),
    fails: [T.perNameKey],
  },
  {
    name: 'a release that does nothing',
    setup: () => asAny(mapSetup(withClaim((claim) => ({ ...claim, release: async () => {} })))),
    fails: [T.release],
  },
  {
    name: 'a release that removes whoever holds the claim',
    setup: () =>
      asAny(
        mapSetup(
          withClaim((claim, core, name, key) => ({
            ...claim,
            release: async () => {
              core.store.claims.get(name)?.delete(key);
            },
          })),
        ),
      ),
    fails: [T.lostRelease, T.takeover],
  },
  {
    name: 'a renew that always says true',
    setup: () =>
      asAny(
        mapSetup(
          withClaim((claim) => ({
            ...claim,
            renew: async () => {
              await claim.renew();
              return true;
            },
          })),
        ),
      ),
    fails: [T.renewLoss, T.takeover],
  },
  {
    name: 'a claim’s store that writes whoever holds the claim',
    setup: () =>
      asAny(
        mapSetup(
          withClaim((claim, core, name, key) => ({
            ...claim,
            store: async (entry) => {
              await core.set(name, key, entry);
              return true;
            },
          })),
        ),
      ),
    fails: [T.claimStore],
  },
  {
    name: 'a claim’s store that refuses once the lease lapsed, taken over or not',
    setup: () =>
      asAny(
        mapSetup(
          withClaim((claim, core, name, key, record) => ({
            ...claim,
            store: async (entry) => {
              const held = core.store.claims.get(name)?.get(key) as { until: number } | undefined;
              if (!held || held.until <= Date.now() || ownerOf(core, name, key) !== record) {
                return false;
              }
              return (await claim.store?.(entry)) ?? false;
            },
          })),
        ),
      ),
    fails: [T.takeover],
  },
  {
    name: 'a renew that always says false',
    setup: () => asAny(mapSetup(withClaim((claim) => ({ ...claim, renew: async () => false })))),
    fails: [T.renewLoss, T.renewal, T.lostRelease, T.clear],
  },
  {
    name: 'a renew that answers but does not extend the lease',
    setup: () =>
      asAny(
        mapSetup(
          withClaim((claim, core, name, key, record) => ({
            ...claim,
            renew: async () => ownerOf(core, name, key) === record,
          })),
        ),
      ),
    fails: [T.renewal],
  },
  {
    name: 'a renew that takes the claim back after it was lost',
    setup: () =>
      asAny(
        mapSetup(
          withClaim((claim, core, name, key, record) => ({
            ...claim,
            renew: async () => {
              core.store.claims
                .get(name)
                ?.set(key, { ...record, until: Date.now() + 1e6 } as never);
              return true;
            },
          })),
        ),
      ),
    fails: [T.renewLoss, T.takeover],
  },
  {
    name: 'a lease that never lapses',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async tryClaim(name: string, key: string) {
              if (this.store.claims.get(name)?.has(key)) return undefined;
              return super.tryClaim(name, key);
            }
          },
        ),
      ),
    fails: [T.takeover],
  },
  {
    name: 'a core that says renewsItself but lets an unrenewed claim lapse',
    setup: () => asAny({ ...mapSetup(), renewsItself: true }),
    fails: [T.keptByOwner],
  },
  {
    name: 'a self-renewing core whose renew always says true',
    setup: () =>
      asAny(
        selfRenewingSetup(
          class extends SelfRenewingCore {
            override async tryClaim(name: string, key: string) {
              const claim = await super.tryClaim(name, key);
              return claim && { ...claim, renew: async () => true };
            }
          },
        ),
      ),
    fails: [T.renewLoss],
  },
  {
    name: 'a self-renewing core whose renew always says false',
    setup: () =>
      asAny(
        selfRenewingSetup(
          class extends SelfRenewingCore {
            override async tryClaim(name: string, key: string) {
              const claim = await super.tryClaim(name, key);
              return claim && { ...claim, renew: async () => false };
            }
          },
        ),
      ),
    fails: [T.renewLoss, T.renewal, T.keptByOwner],
  },
  {
    name: 'a factory that ignores the leaseMs it is given',
    setup: () => ({ ...asAny(mapSetup()), makeCore: () => new ReferenceCore() }),
    fails: [T.takeover, T.renewal],
  },
  {
    name: 'a get that answers a missing entry with an empty one',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override get(name: string, key: string) {
              return super.get(name, key) ?? { bytes: new Uint8Array(0), calculatedAt: 0 };
            }
          },
        ),
      ),
    fails: [T.absent],
  },
  {
    name: 'a get that returns a copy with calculatedAt in whole seconds',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override get(name: string, key: string) {
              const entry = super.get(name, key);
              return (
                entry && { ...entry, calculatedAt: Math.floor(entry.calculatedAt / 1000) * 1000 }
              );
            }
          },
        ),
      ),
    fails: [T.calculatedAt],
  },
  {
    name: 'a get whose bytes went through a UTF-8 string',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override get(name: string, key: string) {
              const entry = super.get(name, key);
              const text = entry && new TextDecoder().decode(entry.bytes);
              return entry && { ...entry, bytes: new TextEncoder().encode(text) };
            }
          },
        ),
      ),
    fails: [T.bytes],
  },
  {
    name: 'a get that takes an empty entry for none',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override get(name: string, key: string) {
              const entry = super.get(name, key);
              return entry?.bytes.byteLength ? entry : undefined;
            }
          },
        ),
      ),
    fails: [T.bytes],
  },
  {
    name: 'a set that keeps only the first 512 KiB',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override set(name: string, key: string, entry: StoredEntry) {
              return super.set(name, key, { ...entry, bytes: entry.bytes.subarray(0, 512 * 1024) });
            }
          },
        ),
      ),
    fails: [T.bytes],
  },
  {
    name: 'a set that stores the whole buffer behind a view',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override set(name: string, key: string, entry: StoredEntry) {
              return super.set(name, key, { ...entry, bytes: new Uint8Array(entry.bytes.buffer) });
            }
          },
        ),
      ),
    fails: [T.bytes],
  },
  {
    name: 'a set that ignores an entry already there',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async set(name: string, key: string, entry: StoredEntry) {
              if (this.store.records.get(name)?.has(key)) return;
              await super.set(name, key, entry);
            }
          },
        ),
      ),
    fails: [T.replace, T.shared, T.corrupt],
  },
  {
    name: 'a set that deletes, waits a turn, then writes (not atomic)',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async set(name: string, key: string, entry: StoredEntry) {
              await this.delete(name, key);
              await nextTurn();
              await super.set(name, key, entry);
            }
          },
        ),
      ),
    fails: [T.atomic],
  },
  {
    name: 'a set that writes the bytes, waits a turn, then the time (torn)',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async set(name: string, key: string, entry: StoredEntry) {
              const old = this.get(name, key);
              if (old) await super.set(name, key, { ...entry, calculatedAt: old.calculatedAt });
              await nextTurn();
              await super.set(name, key, entry);
            }
          },
        ),
      ),
    fails: [T.atomic],
  },
  {
    name: 'entries kept per key only, not per name',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override get(_name: string, key: string) {
              return super.get('all names', key);
            }
            override set(_name: string, key: string, entry: StoredEntry) {
              return super.set('all names', key, entry);
            }
          },
        ),
      ),
    fails: [T.namesApart],
  },
  {
    name: 'a delete that deletes every entry of the name',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override delete(name: string) {
              return this.clear(name);
            }
          },
        ),
      ),
    fails: [T.delete],
  },
  {
    name: 'a delete that also drops the claim',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async delete(name: string, key: string) {
              this.store.claims.get(name)?.delete(key);
              await super.delete(name, key);
            }
          },
        ),
      ),
    fails: [T.delete],
  },
  {
    name: 'a delete that does nothing',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async delete() {}
          },
        ),
      ),
    fails: [T.delete, T.shared],
  },
  {
    name: 'a clear that clears every name',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async clear() {
              this.store.records.clear();
            }
          },
        ),
      ),
    fails: [T.clear],
  },
  {
    name: 'a clear that also drops the claims',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async clear(name: string) {
              await super.clear(name);
              await this.clearClaims(name);
            }
          },
        ),
      ),
    fails: [T.clear],
  },
  {
    name: 'a clear that does nothing',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async clear() {}
          },
        ),
      ),
    fails: [T.clear],
  },
  {
    name: 'a clearClaims that drops every name’s claims',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async clearClaims() {
              this.store.claims.clear();
            }
          },
        ),
      ),
    fails: [T.clearClaims],
  },
  {
    name: 'a clearClaims that also deletes the entries',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async clearClaims(name: string) {
              await super.clearClaims(name);
              await this.clear(name);
            }
          },
        ),
      ),
    fails: [T.clearClaims],
  },
  {
    name: 'a clearClaims that does nothing',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async clearClaims() {}
          },
        ),
      ),
    fails: [T.clearClaims, T.renewLoss, T.lostRelease],
  },
  {
    name: 'a deleteStale that deletes nothing',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async deleteStale() {}
          },
        ),
      ),
    fails: [T.deleteStale],
  },
  {
    name: 'a deleteStale that also deletes the entry calculated at the cutoff',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override deleteStale(name: string, calculatedBefore: number) {
              return super.deleteStale(name, calculatedBefore + 1);
            }
          },
        ),
      ),
    fails: [T.deleteStale],
  },
  {
    name: 'a deleteStale that spares the entry 1 ms before the cutoff',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override deleteStale(name: string, calculatedBefore: number) {
              return super.deleteStale(name, calculatedBefore - 1);
            }
          },
        ),
      ),
    fails: [T.deleteStale],
  },
  {
    name: 'a deleteStale that deletes stale entries of every name',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async deleteStale(_name: string, calculatedBefore: number) {
              for (const name of this.store.records.keys()) {
                await super.deleteStale(name, calculatedBefore);
              }
            }
          },
        ),
      ),
    fails: [T.deleteStale],
  },
  {
    name: 'a deleteStale that deletes every entry of the name',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override deleteStale(name: string) {
              return this.clear(name);
            }
          },
        ),
      ),
    fails: [T.deleteStale],
  },
  {
    name: 'a get that takes a damaged entry for none',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override get(name: string, key: string) {
              try {
                return super.get(name, key);
              } catch {
                return undefined;
              }
            }
          },
        ),
      ),
    fails: [T.corrupt],
  },
  {
    name: 'a get that reports a damaged entry with a plain Error',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override get(name: string, key: string) {
              try {
                return super.get(name, key);
              } catch (error) {
                throw new Error(`unreadable: ${String(error)}`);
              }
            }
          },
        ),
      ),
    fails: [T.corrupt],
  },
  {
    name: 'a subscribe that is never called',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override subscribe() {
              return () => {};
            }
          },
        ),
      ),
    fails: [T.subscribeSet, T.subscribeRelease, T.unsubscribe],
  },
  {
    name: 'an unsubscribe that does nothing',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override subscribe(name: string, key: string, onChange: () => void) {
              super.subscribe(name, key, onChange);
              return () => {};
            }
          },
        ),
      ),
    fails: [T.unsubscribe],
  },
  {
    name: 'a factory whose instances do not share one store',
    setup: () => ({
      ...asAny(mapSetup()),
      makeCore: ({ leaseMs }) => new ReferenceCore({ leaseMs }),
    }),
    fails: [T.oneWinnerShared, T.shared, T.subscribeSet],
  },
  {
    name: 'a names() that lists nothing',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async names() {
              return [];
            }
          },
        ),
      ),
    fails: [T.names],
  },
  {
    name: 'a list(name) that lists every name’s entries',
    setup: () =>
      asAny(
        mapSetup(
          class extends ReferenceCore {
            override async *list() {
              for (const name of this.store.records.keys()) yield* super.list(name);
            }
          },
        ),
      ),
    fails: [T.list],
  },
  {
    name: 'a core with subscribe() the options do not declare',
    setup: () => ({ ...asAny(mapSetup()), subscribe: false }),
    fails: [T.capabilities],
  },
  {
    name: 'a core with a lease the options do not declare',
    setup: () => ({ ...asAny(mapSetup()), minLeaseMs: undefined }),
    fails: [T.capabilities],
  },
  {
    name: 'a value core that hands out copies of its values',
    setup: () =>
      asAny(
        valueSetup(
          class extends ValueMapCore {
            override get(name: string, key: string): ValueEntry | undefined {
              const entry = super.get(name, key);
              return entry && { ...entry, value: structuredClone(entry.value) };
            }
          },
        ),
      ),
    fails: [T.bytes, T.calculatedAt, T.replace],
  },
  {
    name: 'a value core that updates its entry object in place, keeping its settled promise',
    setup: () =>
      asAny(
        valueSetup(
          class extends ValueMapCore {
            override get(name: string, key: string): ValueEntry | undefined {
              const entry = super.get(name, key);
              if (entry) entry.settled ??= Promise.resolve(entry.value);
              return entry;
            }
            override async set(name: string, key: string, entry: ValueEntry): Promise<void> {
              const current = super.get(name, key);
              if (!current) return super.set(name, key, entry);
              current.value = entry.value;
              current.calculatedAt = entry.calculatedAt;
            }
          },
        ),
      ),
    fails: [T.replace],
  },
  {
    name: 'a value core whose claim always succeeds',
    setup: () =>
      asAny(
        valueSetup(
          class extends ValueMapCore {
            override async tryClaim(name: string, key: string) {
              const claim = await super.tryClaim(name, key);
              if (claim) return claim;
              await this.clearClaims(name);
              return super.tryClaim(name, key);
            }
          },
        ),
      ),
    fails: [T.oneWinner, T.release],
  },
];
