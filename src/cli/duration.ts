import { InvalidArgumentError } from 'commander';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/**
 * Parses a command-line duration (`500ms`, `90s`, `30m`, `12h`, `3d`, `2w`) into
 * milliseconds; throws commander's InvalidArgumentError (a usage error) otherwise.
 *
 * @example parseDuration('3d') // 259_200_000
 */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  const unit = match ? UNIT_MS[match[2] ?? ''] : undefined;
  if (!match || unit === undefined) {
    throw new InvalidArgumentError(
      'expected a duration: a number and one of the units ms, s, m, h, d, w (e.g. 3d, 12h, 30m, 90s, 500ms).',
    );
  }
  const ms = Number(match[1]) * unit;
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('the duration is too large.');
  return ms;
}
