import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCore } from '../../src/index.js';
import { conformance } from '../conformance/conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'cachier-conformance-'));
conformance(
  'file',
  {
    make: () => new FileCore({ cacheDir: dir }),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  },
  { serializes: true },
);
