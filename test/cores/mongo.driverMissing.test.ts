import { describe, expect, it, vi } from 'vitest';
import { cachier, MongoCore } from '../../src/index.js';

// Stands in for an install without the optional peer dependency.
vi.mock('mongodb', () => {
  throw new Error("Cannot find package 'mongodb'");
});

describe('MongoCore without the mongodb package installed', () => {
  it('imports cachier fine, and a call returns its value with a warning to install it', async () => {
    const messages: string[] = [];
    const onWarning = (warning: Error) => messages.push(warning.message);
    process.on('warning', onWarning);
    try {
      let asked = 0;
      const core = new MongoCore({
        mongetter: () => {
          asked++;
          throw new Error('never reached: the driver is missing');
        },
      });
      const cached = cachier(async (x: number) => x + 1, { name: 'no-driver', backend: core });
      expect(await cached(1)).toBe(2);
      expect(await cached(1)).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(messages.join('\n')).toMatch(/npm install mongodb/);
      expect(asked).toBe(0);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
