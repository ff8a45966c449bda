import type { WriteOutcome } from './guardedCore.js';

/**
 * The calculations of one key running in this process (from the call of the function,
 * or a `precacheValue`, to the store), and which of them may still store. Kept per key,
 * not per calculation, so that a store costs the same however many keys are being
 * calculated.
 */
interface KeyOrder {
  running: number;
  /** Calculations of the key begun before this place in the order are not stored. */
  storesFrom: number;
}

/** What a clear asks of every wrapper on the cache: forget its running calculations. */
export interface OrderMember {
  /** Stops sharing the calculations of `key` (of every key: undefined) with later calls. */
  forgetRunning(key: string | undefined): void;
}

/**
 * "Newer wins, in one process" for one cache (a store object and a name), shared by every
 * wrapper on it: two wrappers of one name and store are one cache. A value is stored only
 * if nothing newer happened to its key meanwhile in this process: a clear of the key, a
 * precacheValue, or the store of a calculation begun after it (an overwrite, a waiter's
 * own after `waitForCalcTimeout`). Otherwise a value computed from the data as it was
 * before the user cleared the cache would be served after the clear. Writes and
 * clearEntry deletes of one key land in the order they were asked.
 */
export class StoreOrder {
  private readonly keys = new Map<string, KeyOrder>();
  /** How many calculations (and precacheValue writes) began: each one's place in the order. */
  private begun = 0;
  /** Calculations begun at or before this place were cleared by `clearCache`. */
  private clearedThrough = 0;
  /** The last write or delete on its way per key; never rejects. */
  private readonly writing = new Map<string, Promise<unknown>>();
  /** The wrappers on this cache, weakly: a wrapper that is gone leaves by itself. */
  private readonly members = new Set<WeakRef<OrderMember>>();
  private membersAtLastSweep = 0;

  /** Adds a wrapper, whose running calculations every clear then forgets. */
  join(member: OrderMember): void {
    // Wrappers made again and again (one per request, say) must not pile up here.
    if (this.members.size >= 2 * this.membersAtLastSweep + 16) {
      for (const ref of this.members) if (ref.deref() === undefined) this.members.delete(ref);
      this.membersAtLastSweep = this.members.size;
    }
    this.members.add(new WeakRef(member));
  }

  /** Gives a calculation of `key` its place in the order; call {@link end} when it stored. */
  begin(key: string): number {
    const order = ++this.begun;
    const state = this.keys.get(key);
    if (state === undefined) this.keys.set(key, { running: 1, storesFrom: 0 });
    else state.running++;
    return order;
  }

  end(key: string): void {
    const state = this.keys.get(key);
    if (state !== undefined && --state.running === 0) this.keys.delete(key);
  }

  /**
   * Writes after any write or delete of the key already on its way, and only if `order`
   * is still the newest: an older calculation's value never lands over a newer one, nor
   * after a clear asked while it waited. `write` must never reject (GuardedCore's does not).
   */
  write(key: string, order: number, write: () => Promise<WriteOutcome>): Promise<WriteOutcome> {
    // The common case, nothing of the key on its way, without an async function's cost.
    return this.writing.has(key)
      ? this.writeAfter(key, order, write)
      : this.writeNow(key, order, write);
  }

  private async writeAfter(
    key: string,
    order: number,
    write: () => Promise<WriteOutcome>,
  ): Promise<WriteOutcome> {
    for (let before = this.writing.get(key); before; before = this.writing.get(key)) {
      await before;
    }
    return this.writeNow(key, order, write);
  }

  private writeNow(
    key: string,
    order: number,
    write: () => Promise<WriteOutcome>,
  ): Promise<WriteOutcome> {
    if (order <= this.clearedThrough || order < (this.keys.get(key)?.storesFrom ?? 0)) {
      return Promise.resolve('superseded');
    }
    this.supersede(key, order);
    const writing = write();
    this.writing.set(key, writing);
    // Registered before the caller's await: gone from `writing` when the caller goes on.
    writing.then(() => {
      if (this.writing.get(key) === writing) this.writing.delete(key);
    });
    return writing;
  }

  /**
   * Every calculation running now stores nothing, and no wrapper shares it with later
   * calls; `clear` runs once the writes already on their way have landed (at once, in
   * this tick, when none is: the memory core is then cleared before the next call).
   */
  clearAll(clear: () => Promise<void>): Promise<void> {
    this.clearedThrough = this.begun;
    this.forEachMember((member) => member.forgetRunning(undefined));
    const writes = [...this.writing.values()];
    return writes.length === 0 ? clear() : Promise.all(writes).then(clear);
  }

  /** {@link clearAll} for one key; a write of the key asked after it lands after `remove`. */
  clearKey(key: string, remove: () => Promise<void>): Promise<void> {
    this.supersede(key, this.begun + 1);
    this.forEachMember((member) => member.forgetRunning(key));
    const before = this.writing.get(key);
    const removed = before === undefined ? remove() : before.then(remove);
    const landed = removed.catch(() => undefined);
    this.writing.set(key, landed);
    landed.then(() => {
      if (this.writing.get(key) === landed) this.writing.delete(key);
    });
    return removed;
  }

  /** Marks the running calculations of `key` begun before `order` as not to be stored. */
  private supersede(key: string, order: number): void {
    const state = this.keys.get(key);
    if (state !== undefined && state.storesFrom < order) state.storesFrom = order;
  }

  private forEachMember(visit: (member: OrderMember) => void): void {
    for (const ref of this.members) {
      const member = ref.deref();
      if (member === undefined) this.members.delete(ref);
      else visit(member);
    }
  }
}

const orders = new WeakMap<object, Map<string, StoreOrder>>();

/**
 * The one {@link StoreOrder} of `name` on this store object in this process (stores are
 * shared objects: every wrapper on the same store gets the same one).
 */
export function storeOrderOf(core: object, name: string): StoreOrder {
  let byName = orders.get(core);
  if (byName === undefined) {
    byName = new Map();
    orders.set(core, byName);
  }
  let order = byName.get(name);
  if (order === undefined) {
    order = new StoreOrder();
    byName.set(name, order);
  }
  return order;
}
