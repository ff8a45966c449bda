import { mkdtempSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { FileCore } from '../../src/index.js';
import { coreConformance } from '../../src/testing/index.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'cachier-file-kit-'));

coreConformance({
  describe,
  test: it,
  makeCore: ({ leaseMs }) => new FileCore({ cacheDir, ...(leaseMs ? { leaseMs } : {}) }),
  minLeaseMs: 2000,
  // Claims are renewed by their holder (cachier's algorithm) like every core's; takeover
  // of a dead owner on this machine before its lease is tested in file.takeover.test.ts.
  sharedStore: true,
  subscribe: true,
  names: true,
  list: true,
  corrupt: (core, name, key) => truncateSync(join(core.location(name), key), 10),
});
