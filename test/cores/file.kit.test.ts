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
  // proper-lockfile refreshes the lock while this process lives; takeover after the
  // owner's death is tested with killed child processes in file.takeover.test.ts.
  renewsItself: true,
  sharedStore: true,
  subscribe: true,
  names: true,
  list: true,
  corrupt: (core, name, key) => truncateSync(join(core.location(name), key), 10),
});
