import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { type CachierOptions, cachier, FileCore, MemoryCore } from '../../src/index.js';

/** A string whose node:v8 serialization is exactly `bytes` long. */
function stringOfSerializedSize(bytes: number): string {
  // The overhead grows with the length's varint: search rather than compute.
  for (let length = bytes; length >= 0; length--) {
    const value = 'x'.repeat(length);
    if (serialize(value).byteLength === bytes) return value;
  }
  throw new Error(`no string serializes to ${bytes} bytes`);
}

const cores = {
  memory: () => new MemoryCore(),
  file: () => new FileCore({ cacheDir: mkdtempSync(join(tmpdir(), 'cachier-guarded-')) }),
};

describe.each(Object.entries(cores))('entrySizeLimit on the %s core', (_, makeCore) => {
  /** How many times a value of `size` serialized bytes is calculated in two calls. */
  async function calculations(value: unknown, options: CachierOptions): Promise<number> {
    let calls = 0;
    const cached = cachier(
      async () => {
        calls++;
        return value;
      },
      { name: `guarded-${randomUUID()}`, backend: makeCore(), ...options },
    );
    await cached();
    await cached();
    return calls;
  }

  it("reads '1KB' as 1024 bytes of node:v8's serialization of the value", async () => {
    expect(await calculations(stringOfSerializedSize(1024), { entrySizeLimit: '1KB' })).toBe(1);
    expect(await calculations(stringOfSerializedSize(1025), { entrySizeLimit: '1KB' })).toBe(2);
  });

  it('counts the bytes a custom serializer returns', async () => {
    const serializer = {
      serialize: (value: unknown) => new Uint8Array(value as number),
      deserialize: (bytes: Uint8Array) => bytes.byteLength,
    };
    expect(await calculations(100, { entrySizeLimit: 100, serializer })).toBe(1);
    expect(await calculations(101, { entrySizeLimit: 100, serializer })).toBe(2);
  });
});
