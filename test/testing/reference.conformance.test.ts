import { describe, test } from 'vitest';
import { coreConformance } from '../../src/testing/index.js';
import { mapSetup, valueSetup } from './brokenCores.js';

// The kit under vitest itself, for both kinds of core.
coreConformance({ describe, test, title: 'reference byte core', ...mapSetup() });
coreConformance({ describe, test, title: 'reference value core', ...valueSetup() });
