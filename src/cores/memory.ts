import type { Claim, Core, Entry, SetLimits, SetOutcome, WaitContext } from '../core.js';
import { serializeValue } from '../serialize.js';

/**
 * Keeps entries in this process's memory (per thread: each worker thread has its own).
 * Values are kept by reference, as p-memoize and Python cachier's memory core do:
 * mutating a returned object mutates the cached one.
 *
 * @example
 * const store = new MemoryCore();
 * const lookup = cachier(fetchUser, { backend: store });
 */
export class MemoryCore implements Core {
  readonly kind = 'memory';
  readonly crossProcess = false;
  readonly rawKeys = true;
  readonly renewIntervalMs = undefined;

  private readonly entries = new Map<string, Map<string, Entry>>();
  private readonly claims = new Map<string, Map<string, symbol>>();
  private readonly listeners = new Map<string, Set<() => void>>();

  get(name: string, key: string): Entry | undefined {
    return this.entries.get(name)?.get(key);
  }

  async set(name: string, key: string, entry: Entry, limits: SetLimits): Promise<SetOutcome> {
    // Only a size limit needs the serialized form; otherwise nothing is copied.
    if (limits.entrySizeLimit !== undefined) {
      if (serializeValue(entry.value).byteLength > limits.entrySizeLimit) return 'too-large';
    }
    let entries = this.entries.get(name);
    if (!entries) {
      entries = new Map();
      this.entries.set(name, entries);
    }
    entries.set(key, { value: entry.value, calculatedAt: entry.calculatedAt });
    this.notify(name, key);
    return 'stored';
  }

  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    let claims = this.claims.get(name);
    if (!claims) {
      claims = new Map();
      this.claims.set(name, claims);
    }
    if (claims.has(key)) return undefined;
    const token = Symbol(key);
    claims.set(key, token);
    return {
      renew: async () => this.claims.get(name)?.get(key) === token,
      release: async () => {
        const current = this.claims.get(name);
        if (current?.get(key) !== token) return;
        current.delete(key);
        this.notify(name, key);
      },
    };
  }

  waitForChange(name: string, key: string, { signal, attempt }: WaitContext): Promise<void> {
    return new Promise((resolve) => {
      const listenerKey = `${name}\u0000${key}`;
      let listeners = this.listeners.get(listenerKey);
      if (!listeners) {
        listeners = new Set();
        this.listeners.set(listenerKey, listeners);
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        const current = this.listeners.get(listenerKey);
        current?.delete(done);
        if (current?.size === 0) this.listeners.delete(listenerKey);
        resolve();
      };
      // Changes are announced, so the timer is only a safety net.
      const timer = setTimeout(done, Math.min(100 * 2 ** attempt, 1000));
      listeners.add(done);
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }

  async clear(name: string): Promise<void> {
    const entries = this.entries.get(name);
    this.entries.delete(name);
    for (const key of entries?.keys() ?? []) this.notify(name, key);
  }

  async clearClaims(name: string): Promise<void> {
    const claims = this.claims.get(name);
    this.claims.delete(name);
    for (const key of claims?.keys() ?? []) this.notify(name, key);
  }

  async deleteStale(name: string, calculatedBefore: number): Promise<void> {
    const entries = this.entries.get(name);
    for (const [key, entry] of entries ?? []) {
      if (entry.calculatedAt < calculatedBefore) entries?.delete(key);
    }
  }

  location(): undefined {
    return undefined;
  }

  private notify(name: string, key: string): void {
    const listeners = this.listeners.get(`${name}\u0000${key}`);
    if (!listeners) return;
    for (const listener of [...listeners]) listener();
  }
}
