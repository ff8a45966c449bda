import { copyFileSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'tsup';
import { REPO_ROOT } from './runNode.js';

/**
 * Builds the package as `npm run build` does (its own tsup config, without types) into
 * `<consumer>/node_modules/cachier`, with its package.json (so `exports` and `bin` decide
 * which file loads) and its dependencies resolving to this repository's node_modules,
 * except the ones named in `without` (to stand in for a missing optional peer). Returns
 * the package's folder.
 */
export async function buildPackageInto(
  consumer: string,
  without: readonly string[] = [],
): Promise<string> {
  const pkg = join(consumer, 'node_modules', 'cachier');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(join(REPO_ROOT, 'package.json'), join(pkg, 'package.json'));
  const modules = join(REPO_ROOT, 'node_modules');
  if (without.length === 0) {
    symlinkSync(modules, join(pkg, 'node_modules'), 'junction');
  } else {
    mkdirSync(join(pkg, 'node_modules'));
    for (const entry of readdirSync(modules)) {
      if (without.includes(entry) || entry === '.bin') continue;
      symlinkSync(join(modules, entry), join(pkg, 'node_modules', entry), 'junction');
    }
  }
  await build({
    config: join(REPO_ROOT, 'tsup.config.ts'),
    outDir: join(pkg, 'dist'),
    dts: false,
    sourcemap: false,
    silent: true,
  });
  return pkg;
}
