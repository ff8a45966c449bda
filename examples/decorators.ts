/**
 * Caching class methods with `@cachier()`: run with `npm run example:decorators`.
 *
 * The same code works with TypeScript 5 standard decorators (this project's setting) and
 * with `experimentalDecorators: true`. The cache lives in a temporary folder here; leave
 * `cacheDir` out to use `~/.cachier`.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheOf, cachier } from 'cachier';

const cacheDir = mkdtempSync(join(tmpdir(), 'cachier-decorators-'));

interface Report {
  id: string;
  tenant: string;
  builtAt: string;
}

class Reports {
  constructor(readonly tenant: string) {}

  /** Cached under `Reports.byId`; `this` is not part of the key. */
  @cachier({ cacheDir, staleAfter: { hours: 1 } })
  async byId(id: string): Promise<Report> {
    console.log(`  calculating byId(${id}) for tenant ${this.tenant}`);
    return { id, tenant: this.tenant, builtAt: new Date().toISOString() };
  }

  /** The key includes the instance's tenant, through hashArgs' second argument. */
  @cachier<[id: string], Reports>({
    cacheDir,
    hashArgs: ([id], self) => `${self.tenant}/${id}`,
  })
  async perTenant(id: string): Promise<Report> {
    console.log(`  calculating perTenant(${id}) for tenant ${this.tenant}`);
    return { id, tenant: this.tenant, builtAt: new Date().toISOString() };
  }

  /** Static methods work too; the memory backend keeps entries in this process. */
  @cachier({ backend: 'memory' })
  static async twice(x: number): Promise<number> {
    console.log(`  calculating twice(${x})`);
    return x * 2;
  }
}

const acme = new Reports('acme');
const globex = new Reports('globex');

console.log('byId: two instances share entries for equal arguments');
console.log('  acme   ->', (await acme.byId('7')).tenant);
console.log('  globex ->', (await globex.byId('7')).tenant, '(from the cache: acme calculated it)');

console.log('perTenant: hashArgs makes the key depend on the instance');
console.log('  acme   ->', (await acme.perTenant('7')).tenant);
console.log('  globex ->', (await globex.perTenant('7')).tenant);
console.log('  acme   ->', (await acme.perTenant('7')).tenant, '(from the cache)');

console.log('withOptions through cacheOf keeps the instance as this');
const fresh = await cacheOf(globex.byId).withOptions({ overwriteCache: true })('7');
console.log('  globex ->', fresh.tenant, '(recalculated and stored)');

console.log('static method');
console.log('  twice(21) ->', await Reports.twice(21));
console.log('  twice(21) ->', await Reports.twice(21), '(from the cache)');

console.log('identities and folders');
console.log('  byId identity:', cacheOf(acme.byId).cacheName);
console.log('  twice identity:', cacheOf(Reports.twice).cacheName);
console.log('  byId folder:', cacheOf(Reports.prototype.byId).cacheDpath());
console.log('  folders in cacheDir:', readdirSync(cacheDir).sort().join(', '));

await cacheOf(acme.byId).clearCache();
console.log('after clearCache, byId calculates again:');
await acme.byId('7');

rmSync(cacheDir, { recursive: true, force: true });
