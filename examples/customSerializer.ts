/**
 * Keeping class instances in the cache with a custom serializer (superjson).
 *
 * node:v8, the default, gives a class instance back as a plain object, so by default such a
 * result is returned but not stored (a CACHIER_UNSERIALIZABLE warning says so). With a
 * serializer that knows the class, it is stored and comes back as an instance.
 *
 *   npm run example:serializer
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachier } from 'cachier';
import superjson from 'superjson';

class Invoice {
  constructor(
    readonly id: string,
    readonly lines: number[],
  ) {}
  total(): number {
    return this.lines.reduce((sum, line) => sum + line, 0);
  }
}
superjson.registerClass(Invoice, { identifier: 'Invoice' });

const serializer = {
  serialize: (value: unknown) => Buffer.from(superjson.stringify(value)),
  deserialize: (bytes: Uint8Array) => superjson.parse(Buffer.from(bytes).toString()),
};

let calculations = 0;
async function loadInvoice(id: string): Promise<Invoice> {
  calculations++;
  return new Invoice(id, [120, 30]);
}

const cacheDir = mkdtempSync(join(tmpdir(), 'cachier-serializer-'));
try {
  const invoice = cachier(loadInvoice, {
    name: 'loadInvoice',
    backend: 'file',
    cacheDir,
    serializer,
  });
  await invoice('inv-1');
  const hit = await invoice('inv-1');
  console.log(
    `second call: an Invoice? ${hit instanceof Invoice}, total ${hit.total()}, calculations ${calculations}`,
  );
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}
