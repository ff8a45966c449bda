/**
 * The exit codes of the `cachier` CLI, documented for scripts: they never change meaning.
 */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** The store failed or could not be reached, a driver is missing, or an entry could not be decoded. */
  failure: 1,
  /** The command line was wrong: unknown command or option, bad duration, conflicting options. */
  usage: 2,
  /** NAME (or `--value KEY`) names no cache (entry) in the store, or more than one. */
  notFound: 3,
} as const;

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * An error the CLI reports as it is (its message, no stack) with a given exit code. Its
 * message names what was wrong and never quotes cached data.
 */
export class CliError extends Error {
  /** The exit code the process ends with. */
  readonly exitCode: ExitCode;
  /** A stable code for `--json` error output, e.g. `UNKNOWN_NAME`. */
  readonly code: string;
  /** Extra fields for `--json` error output (for example the known names). */
  readonly details: Record<string, unknown>;

  constructor(
    message: string,
    exitCode: ExitCode,
    code: string,
    details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
    this.details = details;
  }
}

/** A wrong command line (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage, 'USAGE');
}
