/**
 * The `cachier` command (`npx cachier`, the package's `bin`): look into and manage the
 * caches cachier made. Built by tsup to dist/cli.js with a shebang.
 */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv);
