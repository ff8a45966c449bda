import { describe, expect, it } from 'vitest';
import { type CachierEvent, formatEvent } from '../src/events.js';

const name = 'report';
const key = 'a3f1c2d4e5b6978812345678deadbeef';
const short = 'a3f1c2d4e5b6…';

/** At least one event of every type; the Record makes a new type fail to compile here. */
const examples: Record<CachierEvent['type'], CachierEvent[]> = {
  bypass: [
    { type: 'bypass', name, reason: 'caching-disabled' },
    { type: 'bypass', name, reason: 'ignore-cache' },
  ],
  hit: [{ type: 'hit', name, key, ageMs: 1500 }],
  miss: [
    { type: 'miss', name, key, reason: 'absent' },
    { type: 'miss', name, key, reason: 'overwrite-cache' },
    { type: 'miss', name, key, reason: 'none-not-allowed' },
    { type: 'miss', name, key, reason: 'corrupt-entry' },
  ],
  stale: [
    { type: 'stale', name, key, ageMs: 90_000, action: 'recalculate' },
    { type: 'stale', name, key, ageMs: 90_000, action: 'serve-stale-and-refresh' },
    { type: 'stale', name, key, ageMs: 90_000, action: 'serve-stale-refresh-running' },
  ],
  wait: [
    { type: 'wait', name, key, on: 'this-process' },
    { type: 'wait', name, key, on: 'other-owner' },
  ],
  'wait-end': [
    { type: 'wait-end', name, key, reason: 'value-arrived' },
    { type: 'wait-end', name, key, reason: 'timeout' },
    { type: 'wait-end', name, key, reason: 'owner-gone' },
  ],
  calculate: [
    { type: 'calculate', name, key, background: false, claimed: true },
    { type: 'calculate', name, key, background: true, claimed: true },
    { type: 'calculate', name, key, background: false, claimed: false },
  ],
  stored: [{ type: 'stored', name, key }],
  'not-stored': [
    { type: 'not-stored', name, key, reason: 'none-not-allowed' },
    { type: 'not-stored', name, key, reason: 'should-cache' },
    { type: 'not-stored', name, key, reason: 'too-large' },
    { type: 'not-stored', name, key, reason: 'unserializable' },
    { type: 'not-stored', name, key, reason: 'store-failed' },
  ],
  'refresh-skipped': [{ type: 'refresh-skipped', name, key, reason: 'claimed-elsewhere' }],
  'refresh-failed': [{ type: 'refresh-failed', name, key, error: new Error('upstream 503') }],
  'claim-lost': [{ type: 'claim-lost', name, key }],
  'store-error': [
    {
      type: 'store-error',
      name,
      key,
      operation: 'set',
      error: Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }),
    },
    { type: 'store-error', name, key, operation: 'get', error: 'a thrown string' },
  ],
};
const allEvents = Object.values(examples).flat();

describe('formatEvent', () => {
  it.each(allEvents.map((event) => [event.type, event] as const))(
    '%s: one line that names the function and (shortened) key',
    (_type, event) => {
      const line = formatEvent(event);
      expect(line).not.toMatch(/[\r\n]/);
      expect(line.startsWith(`[cachier] ${name}`)).toBe(true);
      if (event.type !== 'bypass') {
        expect(line).toContain(short);
        expect(line).not.toContain(key);
      }
    },
  );

  it('gives every distinct event its own line', () => {
    const lines = allEvents.map(formatEvent);
    expect(new Set(lines).size).toBe(lines.length);
  });

  it('says what was decided and why', () => {
    expect(formatEvent({ type: 'hit', name, key, ageMs: 1500 })).toMatch(
      /hit, value calculated 1\.5 s ago, fresh/,
    );
    expect(formatEvent({ type: 'miss', name, key, reason: 'corrupt-entry' })).toMatch(
      /miss \(corrupt entry\)/,
    );
    expect(formatEvent({ type: 'stale', name, key, ageMs: 90_000, action: 'recalculate' })).toMatch(
      /stale, value calculated 90\.0 s ago: recalculating/,
    );
    expect(formatEvent({ type: 'wait', name, key, on: 'other-owner' })).toMatch(
      /another owner \(process or machine\), waiting/,
    );
    expect(formatEvent({ type: 'not-stored', name, key, reason: 'too-large' })).toMatch(
      /without storing it \(too large\)/,
    );
    expect(formatEvent({ type: 'calculate', name, key, background: true, claimed: false })).toMatch(
      /calculating in the background without a claim/,
    );
    expect(formatEvent({ type: 'bypass', name, reason: 'ignore-cache' })).toMatch(
      /ignoreCache set/,
    );
  });

  it('includes the error of failures', () => {
    expect(formatEvent(examples['refresh-failed'][0] as CachierEvent)).toContain(
      'Error: upstream 503',
    );
    expect(formatEvent(examples['store-error'][0] as CachierEvent)).toMatch(
      /cache set failed: Error: no space left on device/,
    );
    expect(formatEvent(examples['store-error'][1] as CachierEvent)).toMatch(
      /cache get failed: a thrown string/,
    );
  });

  it('keeps a multi-line error message on one line', () => {
    // Driver errors and v8's DataCloneError (which quotes a function's source) span lines.
    const error = new Error(
      'async function load(id) {\n  return fetch(id);\n} could not be cloned.',
    );
    for (const event of [
      { type: 'store-error', name, key, operation: 'set', error },
      { type: 'refresh-failed', name, key, error },
      { type: 'store-error', name, key, operation: 'get', error: 'line one\r\nline two' },
    ] as CachierEvent[]) {
      const line = formatEvent(event);
      expect(line).not.toMatch(/[\r\n]/);
      expect(line).toMatch(/could not be cloned|line one line two/);
    }
  });

  it.each([
    [250, '250 ms'],
    [1500, '1.5 s'],
    [3 * 60_000, '3.0 min'],
    [5 * 3_600_000, '5.0 h'],
  ])('shows an age of %d ms as %s', (ageMs, shown) => {
    expect(formatEvent({ type: 'hit', name, key, ageMs })).toContain(`calculated ${shown} ago`);
  });

  it('keeps short keys whole', () => {
    expect(formatEvent({ type: 'stored', name, key: 'r[1]' })).toBe(
      `[cachier] ${name} r[1]: stored the new value`,
    );
  });
});
