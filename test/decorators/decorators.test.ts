/**
 * `@cachier()` on class methods, compiled the way users compile them: by the TypeScript
 * compiler in both decorator modes (standard and `experimentalDecorators`), by esbuild
 * (tsx), and run against the published build (the package's `dist` ESM and CJS entry
 * points, resolved through its `exports`). Every run is a child process that executes
 * test/decorators/fixtures/reports.ts and prints what it observed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderNameFor } from '../../src/cores/fileNames.js';
import { buildPackageInto } from '../support/buildPackage.js';
import {
  compileFixture,
  type DecoratorMode,
  fixtureSource,
  type ModuleFormat,
  repoRoot,
  runFixture,
  sourceSpecifier,
} from './compileFixture.js';

const root = mkdtempSync(join(tmpdir(), 'cachier-decorators-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
// The package the compiled fixtures belong to: it scopes their default identities.
const FIXTURES_PACKAGE = 'decorator-fixtures';
writeFileSync(
  join(root, 'package.json'),
  JSON.stringify({ name: FIXTURES_PACKAGE, private: true }),
);
/** The scope of default identities made in `file` (relative to `root` or the repository). */
const scopeIn = (pkg: string, module: string) => `${pkg}:${module}`;

let runs = 0;
/** A fresh folder for one child run: its cache and its compiled fixture. */
function runFolder(): string {
  const folder = join(root, `run-${++runs}`);
  mkdirSync(folder);
  return folder;
}

/** The fixture's result, as far as the assertions below read it. */
interface Observed {
  sharing: Record<string, string | number>;
  bound: Record<string, unknown>;
  perTenant: Record<string, string | number>;
  precache: Record<string, string | number>;
  statics: Record<string, string | number>;
  identity: Record<string, string | boolean>;
  inheritance: Record<string, unknown>;
  selves: string[];
  assignment: Record<string, string>;
  early: {
    beforeInstances: { load?: { name: string; message: string }; named: string };
    afterInstance: { load: string };
  };
  cleared: Record<string, string | number>;
  sync: { isPromise: boolean; value: number };
  errors: Record<string, { name: string; message: string } | undefined>;
}

/** Registers the behaviour checks for one way of compiling and running the fixture. */
function checksFor(
  mode: DecoratorMode,
  run: () => Promise<{ result: unknown; cacheDir: string; scope: string }>,
) {
  let observed: Observed;
  let cacheDir: string;
  let scope: string;
  beforeAll(async () => {
    const outcome = await run();
    observed = outcome.result as Observed;
    cacheDir = outcome.cacheDir;
    scope = outcome.scope;
  });

  it('caches a method: equal arguments calculate once, and two instances share entries', () => {
    expect(observed.sharing).toEqual({
      first: 'a:1',
      second: 'a:1',
      // `this` is not part of the key: b and a subclass instance get a's value.
      otherInstance: 'a:1',
      subclassInstance: 'a:1',
      calls: 1,
    });
  });

  it('keeps this, also through withOptions and for a detached method', () => {
    expect(observed.bound).toEqual({
      detached: 'a:2',
      overwriteThroughInstance: 'b:2',
      untypedWithOptions: 'b:3',
      prototypeWithCall: 'a:4',
      stableIdentity: true,
      instancesDiffer: true,
      prototypeIsUnbound: true,
      ownKeys: ['tenant'],
      calls: 5,
    });
  });

  it('lets hashArgs key by the instance, and precacheValue pass the instance to it', () => {
    expect(observed.perTenant).toEqual({ a: 'a:1', b: 'b:1', aAgain: 'a:1', calls: 2 });
    expect(observed.precache).toEqual({
      a: 'precached-through-a',
      b: 'b:9',
      // Precached through the prototype: hashArgs saw no instance.
      unbound: 'precached-without-self',
      callsAfter: 3,
    });
  });

  it('caches static methods, with withOptions and the calling class as this', () => {
    expect(observed.statics).toEqual({
      first: 'Reports:4',
      second: 'Reports:4',
      callsAfterTwo: 1,
      ignored: 'Reports:4',
      callsAfterIgnore: 2,
      subclass: 'Special:6',
    });
  });

  it('names the cache <package>:<module>:ClassName.methodName (or the name option) and its folder after it', () => {
    expect(observed.identity).toEqual({
      byIdPrototype: join(cacheDir, folderNameFor(`${scope}:Reports.byId`)),
      byIdInstance: join(cacheDir, folderNameFor(`${scope}:Reports.byId`)),
      byIdName: `${scope}:Reports.byId`,
      twice: join(cacheDir, folderNameFor(`${scope}:Reports.twice`)),
      named: join(cacheDir, folderNameFor('reports-custom')),
      byIdFolderExists: true,
      twiceFolderExists: true,
    });
  });

  it("knows an instance method's class before any instance only with experimentalDecorators", () => {
    const { beforeInstances, afterInstance } = observed.early;
    if (mode === 'legacy') {
      expect(beforeInstances.load).toBeUndefined();
    } else {
      expect(beforeInstances.load).toEqual({
        name: 'TypeError',
        message: expect.stringMatching(
          /^cachier: method 'load' does not know its class yet: a standard decorator learns it when the first instance is constructed/,
        ),
      });
    }
    expect(beforeInstances.named).toBe('early-named');
    expect(afterInstance.load).toBe(`${scope}:Early.load`);
  });

  it('works with subclasses that override a decorated method, and with symbol keys', () => {
    expect(observed.inheritance).toEqual({
      overriding: 'overriding(base1)',
      overridingAgain: 'overriding(base1)',
      decorated: 'decorated(base1)',
      decoratedAgain: 'decorated(base1)',
      names: [`${scope}:Base.value`, `${scope}:DecoratedOverride.value`],
      symbol: ['by symbol', `${scope}:Keyed.[load]`],
      calls: [1, 1],
    });
  });

  it('passes hashArgs the class for a static method and the instance for a method', () => {
    // find(1), find's precacheValue, get(1), get's precacheValue through the instance
    // and through the prototype.
    expect(observed.selves).toEqual(['class', 'class', 'instance', 'instance', 'undefined']);
  });

  it('lets an assignment replace a decorated method on one instance', () => {
    expect(observed.assignment).toEqual({ replaced: 'replaced:1', others: 'a:1' });
  });

  it('clears a method cache through an instance', () => {
    expect(observed.cleared).toEqual({ value: 'b:1', calls: 6 });
  });

  it('returns a Promise from a decorated sync method', () => {
    expect(observed.sync).toEqual({ isPromise: true, value: 2 });
  });

  it('fails at class definition on a field, getter, accessor or class', () => {
    const { errors } = observed;
    const notAMethod = (what: string) => ({
      name: 'TypeError',
      message: `cachier: @cachier() decorates methods only, not ${what}; put it on a method that returns a Promise`,
    });
    expect(errors.field).toEqual(notAMethod("a field 'value'"));
    expect(errors.getter).toEqual(notAMethod("a getter 'value'"));
    expect(errors.autoAccessor).toEqual(
      notAMethod(mode === 'standard' ? "an auto-accessor 'value'" : "an accessor 'value'"),
    );
    expect(errors.klass).toEqual(notAMethod("a class 'Bad'"));
  });

  it('rejects a static and an instance method that would share one identity', () => {
    expect(observed.errors.sameNameStaticAndInstance?.message).toMatch(
      /^cachier: the static and the instance method 'load' of one class would both be cached under the default name '<class name>\.load'; give one of them a name option/,
    );
    expect(observed.errors.sameNameWithName).toBeUndefined();
  });

  it('rejects an unknown option where the decorator is written', () => {
    expect(observed.errors.badOption).toEqual({
      name: 'TypeError',
      message: expect.stringMatching(/^cachier: unknown option 'stale'/),
    });
  });

  it('explains @cachier without parentheses and cacheOf on a plain function', () => {
    expect(observed.errors.withoutParentheses?.message).toMatch(/with parentheses, @cachier\(\)/);
    expect(observed.errors.notWrapped).toEqual({
      name: 'TypeError',
      message:
        "cachier: cacheOf() expects a function made by cachier (cachier(fn) or a method decorated with @cachier()), got the function 'anonymous'",
    });
  });
}

/** Compiles the fixture with the TypeScript compiler and runs it in a child process. */
function runCompiled(
  mode: DecoratorMode,
  format: ModuleFormat,
  cachierSpecifier: string,
  where: { folder: string; tsx: boolean },
) {
  const code = compileFixture(fixtureSource('reports.ts'), { mode, format, cachierSpecifier });
  const file = join(where.folder, `reports.${format === 'esm' ? 'mjs' : 'cjs'}`);
  const cacheDir = join(where.folder, 'cache');
  const module = relative(root, file)
    .split(sep)
    .join('/')
    .replace(/\.[cm]js$/, '');
  return runFixture(file, code, [cacheDir], { tsx: where.tsx }).then((result) => ({
    result,
    cacheDir,
    scope: scopeIn(FIXTURES_PACKAGE, module),
  }));
}

for (const mode of ['standard', 'legacy'] as const) {
  describe(`${mode} decorators compiled by tsc, against src`, () => {
    checksFor(mode, () =>
      runCompiled(mode, 'esm', sourceSpecifier('esm'), { folder: runFolder(), tsx: true }),
    );
  });
}

/** A TypeScript runner that tsx (esbuild) compiles together with the fixture it imports. */
function runnerOf(fixture: string): string {
  const url = pathToFileURL(join(repoRoot, 'test', 'decorators', 'fixtures', fixture));
  return `import { main } from ${JSON.stringify(url.href)};
main(process.argv[2]).then((result) => process.stdout.write(JSON.stringify(result) + '\\n'));
`;
}

describe('standard decorators compiled by esbuild (tsx), against src', () => {
  checksFor('standard', async () => {
    const folder = runFolder();
    const cacheDir = join(folder, 'cache');
    const result = await runFixture(join(folder, 'run.mts'), runnerOf('reports.ts'), [cacheDir], {
      tsx: true,
    });
    // tsx runs the fixture where it is, in this repository's package.
    return { result, cacheDir, scope: scopeIn('cachier', 'test/decorators/fixtures/reports') };
  });
});

describe('what only standard decorators have, and classes without a name', () => {
  const expected = {
    privateMethod: { first: 'a:1', otherInstance: 'a:1', calls: 1 },
    privateWithoutName:
      "TypeError: cachier: private method #secret needs a name option: a decorator cannot tell the class of a private method. Write @cachier({ name: 'MyClass.secret' })",
    anonymousClass: {
      className: '',
      error:
        "TypeError: cachier: the class of method 'load' has no name; give the decorator a name option: @cachier({ name: 'MyClass.load' })",
    },
  };

  it('works when compiled by tsc', async () => {
    const folder = runFolder();
    const code = compileFixture(fixtureSource('standardOnly.ts'), {
      mode: 'standard',
      format: 'esm',
      cachierSpecifier: sourceSpecifier('esm'),
    });
    const result = await runFixture(join(folder, 'standardOnly.mjs'), code, [folder], {
      tsx: true,
    });
    expect(result).toEqual(expected);
  });

  it('works when compiled by esbuild (tsx)', async () => {
    const folder = runFolder();
    const result = await runFixture(
      join(folder, 'run.mts'),
      runnerOf('standardOnly.ts'),
      [folder],
      { tsx: true },
    );
    // esbuild gives an anonymous decorated class a made-up name (`_a`), the same for
    // every such class: a generated name like that is refused as the name option would
    // be needed anyway to tell two such classes apart.
    const { anonymousClass, ...rest } = result as typeof expected;
    expect(rest).toEqual({ ...expected, anonymousClass: undefined });
    expect(anonymousClass.error).toBe(
      anonymousClass.className === ''
        ? expected.anonymousClass.error
        : `TypeError: cachier: '${anonymousClass.className}.load' has a one- or two-letter name, as minifiers make them: such names are not stable and two functions can share one; pass a name option: cachier(fn, { name: 'cachier:test/decorators/fixtures/standardOnly:<what it does>' }) or @cachier({ name: 'cachier:test/decorators/fixtures/standardOnly:<what it does>' })`,
    );
  });
});

/**
 * Builds the package into a temporary `node_modules/cachier` (support/buildPackage.ts) and
 * checks that the entry points it declares were built.
 */
async function buildPackage(): Promise<string> {
  const consumer = join(root, 'consumer');
  const pkg = await buildPackageInto(consumer);
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
    exports: { '.': { import: { default: string }; require: { default: string } } };
  };
  // The entry points the package declares must be what was built.
  readFileSync(join(pkg, manifest.exports['.'].import.default));
  readFileSync(join(pkg, manifest.exports['.'].require.default));
  return consumer;
}

describe('the published build (dist ESM and CJS through the package exports)', () => {
  let consumer: Promise<string> | undefined;
  const consumerFolder = () => {
    consumer ??= buildPackage();
    return consumer;
  };
  const combinations = [
    ['standard', 'esm'],
    ['legacy', 'cjs'],
    ['legacy', 'esm'],
    ['standard', 'cjs'],
  ] as const;
  for (const [mode, format] of combinations) {
    describe(`${mode} decorators, ${format === 'esm' ? 'import' : 'require'}('cachier')`, () => {
      checksFor(mode, async () => {
        const folder = join(await consumerFolder(), `${mode}-${format}`);
        mkdirSync(folder);
        return runCompiled(mode, format, 'cachier', { folder, tsx: false });
      });
    });
  }
});
