/**
 * `node --import ./bench/asBuilt.mjs`: runs the benchmark's TypeScript files the way the
 * published package runs, for the scenario processes of `npm run bench`.
 *
 * tsx compiles with esbuild's `keepNames`, which wraps every function that a function
 * creates in a `__name(fn, "name")` call, in every file it loads (dist/ and node_modules
 * too): a miss then costs cachier nearly twice what it costs a user of the built package
 * (memory-core miss 7.5 µs under tsx, 4 µs as built). Here only `.ts` files are compiled
 * (types stripped, nothing renamed or wrapped); the package itself is imported by its
 * own name (`cachier`, dist/) and the peers from node_modules run as they are.
 */
import { register } from 'node:module';

register('./asBuiltHooks.mjs', import.meta.url);
