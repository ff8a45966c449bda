/**
 * Default identities in one process: what is refused because two functions could share
 * entries, and what is allowed because it is the same code.
 */
import { describe, expect, it } from 'vitest';
import { cachier } from '../src/index.js';

const SCOPE = 'cachier:test/identity.test';

describe('default identities in one module', () => {
  it('refuses a second, different function that would take a live identity', () => {
    const users = (() => {
      async function load(id: number) {
        return { kind: 'user', id };
      }
      return cachier(load, { backend: 'memory' });
    })();
    expect(users.cacheName).toBe(`${SCOPE}:load`);
    expect(() => {
      async function load(id: number) {
        return { kind: 'order', id };
      }
      return cachier(load, { backend: 'memory' });
    }).toThrow(
      new TypeError(
        `cachier: two different functions of one module would share the default identity '${SCOPE}:load' and so each other's entries (minified or same-named inner functions); pass a name option: cachier(fn, { name: '${SCOPE}:load.<what it does>' }) or @cachier({ name: '${SCOPE}:load.<what it does>' })`,
      ),
    );
    // With a name, both are fine.
    async function load(id: number) {
      return { kind: 'order', id };
    }
    expect(cachier(load, { backend: 'memory', name: 'orders.load' }).cacheName).toBe('orders.load');
  });

  it('allows the same function wrapped twice, and the closures one factory makes', () => {
    async function sameTwice(x: number) {
      return x;
    }
    expect(cachier(sameTwice, { backend: 'memory' }).cacheName).toBe(`${SCOPE}:sameTwice`);
    expect(cachier(sameTwice, { backend: 'memory' }).cacheName).toBe(`${SCOPE}:sameTwice`);
    const make = (offset: number) =>
      cachier(
        async function fromFactory(x: number) {
          return x + offset;
        },
        { backend: 'memory' },
      );
    expect(make(1).cacheName).toBe(`${SCOPE}:fromFactory`);
    expect(make(2).cacheName).toBe(`${SCOPE}:fromFactory`);
  });

  it('refuses one- and two-letter names, as minifiers make them', () => {
    const t = async () => 1;
    expect(() => cachier(t, { backend: 'memory' })).toThrow(
      `cachier: 't' has a one- or two-letter name, as minifiers make them: such names are not stable and two functions can share one; pass a name option: cachier(fn, { name: '${SCOPE}:<what it does>' })`,
    );
    const Nr = async () => 1;
    expect(() => cachier(Nr, { backend: 'memory' })).toThrow(/'Nr' has a one- or two-letter name/);
    expect(cachier(t, { backend: 'memory', name: 'one' }).cacheName).toBe('one');
    const sum = async () => 1;
    expect(cachier(sum, { backend: 'memory' }).cacheName).toBe(`${SCOPE}:sum`);
  });

  it('uses an explicit name exactly as given', () => {
    async function getConfig() {
      return 1;
    }
    expect(cachier(getConfig, { backend: 'memory', name: 'shared:getConfig' }).cacheName).toBe(
      'shared:getConfig',
    );
  });
});

describe('the per-process state', () => {
  it('lives on globalThis under Symbol.for, per layout, and shared() makes a value once', async () => {
    const { processState, shared, PROCESS_STATE_LAYOUT } = await import('../src/processState.js');
    const slots = (globalThis as unknown as Record<symbol, Record<number, unknown>>)[
      Symbol.for('cachier.processState')
    ];
    expect(slots?.[PROCESS_STATE_LAYOUT]).toBe(processState());
    let made = 0;
    const first = shared('identity-test-table', () => {
      made++;
      return new Map<string, number>();
    });
    const second = shared('identity-test-table', () => {
      made++;
      return new Map<string, number>();
    });
    expect(second).toBe(first);
    expect(made).toBe(1);
  });
});
