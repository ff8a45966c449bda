/**
 * Runs the MongoDB test server on its own: `tsx test/support/mongoTestServerMain.ts [--port N]`.
 * The first line of stdout is the server's `mongodb://127.0.0.1:PORT` URI; it serves until
 * SIGTERM or SIGINT.
 */
import { startMongoTestServer } from './mongoTestServer.js';

function parsePort(args: string[]): number {
  const at = args.indexOf('--port');
  if (at < 0) return 0;
  const port = Number(args[at + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port needs a port number, got ${args[at + 1]}`);
  }
  return port;
}

const server = await startMongoTestServer({ port: parsePort(process.argv.slice(2)) });
process.stdout.write(`${server.uri}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
