import { describe, it } from 'vitest';
import { MemoryCore } from '../../src/index.js';
import { coreConformance } from '../../src/testing/index.js';

coreConformance({ describe, test: it, makeCore: () => new MemoryCore() });
