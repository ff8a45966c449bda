/**
 * Same-process wake-ups: when this process stores, releases or deletes through a core,
 * the calls of this process that wait on that key look again at once instead of at their
 * next poll. One table per core object (cores are shared per store, so every wrapper on a
 * store sees every other's signals), keyed by name and key.
 */
type Listener = () => void;

const tables = new WeakMap<object, Map<string, Set<Listener>>>();

function tableOf(core: object): Map<string, Set<Listener>> {
  let table = tables.get(core);
  if (!table) {
    table = new Map();
    tables.set(core, table);
  }
  return table;
}

const slot = (name: string, key: string) => `${name}\u0000${key}`;

/** Calls `listener` on the next change of `key` made through `core` in this process. */
export function onLocalChange(core: object, name: string, key: string, listener: Listener) {
  const table = tableOf(core);
  const id = slot(name, key);
  let listeners = table.get(id);
  if (!listeners) {
    listeners = new Set();
    table.set(id, listeners);
  }
  listeners.add(listener);
  return () => {
    const current = table.get(id);
    if (!current?.delete(listener)) return;
    if (current.size === 0) table.delete(id);
  };
}

/** Wakes this process's waiters on one key, or on every key of `name` when `key` is absent. */
export function signalLocalChange(core: object, name: string, key?: string): void {
  const table = tables.get(core);
  if (!table || table.size === 0) return;
  if (key !== undefined) {
    for (const listener of [...(table.get(slot(name, key)) ?? [])]) listener();
    return;
  }
  const prefix = `${name}\u0000`;
  for (const [id, listeners] of [...table]) {
    if (id.startsWith(prefix)) for (const listener of [...listeners]) listener();
  }
}
