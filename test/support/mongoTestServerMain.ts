/**
 * The MongoDB wire-protocol test server's process. Tests start it with
 * `startMongoTestServer()` (mongoTestServer.ts), which talks to it over IPC; on its own,
 * `npm run mongo:test-server [-- --port N]` prints the `mongodb://127.0.0.1:PORT` URI as
 * the first line of stdout and serves until SIGTERM or SIGINT.
 */
import net from 'node:net';
import { Engine, type ParentMessage, type ServerMessage } from './mongoTestServer.js';
import { decodeMessage, FrameReader, OP_QUERY, type WireMessage } from './mongoWire.js';

function parsePort(args: string[]): number {
  const at = args.indexOf('--port');
  if (at < 0) return 0;
  const port = Number(args[at + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port needs a port number, got ${args[at + 1]}`);
  }
  return port;
}

const HANDSHAKE_COMMANDS = new Set(['hello', 'isMaster', 'ismaster']);
/** A delay slows commands, not handshakes and heartbeats; a stall ('never') stops them all. */
const isHandshake = (message: WireMessage) =>
  message.opCode === OP_QUERY || HANDSHAKE_COMMANDS.has(Object.keys(message.command)[0] ?? '');

const engine = new Engine({ changeStreams: process.argv.includes('--change-streams') });
const sockets = new Set<net.Socket>();
let replyDelay: number | 'never' = 0;
let nextConnectionId = 1;

const server = net.createServer((socket) => {
  const connectionId = nextConnectionId++;
  const reader = new FrameReader();
  sockets.add(socket);
  socket.setNoDelay(true);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {
    // Clients reset connections abruptly (e.g. client.close() after endSessions): not an error.
  });
  const send = (reply: Buffer) => {
    if (!socket.destroyed) socket.write(reply);
  };
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const frame of reader.push(chunk)) {
        const message = decodeMessage(frame);
        if (!message) {
          socket.destroy(); // an op code this server (like MongoDB 6+) does not speak
          return;
        }
        // The command runs now, so no other request interleaves with it; only its reply waits.
        const answer = engine.reply(message, connectionId);
        if (answer instanceof Promise) {
          // A change stream's getMore waiting for a write (awaitData).
          answer.then((reply) => reply && send(reply)).catch(() => socket.destroy());
          continue;
        }
        const reply = answer;
        if (!reply) continue;
        if (replyDelay === 0 || (isHandshake(message) && replyDelay !== 'never')) send(reply);
        else if (replyDelay !== 'never') setTimeout(send, replyDelay, reply);
      }
    } catch {
      socket.destroy(); // malformed framing: MongoDB closes the connection too
    }
  });
});

await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(parsePort(process.argv.slice(2)), '127.0.0.1', () => {
    server.off('error', reject);
    resolve();
  });
});
const { port } = server.address() as net.AddressInfo;
const uri = `mongodb://127.0.0.1:${port}`;

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  for (const socket of sockets) socket.destroy();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

if (process.send) {
  process.on('message', (message: ParentMessage) => {
    replyDelay = message.delayReplies;
    process.send?.({ delayed: replyDelay } satisfies ServerMessage);
  });
  process.on('disconnect', stop); // the parent is gone, even if it was killed
  process.send({ uri } satisfies ServerMessage);
} else {
  process.stdout.write(`${uri}\n`);
}
