// Types only: erased at build time, so importing cachier never loads the optional driver.
import type { Client, ClientConfig, Notification, Pool } from 'pg';
import { Waiters, type Wake } from './waiters.js';

/** How long the LISTEN connection stays open after its last waiter left. */
const LINGER_MS = 2_000;
/** After the LISTEN connection failed, waits rely on polling for this long before a retry. */
const RETRY_AFTER_MS = 1_000;
/** How often an open LISTEN connection checks whether its pool was ended. */
const POOL_CHECK_MS = 500;

type ClientConstructor = new (config?: ClientConfig) => Client;

/** What the listener needs of a pool: pg's own Pool has all of it. */
type ListenablePool = Pool & {
  Client?: ClientConstructor;
  ending?: boolean;
  ended?: boolean;
};

/** The socket under a pg Client, when it is the JavaScript client (pg-native has none). */
function socketOf(client: Client): { unref(): unknown } | undefined {
  const stream = (client as unknown as { connection?: { stream?: { unref?: unknown } } }).connection
    ?.stream;
  return typeof stream?.unref === 'function' ? (stream as { unref(): unknown }) : undefined;
}

/** Quotes a channel name as an SQL identifier (it is made of [a-z0-9_] anyway). */
const quoted = (channel: string) => `"${channel.replaceAll('"', '""')}"`;

/**
 * One `LISTEN` connection per pool, shared by every waiter of every PostgresCore on that
 * pool. Payloads are `<tag>:<key>` for one entry and `<tag>:*` for a whole cache name.
 *
 * The connection is a separate client made from the pool's own settings (`pool.Client`
 * and `pool.options`), not one taken from the pool, so it never holds a pool slot and
 * never stops `pool.end()` from resolving. Its socket is unref'd, so it never keeps a
 * program alive; it is closed when no waiter needed it for {@link LINGER_MS}, and when the
 * pool ends (seen when the pool drops its idle clients, or at the latest within
 * {@link POOL_CHECK_MS}: pg's Pool has no 'end' event). When it cannot be made or breaks, every waiter is woken once and
 * waits go on by polling; the next subscription after {@link RETRY_AFTER_MS} tries again.
 */
export class PoolListener {
  /** Waiters by channel, then payload; the connection closes when none needed it for a while. */
  private readonly waiters = new Waiters({
    idleMs: LINGER_MS,
    onIdle: () => this.close(),
  });
  private client: Client | undefined;
  private connecting: Promise<Client | undefined> | undefined;
  private readonly listening = new Set<string>();
  private poolCheck: NodeJS.Timeout | undefined;
  private retryAt = 0;
  /** Clients already given up on: their late 'error'/'end' events change nothing. */
  private readonly dead = new WeakSet<Client>();

  constructor(private readonly pool: ListenablePool) {
    // pg-pool has no 'end' event; when it ends it removes its idle clients, which is the
    // first sign this listener gets that the pool is going away.
    pool.on('remove', () => {
      if (this.poolEnding()) this.close();
    });
  }

  /** Calls `onChange` on each notification of `payload` (or of `<tag>:*`) on `channel`. */
  add(channel: string, payload: string, onChange: Wake): () => void {
    const leave = this.waiters.add(channel, payload, onChange);
    void this.listen(channel);
    return leave;
  }

  /** How many waiters are subscribed (for tests). */
  get size(): number {
    return this.waiters.size;
  }

  private poolEnding(): boolean {
    return this.pool.ending === true || this.pool.ended === true;
  }

  private async listen(channel: string): Promise<void> {
    const client = await this.connect();
    if (!client || this.listening.has(channel) || client !== this.client) return;
    this.listening.add(channel);
    try {
      await client.query(`LISTEN ${quoted(channel)}`);
      // A change notified before the server confirmed the LISTEN was not delivered: every
      // waiter already there looks again once; later waiters are covered by the LISTEN.
      if (client === this.client) this.waiters.wakeGroup(channel);
    } catch {
      // The client broke meanwhile: its 'error'/'end' handler has already woken every
      // waiter, which now poll; nothing else to do here.
      this.listening.delete(channel);
    }
  }

  private connect(): Promise<Client | undefined> {
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) return this.connecting;
    if (this.poolEnding() || performance.now() < this.retryAt) return Promise.resolve(undefined);
    const ClientClass = this.pool.Client;
    if (typeof ClientClass !== 'function') return Promise.resolve(undefined);
    const client = new ClientClass(this.pool.options);
    const socket = socketOf(client);
    if (!socket) {
      // Not pg's JavaScript client (pg-native): its connection could keep the program
      // alive, so waits poll instead.
      return Promise.resolve(undefined);
    }
    socket.unref();
    const broken = () => this.broken(client);
    client.on('error', broken);
    client.on('end', broken);
    client.on('notification', (message) => this.dispatch(message));
    this.connecting = client.connect().then(
      () => {
        this.connecting = undefined;
        // TLS replaces the socket during connect: unref the one in use now too.
        socketOf(client)?.unref();
        if (this.poolEnding() || this.waiters.size === 0) {
          this.dead.add(client);
          void client.end().catch(() => undefined);
          if (this.waiters.size !== 0) this.waiters.wakeAll();
          return undefined;
        }
        this.client = client;
        this.poolCheck = setInterval(() => {
          if (this.poolEnding()) this.close();
        }, POOL_CHECK_MS);
        this.poolCheck.unref();
        return client;
      },
      () => {
        this.connecting = undefined;
        this.broken(client);
        return undefined;
      },
    );
    return this.connecting;
  }

  private dispatch(message: Notification): void {
    const payload = message.payload ?? '';
    if (payload.endsWith(':*')) {
      const prefix = payload.slice(0, -1);
      this.waiters.wakeGroup(message.channel, (candidate) => candidate.startsWith(prefix));
    } else {
      this.waiters.wake(message.channel, payload);
    }
  }

  private broken(client: Client): void {
    if (this.dead.has(client)) return;
    this.dead.add(client);
    client.removeAllListeners('notification');
    if (this.client === client) {
      this.client = undefined;
      this.listening.clear();
      clearInterval(this.poolCheck);
    }
    this.retryAt = performance.now() + RETRY_AFTER_MS;
    void client.end().catch(() => undefined);
    // Notifications may have been missed: every waiter looks again (and then polls).
    this.waiters.wakeAll();
  }

  /** Ends the LISTEN connection now; a later subscription opens a new one. */
  close(): void {
    clearInterval(this.poolCheck);
    const client = this.client;
    this.client = undefined;
    this.listening.clear();
    if (client) {
      this.dead.add(client);
      client.removeAllListeners('notification');
      // Errors while closing are of no interest, but must have a listener.
      void client.end().catch(() => undefined);
    }
    if (this.waiters.size !== 0) this.waiters.wakeAll();
  }
}

const listeners = new WeakMap<object, PoolListener>();

/** The one listener of `pool`. */
export function listenerOf(pool: Pool): PoolListener {
  let listener = listeners.get(pool);
  if (!listener) {
    listener = new PoolListener(pool);
    listeners.set(pool, listener);
  }
  return listener;
}
