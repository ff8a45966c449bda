import { describe, expect, it } from 'vitest';
import { parseSize } from '../src/sizes.js';

describe('parseSize', () => {
  it('reads units as powers of 1024', () => {
    expect(parseSize('10KB', 'entrySizeLimit')).toBe(10 * 1024);
    expect(parseSize('10MB', 'entrySizeLimit')).toBe(10 * 1024 ** 2);
    expect(parseSize('1GB', 'entrySizeLimit')).toBe(1024 ** 3);
  });

  it('accepts KiB/MiB/GiB, bytes, any case and spaces', () => {
    expect(parseSize('2KiB', 'entrySizeLimit')).toBe(2048);
    expect(parseSize('3MiB', 'entrySizeLimit')).toBe(3 * 1024 ** 2);
    expect(parseSize('1GiB', 'entrySizeLimit')).toBe(1024 ** 3);
    expect(parseSize('10mb', 'entrySizeLimit')).toBe(10 * 1024 ** 2);
    expect(parseSize(' 10 MB ', 'entrySizeLimit')).toBe(10 * 1024 ** 2);
    expect(parseSize('512B', 'entrySizeLimit')).toBe(512);
    expect(parseSize('512', 'entrySizeLimit')).toBe(512);
  });

  it('accepts fractions and rounds down to whole bytes', () => {
    expect(parseSize('1.5KB', 'entrySizeLimit')).toBe(1536);
    expect(parseSize('0.001KB', 'entrySizeLimit')).toBe(1);
  });

  it('takes numbers as bytes', () => {
    expect(parseSize(0, 'entrySizeLimit')).toBe(0);
    expect(parseSize(1000, 'entrySizeLimit')).toBe(1000);
  });

  it.each([['10 parsecs'], ['10TB'], ['ten MB'], ['MB'], [''], ['-1KB'], ['1e3'], ['10 K B']])(
    'rejects the string %j with a TypeError naming the option',
    (input) => {
      expect(() => parseSize(input, 'entrySizeLimit')).toThrow(TypeError);
      expect(() => parseSize(input, 'entrySizeLimit')).toThrow(
        /^cachier: entrySizeLimit must be bytes or a size like '10KB', '10MB', '1GB'/,
      );
      expect(() => parseSize(input, 'entrySizeLimit')).toThrow(JSON.stringify(input));
    },
  );

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY]])('rejects the number %d', (input) => {
    expect(() => parseSize(input, 'entrySizeLimit')).toThrow(TypeError);
    expect(() => parseSize(input, 'entrySizeLimit')).toThrow(
      /entrySizeLimit must be a non-negative number of bytes/,
    );
  });

  it.each([[null], [true], [{ mb: 1 }], [[10]], [undefined]])(
    'rejects the non-size %j',
    (input) => {
      expect(() => parseSize(input, 'entrySizeLimit')).toThrow(TypeError);
      expect(() => parseSize(input, 'entrySizeLimit')).toThrow(/entrySizeLimit/);
    },
  );
});
