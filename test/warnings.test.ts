import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachier, MemoryCore } from '../src/index.js';
import { OncePerCodeWarner } from '../src/warnings.js';
import { silenceWarningOutput } from './support/warnings.js';

interface SeenWarning {
  name: string;
  code: string | undefined;
  message: string;
}

let seen: SeenWarning[] = [];
const onWarning = (warning: Error & { code?: string }) => {
  seen.push({ name: warning.name, code: warning.code, message: warning.message });
};

/** process.emitWarning delivers on a later tick. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

// The real channel (process 'warning' events), without Node's printing of them.
let restoreOutput: () => void;
beforeEach(() => {
  seen = [];
  restoreOutput = silenceWarningOutput();
  process.on('warning', onWarning);
});
afterEach(() => {
  restoreOutput();
});

describe('OncePerCodeWarner', () => {
  it('emits a code once, as a CachierWarning carrying the code', async () => {
    const warner = new OncePerCodeWarner('loadUser');
    warner.warn('CACHIER_STORE_FAILED', 'the file cache failed (set)', new Error('EACCES'));
    warner.warn('CACHIER_STORE_FAILED', 'the file cache failed (get)', new Error('EIO'));
    await settle();
    expect(seen).toEqual([
      {
        name: 'CachierWarning',
        code: 'CACHIER_STORE_FAILED',
        message: 'cachier(loadUser): the file cache failed (set) (Error: EACCES)',
      },
    ]);
  });

  it('emits each code of one wrapper once', async () => {
    const warner = new OncePerCodeWarner('w');
    for (let i = 0; i < 3; i++) {
      warner.warn('CACHIER_STORE_FAILED', 'store');
      warner.warn('CACHIER_CORRUPT_ENTRY', 'corrupt');
      warner.warn('CACHIER_UNSERIALIZABLE', 'unserializable');
      warner.warn('CACHIER_REFRESH_FAILED', 'refresh');
    }
    await settle();
    expect(seen.map((w) => w.code)).toEqual([
      'CACHIER_STORE_FAILED',
      'CACHIER_CORRUPT_ENTRY',
      'CACHIER_UNSERIALIZABLE',
      'CACHIER_REFRESH_FAILED',
    ]);
  });

  it('emits one code once per wrapper, not once per process', async () => {
    new OncePerCodeWarner('first').warn('CACHIER_STORE_FAILED', 'store');
    new OncePerCodeWarner('second').warn('CACHIER_STORE_FAILED', 'store');
    await settle();
    expect(seen.map((w) => w.message)).toEqual(['cachier(first): store', 'cachier(second): store']);
  });

  it("names the cause's own code, which says what to fix", async () => {
    const warner = new OncePerCodeWarner('loadUser');
    const cause = Object.assign(new Error('refusing to use the cache folder /x'), {
      code: 'CACHIER_UNSAFE_FOLDER',
    });
    warner.warn('CACHIER_STORE_FAILED', 'the file cache failed (claim)', cause);
    await settle();
    expect(seen[0]?.code).toBe('CACHIER_STORE_FAILED');
    expect(seen[0]?.message).toBe(
      'cachier(loadUser): the file cache failed (claim) (Error CACHIER_UNSAFE_FOLDER: refusing to use the cache folder /x)',
    );
  });

  it('names a non-Error cause as it is', async () => {
    new OncePerCodeWarner('w').warn('CACHIER_STORE_FAILED', 'store', 'disk gone');
    await settle();
    expect(seen[0]?.message).toBe('cachier(w): store (disk gone)');
  });
});

describe('warnings of wrapped functions', () => {
  /** A memory core whose writes always fail, as a full disk would. */
  function failingCore(): MemoryCore {
    const core = new MemoryCore();
    core.set = async () => {
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    };
    return core;
  }

  it('a failing store warns once per wrapper, with CACHIER_STORE_FAILED', async () => {
    const backend = failingCore();
    let n = 0;
    const first = cachier(async (x: number) => x + ++n, { name: `w-${randomUUID()}`, backend });
    // Every call calculates (nothing can be stored), yet only the first failure warns.
    const second = cachier(async (x: number) => x * 10, { name: `w-${randomUUID()}`, backend });
    for (let i = 0; i < 5; i++) expect(await first(i)).toBe(i + n);
    expect(n).toBe(5);
    await settle();
    expect(seen.filter((w) => w.code === 'CACHIER_STORE_FAILED')).toHaveLength(1);
    expect(seen[0]?.message).toContain(first.cacheName);
    expect(seen[0]?.message).toContain('no space left on device');
    expect(await second(3)).toBe(30);
    await settle();
    const storeFailed = seen.filter((w) => w.code === 'CACHIER_STORE_FAILED');
    expect(storeFailed).toHaveLength(2);
    expect(storeFailed[1]?.message).toContain(second.cacheName);
  });
});
