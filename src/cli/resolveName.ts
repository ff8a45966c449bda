import { CliError, EXIT } from './exitCodes.js';

/** Characters that separate the parts of a scoped identity (`<package>:<module>:<fn>`). */
const PART_SEPARATORS = new Set([':', '/']);

/**
 * The one cache name `requested` designates among `known`: itself when known, else the
 * only name ending with it at a part boundary (`fetchReport` matches
 * `my-app:src/reports:fetchReport`). Throws a {@link CliError} with exit code 3 that
 * lists the known names (or the candidates when several match).
 *
 * @example resolveName('fetchReport', ['app:src/reports:fetchReport']) // 'app:src/reports:fetchReport'
 */
export function resolveName(requested: string, known: readonly string[], where: string): string {
  if (known.includes(requested)) return requested;
  const candidates = known.filter((name) => {
    if (requested === '' || !name.endsWith(requested)) return false;
    const before = name.charAt(name.length - requested.length - 1);
    return PART_SEPARATORS.has(before);
  });
  if (candidates.length === 1) return candidates[0] as string;
  if (candidates.length > 1) {
    throw new CliError(
      `${JSON.stringify(requested)} is ambiguous in ${where}: it ends ${candidates.length} cache names:\n${list(candidates)}`,
      EXIT.notFound,
      'AMBIGUOUS_NAME',
      { candidates },
    );
  }
  const message =
    known.length === 0
      ? `no cache named ${JSON.stringify(requested)} in ${where}: it holds no caches`
      : `no cache named ${JSON.stringify(requested)} in ${where}; known names:\n${list(known)}`;
  throw new CliError(message, EXIT.notFound, 'UNKNOWN_NAME', { known });
}

function list(names: readonly string[]): string {
  return names.map((name) => `  ${name}`).join('\n');
}
