/**
 * A TCP proxy in front of a server, for fault tests that must not disturb the real server
 * (which CI may share): `freeze()` keeps connections open but stops forwarding (a server
 * that never answers), `cut()` drops every connection and refuses new ones (a server that
 * is down), `restore()` goes back to forwarding.
 */
import { once } from 'node:events';
import net from 'node:net';

export interface TcpFaultProxy {
  /** The port on 127.0.0.1 the clients connect to. */
  readonly port: number;
  freeze(): void;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpFaultProxy(
  targetHost: string,
  targetPort: number,
): Promise<TcpFaultProxy> {
  let mode: 'forward' | 'frozen' | 'cut' = 'forward';
  const sockets = new Set<net.Socket>();
  const held: { from: net.Socket; to: net.Socket; data: Buffer }[] = [];
  const relay = (from: net.Socket, to: net.Socket) => {
    from.on('data', (data) => {
      if (mode === 'forward') to.write(data);
      else if (mode === 'frozen') held.push({ from, to, data });
    });
  };
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    track(client);
    if (mode === 'cut') {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    relay(client, upstream);
    relay(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    freeze: () => {
      mode = 'frozen';
    },
    cut: async () => {
      mode = 'cut';
      held.length = 0;
      // Stop listening too, so reconnection attempts are refused as by a stopped server.
      const closed = server.listening ? once(server, 'close') : Promise.resolve();
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore: async () => {
      mode = 'forward';
      for (const { to, data } of held.splice(0)) if (!to.destroyed) to.write(data);
      if (!server.listening) {
        server.listen(port, '127.0.0.1');
        await once(server, 'listening');
      }
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      if (server.listening) {
        server.close();
        await once(server, 'close');
      }
    },
  };
}
