import { MemoryCore } from '../../src/index.js';
import { conformance } from '../conformance/conformance.js';

conformance('memory', { make: () => new MemoryCore() }, { serializes: false });
