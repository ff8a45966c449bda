/**
 * A TCP proxy in front of a server, for fault tests that must not disturb the real server
 * (which CI may share): `freeze()` keeps connections open but stops forwarding (a server
 * that never answers), `cut()` drops every connection and refuses new ones (a server that
 * is down), `hangUp()` drops every connection and closes each new one as soon as it is
 * accepted (a server that is down behind something that still accepts, and lets a test
 * count the attempts), `restore()` goes back to forwarding. `connections` and
 * `fromClients()` say what reached the network: a test counts attempts and commands.
 */
import { once } from 'node:events';
import net from 'node:net';

export interface TcpFaultProxy {
  /** The port on 127.0.0.1 the clients connect to. */
  readonly port: number;
  /** Connections clients opened through the proxy (accepted, in any mode), so far. */
  readonly connections: number;
  /** Every byte clients sent so far, forwarded or held (not what a cut or hang-up refused). */
  fromClients(): Buffer;
  freeze(): void;
  cut(): Promise<void>;
  hangUp(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpFaultProxy(
  targetHost: string,
  targetPort: number,
): Promise<TcpFaultProxy> {
  let mode: 'forward' | 'frozen' | 'cut' | 'hang-up' = 'forward';
  let connections = 0;
  const sent: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const held: { from: net.Socket; to: net.Socket; data: Buffer }[] = [];
  const relay = (from: net.Socket, to: net.Socket, fromClient: boolean) => {
    from.on('data', (data) => {
      if (fromClient && mode !== 'cut' && mode !== 'hang-up') sent.push(data);
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
    connections++;
    if (mode === 'cut' || mode === 'hang-up') {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    relay(client, upstream, true);
    relay(upstream, client, false);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const listen = async () => {
    if (!server.listening) {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    }
  };
  return {
    port,
    get connections() {
      return connections;
    },
    fromClients: () => Buffer.concat(sent),
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
    hangUp: async () => {
      mode = 'hang-up';
      held.length = 0;
      for (const socket of sockets) socket.destroy();
      await listen();
    },
    restore: async () => {
      mode = 'forward';
      for (const { to, data } of held.splice(0)) if (!to.destroyed) to.write(data);
      await listen();
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
