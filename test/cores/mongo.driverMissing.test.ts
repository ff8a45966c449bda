import { describe, expect, it, vi } from 'vitest';
import { MongoCore } from '../../src/index.js';

// Stands in for an install without the optional peer dependency.
vi.mock('mongodb', () => {
  throw new Error("Cannot find package 'mongodb'");
});

describe('MongoCore without the mongodb package installed', () => {
  it('imports fine; operations fail with a message to install it, without asking the mongetter', async () => {
    let asked = 0;
    const core = new MongoCore({
      mongetter: () => {
        asked++;
        throw new Error('never reached: the driver is missing');
      },
    });
    await expect(core.get('no-driver', 'k')).rejects.toMatchObject({
      code: 'CACHIER_MONGODB_MISSING',
      message: expect.stringMatching(/npm install mongodb/),
    });
    await expect(core.tryClaim('no-driver', 'k')).rejects.toThrow(/npm install mongodb|MongoDB/);
    expect(asked).toBe(0);
  });
});
