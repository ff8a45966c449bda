import { describe } from './durations.js';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * Parses a size option into bytes. Units are powers of 1024 ('10KB' = 10,240 bytes),
 * case-insensitive; a plain number is bytes.
 *
 * @example parseSize('10MB', 'entrySizeLimit') // 10_485_760
 */
export function parseSize(input: unknown, optionName: string): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) {
      throw new TypeError(
        `cachier: ${optionName} must be a non-negative number of bytes, got ${input}`,
      );
    }
    return input;
  }
  if (typeof input === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input);
    const unit = UNITS[(match?.[2] || 'b').toLowerCase()];
    if (match && unit !== undefined) return Math.floor(Number(match[1]) * unit);
  }
  throw new TypeError(
    `cachier: ${optionName} must be bytes or a size like '10KB', '10MB', '1GB', got ${describe(input)}`,
  );
}
