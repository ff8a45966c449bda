// Types only: erased at build time, so importing cachier never loads the optional driver.
import type { Client, ClientConfig, Notification, Pool } from 'pg';

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
  /** channel → payload → callbacks */
  private readonly handlers = new Map<string, Map<string, Set<() => void>>>();
  private client: Client | undefined;
  private connecting: Promise<Client | undefined> | undefined;
  private readonly listening = new Set<string>();
  private lingerTimer: NodeJS.Timeout | undefined;
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
  add(channel: string, payload: string, onChange: () => void): () => void {
    let byPayload = this.handlers.get(channel);
    if (!byPayload) {
      byPayload = new Map();
      this.handlers.set(channel, byPayload);
    }
    let callbacks = byPayload.get(payload);
    if (!callbacks) {
      callbacks = new Set();
      byPayload.set(payload, callbacks);
    }
    // A fresh function per subscription, so that one callback subscribed twice is two entries.
    const entry = () => onChange();
    callbacks.add(entry);
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    void this.listen(channel);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      callbacks.delete(entry);
      if (callbacks.size === 0) byPayload.delete(payload);
      if (byPayload.size === 0) this.handlers.delete(channel);
      if (this.handlers.size === 0) this.scheduleClose();
    };
  }

  /** Whether any waiter is subscribed (for tests and for the linger timer). */
  get size(): number {
    let count = 0;
    for (const byPayload of this.handlers.values()) {
      for (const callbacks of byPayload.values()) count += callbacks.size;
    }
    return count;
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
      if (client === this.client) this.wakeChannel(channel);
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
        if (this.poolEnding() || this.handlers.size === 0) {
          this.dead.add(client);
          void client.end().catch(() => undefined);
          if (this.handlers.size !== 0) this.wakeAll();
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
    const byPayload = this.handlers.get(message.channel);
    const payload = message.payload ?? '';
    if (!byPayload) return;
    const targets: (() => void)[] = [];
    if (payload.endsWith(':*')) {
      const prefix = payload.slice(0, -1);
      for (const [candidate, callbacks] of byPayload) {
        if (candidate.startsWith(prefix)) targets.push(...callbacks);
      }
    } else {
      targets.push(...(byPayload.get(payload) ?? []));
    }
    for (const onChange of targets) onChange();
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
    this.wakeAll();
  }

  private wakeChannel(channel: string): void {
    const all: (() => void)[] = [];
    for (const callbacks of this.handlers.get(channel)?.values() ?? []) all.push(...callbacks);
    for (const onChange of all) onChange();
  }

  private wakeAll(): void {
    const all: (() => void)[] = [];
    for (const byPayload of this.handlers.values()) {
      for (const callbacks of byPayload.values()) all.push(...callbacks);
    }
    for (const onChange of all) onChange();
  }

  private scheduleClose(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.handlers.size === 0) this.close();
    }, LINGER_MS);
    this.lingerTimer.unref();
  }

  /** Ends the LISTEN connection now; a later subscription opens a new one. */
  close(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
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
    if (this.handlers.size !== 0) this.wakeAll();
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
