import { describe, expect, it } from 'vitest';
import { type CachierOptions, cachier, MemoryCore } from '../src/index.js';

const VALID_OPTIONS = [
  'name',
  'backend',
  'cacheDir',
  'mongetter',
  'redisClient',
  'pgPool',
  'staleAfter',
  'nextTime',
  'waitForCalcTimeout',
  'allowNone',
  'hashArgs',
  'entrySizeLimit',
  'serializer',
  'onEvent',
  'shouldCache',
  'clock',
  'verboseCache',
  'enableMetrics',
  'cleanupStale',
  'cleanupInterval',
];

async function double(x: number) {
  return x * 2;
}

/** Wraps `double` with options the type system would refuse, as JavaScript callers can. */
function wrapWith(options: unknown) {
  return () => cachier(double, { backend: 'memory', ...(options as CachierOptions) });
}

/** Asserts a TypeError at wrap time whose message matches every pattern. */
function expectTypeError(attempt: () => unknown, ...patterns: RegExp[]) {
  let thrown: unknown;
  try {
    attempt();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TypeError);
  for (const pattern of patterns) expect((thrown as TypeError).message).toMatch(pattern);
}

describe('option names', () => {
  it('rejects a misspelt option and lists the valid ones', () => {
    expectTypeError(
      wrapWith({ staleAfer: { days: 1 } }),
      /unknown option 'staleAfer'/,
      new RegExp(`Valid ones are: ${VALID_OPTIONS.join(', ')}$`),
    );
  });

  it.each([['stale_after'], ['ttl'], ['cache_dir'], ['maxAge'], ['ignoreCache']])(
    'rejects %s',
    (option) => {
      expectTypeError(wrapWith({ [option]: 1 }), new RegExp(`unknown option '${option}'`));
    },
  );

  it('rejects an unknown option even when its value is undefined', () => {
    expectTypeError(wrapWith({ nextTme: undefined }), /unknown option 'nextTme'/);
  });

  it('rejects options that are not an object', () => {
    expectTypeError(() => cachier(double, 'memory' as never), /options argument must be an object/);
    expectTypeError(() => cachier(double, null as never), /options argument must be an object/);
    expectTypeError(() => cachier(double, [] as never), /options argument must be an object/);
  });

  it('rejects a first argument that is neither a function nor decorator options', () => {
    for (const bad of [5, 'fetchReport', null, true]) {
      expectTypeError(() => cachier(bad as never), /expected a function to wrap/);
    }
  });

  it('accepts every valid option', () => {
    const wrapped = cachier(double, {
      name: 'all-options',
      backend: new MemoryCore(),
      cacheDir: '/tmp/unused-by-memory',
      staleAfter: { hours: 1 },
      nextTime: true,
      waitForCalcTimeout: 5000,
      allowNone: true,
      hashArgs: ([x]) => String(x),
      entrySizeLimit: '10MB',
      onEvent: () => undefined,
    });
    expect(wrapped.cacheName).toBe('all-options');
  });
});

describe('option types', () => {
  it.each([
    ['nextTime', 'yes', /nextTime must be a boolean, got "yes"/],
    ['allowNone', 1, /allowNone must be a boolean, got number 1/],
    ['cacheDir', 42, /cacheDir must be a string/],
    ['cacheDir', '', /cacheDir must not be empty/],
    ['name', 7, /name must be a string/],
    ['name', '', /name must not be empty/],
    // Stores encode names as UTF-8, where every lone surrogate becomes U+FFFD: 'a\uD800'
    // and 'a\uDC00' would share one PostgreSQL or MongoDB cache.
    ['name', 'report\uD800', /name must be well-formed Unicode text \(it has a lone surrogate\)$/],
    ['hashArgs', 'id', /hashArgs must be a function/],
    ['onEvent', {}, /onEvent must be a function/],
    ['mongetter', {}, /mongetter must be a function/],
    ['staleAfter', '3 days', /staleAfter must be milliseconds or a date-fns Duration/],
    ['staleAfter', null, /staleAfter must be milliseconds or a date-fns Duration.*, got null/],
    ['waitForCalcTimeout', true, /waitForCalcTimeout must be milliseconds or a date-fns/],
    ['entrySizeLimit', true, /entrySizeLimit must be bytes or a size/],
  ])('%s: %j is a TypeError naming the option', (option, value, message) => {
    expectTypeError(wrapWith({ [option]: value }), message);
  });
});

describe('connection options never quote a connection string back', () => {
  // A URL passed where a client belongs often carries a password: it must not reach logs.
  const url = 'redis://user:hunter2@cache.internal:6379';
  it.each([['redisClient'], ['pgPool'], ['mongetter'], ['backend']])(
    '%s: a URL is a TypeError naming the option, without the URL',
    (option) => {
      let thrown: unknown;
      try {
        wrapWith({ [option]: url })();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as TypeError).message).toMatch(new RegExp(`${option}|backend`));
      expect((thrown as TypeError).message).not.toMatch(/hunter2|cache\.internal/);
    },
  );

  it('still names a misspelt backend', () => {
    expectTypeError(wrapWith({ backend: 'postgresql' }), /unknown backend "postgresql"/);
  });
});

describe('durations', () => {
  it.each([
    ['staleAfter', -1, /staleAfter must not be negative, got -1/],
    ['waitForCalcTimeout', -100, /waitForCalcTimeout must not be negative/],
    ['staleAfter', { hours: -1 }, /staleAfter\.hours must not be negative/],
    ['waitForCalcTimeout', { seconds: -5 }, /waitForCalcTimeout\.seconds must not be negative/],
    ['staleAfter', Number.NaN, /staleAfter must be a number of milliseconds, got NaN/],
    ['staleAfter', { hour: 1 }, /staleAfter has an unknown field 'hour'/],
    ['staleAfter', { days: Number.NaN }, /staleAfter\.days must be a finite number/],
  ])('%s: %j is a TypeError naming the option', (option, value, message) => {
    expectTypeError(wrapWith({ [option]: value }), message);
  });

  it('accepts milliseconds and Durations', () => {
    expect(wrapWith({ staleAfter: 0, waitForCalcTimeout: { minutes: 1 } })).not.toThrow();
    expect(wrapWith({ staleAfter: { days: 3, hours: 2 } })).not.toThrow();
  });
});

describe('sizes', () => {
  it.each([['10 parsecs'], ['10TB'], ['-1MB'], ['MB'], [-1], [Number.NaN]])(
    'entrySizeLimit %j is a TypeError naming the option',
    (value) => {
      expectTypeError(wrapWith({ entrySizeLimit: value }), /entrySizeLimit must be/);
    },
  );

  it('accepts byte counts and size strings', () => {
    expect(wrapWith({ entrySizeLimit: 1024 })).not.toThrow();
    expect(wrapWith({ entrySizeLimit: '10KB' })).not.toThrow();
    expect(wrapWith({ entrySizeLimit: '1GB' })).not.toThrow();
  });
});

describe('names', () => {
  it('rejects an anonymous function without name, suggesting the option', () => {
    expectTypeError(
      () => cachier(async (x: number) => x, { backend: 'memory' }),
      /anonymous function needs a name option/,
    );
    expectTypeError(() => cachier(() => {}), /name option/);
  });

  it('takes the function’s own name scoped by package and module, or the name option', () => {
    expect(cachier(double, { backend: 'memory' }).cacheName).toBe(
      'cachier:test/options.test:double',
    );
    const named = cachier(async (x: number) => x, { backend: 'memory', name: 'identity' });
    expect(named.cacheName).toBe('identity');
  });

  it('rejects something that is not a function to wrap', () => {
    expectTypeError(() => cachier(42 as never, {}), /first argument must be the function to wrap/);
    expectTypeError(
      () => cachier({ name: 'x' } as never, { name: 'x' } as never),
      /first argument must be the function to wrap/,
    );
  });
});

describe('backends', () => {
  it.each([['couchdb'], ['File'], [42], [{ get: () => undefined }], [null]])(
    'rejects the unknown backend %j',
    (backend) => {
      expectTypeError(
        wrapWith({ backend }),
        /unknown backend/,
        /'file', 'memory', 'mongo'.* or a core object with the methods get, set, tryClaim/,
      );
    },
  );

  it("rejects backend 'mongo' without mongetter, naming mongetter", () => {
    expectTypeError(wrapWith({ backend: 'mongo' }), /backend 'mongo' needs a mongetter option/);
  });

  it('rejects mongetter combined with another backend', () => {
    expectTypeError(
      wrapWith({ backend: 'file', mongetter: () => ({}) }),
      /mongetter selects the 'mongo' backend/,
    );
  });

  it('accepts any object implementing the Core interface', () => {
    expect(wrapWith({ backend: new MemoryCore() })).not.toThrow();
  });
});

describe('withOptions', () => {
  const wrapped = cachier(double, { backend: 'memory' });

  it('rejects an unknown per-call option when the bound function is made', () => {
    expectTypeError(
      () => wrapped.withOptions({ ignoreCach: true } as never),
      /unknown per-call option 'ignoreCach'/,
      /Valid ones are: ignoreCache, overwriteCache, verboseCache, maxAge, staleAfter, nextTime, allowNone, signal$/,
    );
    expectTypeError(
      () => wrapped.withOptions({ stale_after: 5 } as never),
      /unknown per-call option 'stale_after'/,
    );
  });

  it.each([
    ['ignoreCache', 'true', /ignoreCache must be a boolean/],
    ['overwriteCache', 1, /overwriteCache must be a boolean/],
    ['verboseCache', null, /verboseCache must be a boolean/],
    ['maxAge', { minutes: -1 }, /maxAge.minutes must not be negative/],
    ['staleAfter', -1, /staleAfter must not be negative/],
    ['nextTime', 'yes', /nextTime must be a boolean/],
    ['maxAge', { minute: 1 }, /maxAge has an unknown field 'minute'/],
    ['maxAge', '1h', /maxAge must be milliseconds or a date-fns Duration/],
  ])('%s: %j is a TypeError naming the option', (option, value, message) => {
    expectTypeError(() => wrapped.withOptions({ [option]: value } as never), message);
  });

  it('rejects a non-object argument', () => {
    expectTypeError(() => wrapped.withOptions(true as never), /withOptions\(\) argument/);
  });

  it('accepts valid per-call options', async () => {
    const bound = wrapped.withOptions({
      ignoreCache: false,
      overwriteCache: true,
      verboseCache: false,
      maxAge: { seconds: 1 },
    });
    expect(await bound(4)).toBe(8);
  });
});
