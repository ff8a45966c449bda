import { copyFileSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'tsup';
import { REPO_ROOT } from './runNode.js';

/** How {@link buildPackageInto} builds. */
export interface BuildPackageOptions {
  /** Also emit the type declarations (dist/*.d.ts, *.d.cts), as `npm run build` does; slower. */
  types?: boolean;
}

/**
 * Links every package of `from` into `to`, except the ones named in `without` (a scoped
 * name such as `@types/pg` leaves out that one package of its scope).
 */
function linkModules(from: string, to: string, without: readonly string[]): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    if (without.includes(entry) || entry === '.bin') continue;
    const inScope = without
      .filter((name) => name.startsWith(`${entry}/`))
      .map((name) => name.slice(entry.length + 1));
    if (entry.startsWith('@') && inScope.length > 0) {
      linkModules(join(from, entry), join(to, entry), inScope);
    } else {
      symlinkSync(join(from, entry), join(to, entry), 'junction');
    }
  }
}

/**
 * Builds the package as `npm run build` does (its own tsup config; without types unless
 * asked) into `<consumer>/node_modules/cachier`, with its package.json (so `exports` and
 * `bin` decide which file loads) and its dependencies resolving to this repository's
 * node_modules, except the ones named in `without` (to stand in for a missing optional
 * peer, or its `@types/...` package). Returns the package's folder.
 */
export async function buildPackageInto(
  consumer: string,
  without: readonly string[] = [],
  options: BuildPackageOptions = {},
): Promise<string> {
  const pkg = join(consumer, 'node_modules', 'cachier');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(join(REPO_ROOT, 'package.json'), join(pkg, 'package.json'));
  const modules = join(REPO_ROOT, 'node_modules');
  if (without.length === 0) {
    symlinkSync(modules, join(pkg, 'node_modules'), 'junction');
  } else {
    linkModules(modules, join(pkg, 'node_modules'), without);
  }
  await build({
    config: join(REPO_ROOT, 'tsup.config.ts'),
    outDir: join(pkg, 'dist'),
    dts: options.types === true,
    sourcemap: false,
    silent: true,
  });
  return pkg;
}
