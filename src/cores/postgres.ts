import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
// Types only: erased at build time, so importing cachier never loads the optional driver.
import type { Pool, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { CachierError, CorruptEntryError } from '../errors.js';
import { withDeadline } from '../timeLimits.js';
import { Breaker, breakerPauseMs } from './breaker.js';
import type { Claim, Core, EntryInfo, StoredEntry } from './contract.js';
import { checkOptionNames, checkTimings } from './coreOptions.js';
import { describeError, LazySource } from './lazySource.js';
import { listenerOf } from './postgresListener.js';

/**
 * The part of a `pg` Pool that cachier's public types mention. Kept structural so that
 * users of the other cores compile without the optional `pg` and `@types/pg` packages
 * installed; any `pg` Pool fits it (a `pg` Client does not: it has no pool counts). The
 * core checks at run time that it has `query`, `connect` and `on`.
 *
 * @example
 * const pool: PgPoolLike = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 */
export interface PgPoolLike {
  /** Clients in the pool, busy or idle (as on a `pg` Pool). */
  readonly totalCount: number;
  /** Idle clients in the pool (as on a `pg` Pool). */
  readonly idleCount: number;
  query(...args: never[]): unknown;
  connect(...args: never[]): unknown;
  on(...args: never[]): unknown;
}

/**
 * A `pg` Pool, or a function that returns one (or a promise of one), called once before
 * the first operation and again after it failed.
 *
 * @example
 * const pool: PgPoolSource = () => new pg.Pool({ connectionString: process.env.DATABASE_URL });
 */
export type PgPoolSource = PgPoolLike | (() => PgPoolLike | Promise<PgPoolLike>);

/**
 * Options of {@link PostgresCore}.
 *
 * @example
 * const core = new PostgresCore({ pool, table: 'app.cachier', leaseMs: 30_000 });
 */
export interface PostgresCoreOptions {
  /**
   * The `pg` Pool that reaches the database (cachier never makes or ends one), or a
   * function returning it. The role needs SELECT, INSERT, UPDATE and DELETE on the table,
   * and CREATE on its schema the first time, unless you create the tables yourself.
   * @example new PostgresCore({ pool: new pg.Pool({ connectionString }) })
   */
  pool: PgPoolSource;
  /**
   * The table that holds the entries, optionally schema-qualified (`'app.cachier'`), made
   * if missing together with `<table>_meta`. Letters, digits and `_`, at most 58
   * characters per part; used exactly as written (quoted), so case matters.
   * @default 'cachier'
   * @example new PostgresCore({ pool, table: 'cache.reports' })
   */
  table?: string;
  /**
   * How long a claim ("being calculated" mark) lives without renewal, measured on the
   * database server's clock (`now()`), so the machines' clocks never decide who owns a
   * key. cachier renews a held claim every `leaseMs / 4`; a crashed owner's claim is taken
   * over once it lapses. At least 200.
   * @default 10_000
   * @example new PostgresCore({ pool, leaseMs: 30_000 })
   */
  leaseMs?: number;
  /**
   * Upper bound on every database operation, waiting for a pool connection included, so
   * that a database that is down or never answers cannot hold a call: the operation
   * rejects (cachier warns and returns the function's value). Also sent to `pg` as the
   * query's `query_timeout`, so that a connection stuck on a lost server is dropped from
   * the pool. After a timeout or an unreachable server, the core fails operations at once
   * for `max(1000, operationTimeoutMs)` ms instead of waiting again; then one operation
   * probes while the others keep failing fast.
   * @default 5_000
   * @example new PostgresCore({ pool, operationTimeoutMs: 2_000 })
   */
  operationTimeoutMs?: number;
}

/** The row format, stored in every row: rows of other versions read as misses. */
const ROW_FORMAT_VERSION = 1;
/** The table layout, recorded in `<table>_meta` so that later releases can migrate. */
export const POSTGRES_SCHEMA_VERSION = 1;
const DEFAULT_TABLE = 'cachier';
const DEFAULT_LEASE_MS = 10_000;
const DEFAULT_OPERATION_TIMEOUT_MS = 5_000;
const MIN_LEASE_MS = 200;
const LIST_PAGE_ROWS = 500;
const OPTION_NAMES = ['pool', 'table', 'leaseMs', 'operationTimeoutMs'];
/** `<part>_meta` must stay within PostgreSQL's 63-byte identifiers. */
const IDENTIFIER_PART = /^[A-Za-z_][A-Za-z0-9_]{0,57}$/;

/** SQLSTATEs of a lost race between two `CREATE TABLE IF NOT EXISTS` of the same table. */
const CREATE_RACE_CODES = new Set(['23505', '42P07', '42710', '40P01']);
const UNDEFINED_TABLE = '42P01';
const TIMEOUT_CODE = 'CACHIER_POSTGRES_TIMEOUT';
const POOL_FAILED_CODE = 'CACHIER_POSTGRES_POOL_FAILED';

/** Node's socket errors that say the server cannot be reached (pg passes them on). */
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);
/**
 * SQLSTATEs that say the server cannot be used now, whatever the statement: no database
 * of that name, shutting down or starting up, out of connection slots. Classes 08
 * (connection exception) and 28 (authentication) are matched as a whole.
 */
const UNAVAILABLE_STATES = new Set(['3D000', '53300', '57P01', '57P02', '57P03']);
/** pg's own connection failures carry no code, only these messages. */
const PG_CONNECTION_FAILURE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * True for failures that open the core's breaker: the server could not be reached or used
 * (connection refused or lost, authentication, shutdown, the pool function failed), or an
 * operation timed out.
 */
function opensBreaker(error: unknown): boolean {
  if (error instanceof CachierError) {
    return error.code === TIMEOUT_CODE || error.code === POOL_FAILED_CODE;
  }
  const state = String(sqlState(error) ?? '');
  if (NETWORK_ERRORS.has(state) || UNAVAILABLE_STATES.has(state)) return true;
  if (/^(08|28)[0-9A-Z]{3}$/.test(state)) return true;
  // Node reports a failed connection to every address of a host as one AggregateError.
  const errors = (error as { errors?: unknown } | undefined)?.errors;
  if (
    Array.isArray(errors) &&
    errors.some((inner) => NETWORK_ERRORS.has(String(sqlState(inner))))
  ) {
    return true;
  }
  return PG_CONNECTION_FAILURE.test((error as Error | undefined)?.message ?? '');
}

/**
 * The columns of the entries table and their types, as `format_type` names them: the DDL
 * below is made from them, and a table without them is not cachier's.
 */
const TABLE_COLUMNS: Readonly<Record<string, string>> = {
  name: 'text',
  key: 'text',
  value: 'bytea',
  calculated_at: 'double precision',
  format_version: 'integer',
  claim_owner: 'text',
  claim_expires_at: 'timestamp with time zone',
};
/** The columns of the primary key, which are also never NULL. */
const KEY_COLUMNS = ['name', 'key'];

/** The tables' DDL (the README shows it for the default table name). */
function schemaSql(table: string, meta: string): string {
  const columns = Object.entries(TABLE_COLUMNS).map(
    ([column, type]) => `  ${column} ${type}${KEY_COLUMNS.includes(column) ? ' NOT NULL' : ''},`,
  );
  return `CREATE TABLE IF NOT EXISTS ${table} (
${columns.join('\n')}
  PRIMARY KEY (${KEY_COLUMNS.join(', ')})
);
CREATE TABLE IF NOT EXISTS ${meta} (
  property text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO ${meta} (property, value) VALUES ('schema_version', '${POSTGRES_SCHEMA_VERSION}')
  ON CONFLICT (property) DO NOTHING;`;
}

const quoteIdentifier = (part: string) => `"${part}"`;

/** A short, stable tag of a cache name for NOTIFY payloads (names can be long). */
const nameTag = (name: string) => createHash('sha256').update(name).digest('hex').slice(0, 16);

let machine: string | undefined;

/** Unique per claim; host and pid make a stuck claim traceable in the table. */
function newOwnerId(): string {
  machine ??= `${hostname()}:${process.pid}`;
  return `${machine}:${randomUUID()}`;
}

function sqlState(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

function isPool(value: unknown): value is Pool {
  const candidate = value as Partial<Record<string, unknown>> | null | undefined;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.query === 'function' &&
    typeof candidate.connect === 'function' &&
    typeof candidate.on === 'function'
  );
}

/** The bytes of a bytea column as a plain Uint8Array view (pg returns a Buffer). */
function bytesOf(value: unknown): Uint8Array | undefined {
  if (!(value instanceof Uint8Array)) return undefined;
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Tables ensured per pool: one `CREATE TABLE IF NOT EXISTS` per pool and table, retried after a failure. */
const ensured = new WeakMap<object, Map<string, Promise<void>>>();

/**
 * Stores cachier entries in a PostgreSQL table, so that processes on many machines share
 * entries and calculate each key once. One row per entry, keyed by `(name, key)`: the
 * value as `bytea`, its calculation time, and the claim (owner and expiry). A claim is one
 * `INSERT ... ON CONFLICT ... DO UPDATE ... WHERE` that succeeds only when no live claim
 * exists, with lease times computed and compared on the database's clock (`now()`).
 * Waiters in other processes are woken by `LISTEN/NOTIFY` over one connection per pool,
 * which never keeps a program alive nor holds `pool.end()`. Needs the optional `pg`
 * package; cachier uses the Pool you pass and never ends it.
 *
 * @example
 * import pg from 'pg';
 * import { cachier, PostgresCore } from 'cachier';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const store = new PostgresCore({ pool });
 * const report = cachier(fetchReport, { backend: store });
 * // ... at shutdown:
 * await pool.end();
 */
export class PostgresCore implements Core {
  readonly kind = 'postgres';
  readonly stores = 'bytes';
  readonly leaseMs: number;
  /** The table as written in SQL (quoted, schema-qualified when given so). */
  readonly table: string;
  private readonly meta: string;
  /** The NOTIFY channel of this table (an identifier of [a-z0-9_]). */
  private readonly channel: string;
  private readonly poolSource: LazySource<Pool>;
  private readonly timeoutMs: number;
  /** Opens on an unreachable server, a failing pool function, and on timeouts (see `query`). */
  private readonly breaker: Breaker;

  constructor(options: PostgresCoreOptions) {
    checkOptionNames(
      'PostgresCore',
      options,
      OPTION_NAMES,
      'new PostgresCore({ pool: new pg.Pool(...) })',
    );
    const {
      pool,
      table = DEFAULT_TABLE,
      leaseMs = DEFAULT_LEASE_MS,
      operationTimeoutMs = DEFAULT_OPERATION_TIMEOUT_MS,
    } = options;
    if (typeof pool !== 'function' && !isPool(pool)) {
      throw new TypeError(
        'cachier: PostgresCore pool must be a pg Pool (new pg.Pool(...)) or a function returning one',
      );
    }
    const parts = typeof table === 'string' ? table.split('.') : [];
    if (
      parts.length < 1 ||
      parts.length > 2 ||
      !parts.every((part) => IDENTIFIER_PART.test(part))
    ) {
      throw new TypeError(
        "cachier: PostgresCore table must be a table name such as 'cachier' or 'app.cachier': letters, digits and _, starting with a letter or _, at most 58 characters per part",
      );
    }
    checkTimings('PostgresCore', leaseMs, MIN_LEASE_MS, operationTimeoutMs);
    const quotedParts = parts.map(quoteIdentifier);
    const metaParts = [...parts.slice(0, -1), `${parts[parts.length - 1]}_meta`];
    this.table = quotedParts.join('.');
    this.meta = metaParts.map(quoteIdentifier).join('.');
    this.channel = `cachier_${createHash('sha256').update(this.table).digest('hex').slice(0, 16)}`;
    // The run-time check (isPool) is what lets the structural type stand for pg's Pool.
    this.poolSource = new LazySource<Pool>(pool as Pool | (() => Pool | Promise<Pool>), isPool, {
      code: POOL_FAILED_CODE,
      what: 'the PostgresCore pool function',
      expected: 'a pg Pool (new pg.Pool(...))',
    });
    this.leaseMs = leaseMs;
    this.timeoutMs = operationTimeoutMs;
    this.breaker = new Breaker({
      opensOn: opensBreaker,
      pauseMs: breakerPauseMs(operationTimeoutMs),
      skipped: (what, openedBy) =>
        // After a timeout, still a timeout (the code says so): the server is slow, not
        // gone, so a caller waiting on another process's live claim keeps waiting.
        openedBy instanceof CachierError && openedBy.code === TIMEOUT_CODE
          ? new CachierError(
              TIMEOUT_CODE,
              `skipped ${what}: PostgreSQL did not answer within ${this.timeoutMs} ms moments ago (${describeError(openedBy)})`,
              { cause: openedBy },
            )
          : new CachierError(
              'CACHIER_POSTGRES_UNAVAILABLE',
              `skipped ${what}: PostgreSQL was unreachable moments ago (${describeError(openedBy)})`,
              { cause: openedBy },
            ),
      // No onOpen: a pool function's failure is not kept anyway, and a timeout or a lost
      // server is not the pool's fault (the function may make a new pool on every call).
    });
  }

  async get(name: string, key: string): Promise<StoredEntry | undefined> {
    const { rows } = await this.query(
      'a read',
      `SELECT value, calculated_at, format_version FROM ${this.table} WHERE name = $1 AND key = $2`,
      [name, key],
    );
    const row = rows[0];
    // A row that only carries a claim has no value yet.
    if (!row || row.value === null) return undefined;
    if (row.format_version !== ROW_FORMAT_VERSION) return undefined;
    const bytes = bytesOf(row.value);
    const calculatedAt = row.calculated_at;
    if (!bytes || typeof calculatedAt !== 'number' || !Number.isFinite(calculatedAt)) {
      throw new CorruptEntryError('cachier found a damaged row in its PostgreSQL table');
    }
    return { bytes, calculatedAt };
  }

  async set(name: string, key: string, entry: StoredEntry): Promise<void> {
    // The upsert leaves any claim on the row alone: its owner releases it after storing.
    await this.query(
      'a write',
      `WITH stored AS (
         INSERT INTO ${this.table} (name, key, value, calculated_at, format_version)
         VALUES ($1, $2, $3, $4, ${ROW_FORMAT_VERSION})
         ON CONFLICT (name, key) DO UPDATE SET value = EXCLUDED.value,
           calculated_at = EXCLUDED.calculated_at, format_version = EXCLUDED.format_version
         RETURNING 1
       )
       SELECT pg_notify($5, $6) FROM stored`,
      this.entryParams(name, key, entry),
    );
  }

  /** $1–$6 of a write: the row, the value, its time, and the notification that follows. */
  private entryParams(name: string, key: string, entry: StoredEntry): unknown[] {
    const { bytes } = entry;
    return [
      name,
      key,
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      entry.calculatedAt,
      this.channel,
      `${nameTag(name)}:${key}`,
    ];
  }

  async tryClaim(name: string, key: string): Promise<Claim | undefined> {
    const owner = newOwnerId();
    // Under READ COMMITTED, concurrent claimers of one row queue on its lock and each
    // re-checks the WHERE against the winner's row: exactly one sees it free. A claim
    // without an expiry, or one at 'infinity', was never written by cachier and would never
    // lapse (every caller would wait for ever): it is taken over at once.
    const { rows } = await this.query(
      'a claim',
      `INSERT INTO ${this.table} AS entry (name, key, claim_owner, claim_expires_at)
       VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
       ON CONFLICT (name, key) DO UPDATE SET claim_owner = EXCLUDED.claim_owner,
         claim_expires_at = EXCLUDED.claim_expires_at
       WHERE entry.claim_owner IS NULL OR entry.claim_expires_at IS NULL
         OR entry.claim_expires_at <= now() OR entry.claim_expires_at = 'infinity'
       RETURNING claim_owner`,
      [name, key, owner, this.leaseMs],
    );
    if (rows[0]?.claim_owner !== owner) return undefined;
    return {
      renew: () => this.renew(name, key, owner),
      store: (entry) => this.setIfClaimed(name, key, entry, owner),
      release: () => this.release(name, key, owner),
    };
  }

  /** The owner's write (Claim.store): one statement, on the claim's row only while it is `owner`'s. */
  private async setIfClaimed(
    name: string,
    key: string,
    entry: StoredEntry,
    owner: string,
  ): Promise<boolean> {
    const { rows } = await this.query(
      'a write',
      `WITH stored AS (
         UPDATE ${this.table} SET value = $3, calculated_at = $4,
           format_version = ${ROW_FORMAT_VERSION}
         WHERE name = $1 AND key = $2 AND claim_owner = $7
         RETURNING 1
       )
       SELECT pg_notify($5, $6) FROM stored`,
      [...this.entryParams(name, key, entry), owner],
    );
    return rows.length > 0;
  }

  async delete(name: string, key: string): Promise<void> {
    await this.stripValues('a delete', 'name = $1 AND key = $2', [name, key]);
    await this.dropEmptyRows('a delete', 'name = $1 AND key = $2', [name, key]);
    await this.notify(name, key);
  }

  async clear(name: string): Promise<void> {
    await this.stripValues('a clear', 'name = $1', [name]);
    await this.dropEmptyRows('a clear', 'name = $1', [name]);
    await this.notify(name, '*');
  }

  async clearClaims(name: string): Promise<void> {
    await this.query(
      'a claim clear',
      `UPDATE ${this.table} SET claim_owner = NULL, claim_expires_at = NULL
       WHERE name = $1 AND claim_owner IS NOT NULL`,
      [name],
    );
    await this.dropEmptyRows('a claim clear', 'name = $1', [name]);
    await this.notify(name, '*');
  }

  async deleteStale(name: string, calculatedBefore: number): Promise<void> {
    await this.stripValues('a stale-entry cleanup', 'name = $1 AND calculated_at < $2', [
      name,
      calculatedBefore,
    ]);
    await this.dropEmptyRows('a stale-entry cleanup', 'name = $1', [name]);
  }

  /**
   * Calls `onChange` when another process (or this one) stores, releases or deletes the
   * key's entry, through `LISTEN/NOTIFY` on one connection per pool. Never keeps the
   * process alive; when notifications are unavailable, waits rely on polling.
   */
  subscribe(name: string, key: string, onChange: () => void): () => void {
    let unsubscribe: (() => void) | undefined;
    let cancelled = false;
    this.pool().then(
      (pool) => {
        if (!cancelled) {
          unsubscribe = listenerOf(pool).add(this.channel, `${nameTag(name)}:${key}`, onChange);
        }
      },
      () => undefined, // no pool now: the waiter polls
    );
    return () => {
      cancelled = true;
      unsubscribe?.();
    };
  }

  location(): undefined {
    return undefined;
  }

  async names(): Promise<string[]> {
    const { rows } = await this.query(
      'a listing',
      `SELECT DISTINCT name FROM ${this.table} WHERE value IS NOT NULL ORDER BY name`,
      [],
    );
    return rows.map((row) => String(row.name));
  }

  async *list(name: string): AsyncIterable<EntryInfo> {
    // Pages by key, so that a large cache is never read into memory at once.
    let after = '';
    for (;;) {
      const { rows } = await this.query(
        'a listing',
        `SELECT key, calculated_at, octet_length(value) AS size FROM ${this.table}
         WHERE name = $1 AND value IS NOT NULL AND key COLLATE "C" > $2
         ORDER BY key COLLATE "C" LIMIT ${LIST_PAGE_ROWS}`,
        [name, after],
      );
      for (const row of rows) {
        yield {
          key: String(row.key),
          calculatedAt: Number(row.calculated_at),
          size: Number(row.size),
        };
      }
      if (rows.length < LIST_PAGE_ROWS) return;
      after = String(rows[rows.length - 1]?.key);
    }
  }

  private async renew(name: string, key: string, owner: string): Promise<boolean> {
    const { rowCount } = await this.query(
      'a lease renewal',
      `UPDATE ${this.table} SET claim_expires_at = now() + $4 * interval '1 millisecond'
       WHERE name = $1 AND key = $2 AND claim_owner = $3`,
      [name, key, owner, this.leaseMs],
    );
    return (rowCount ?? 0) > 0;
  }

  private async release(name: string, key: string, owner: string): Promise<void> {
    const { rows } = await this.query(
      'a claim release',
      `WITH released AS (
         UPDATE ${this.table} SET claim_owner = NULL, claim_expires_at = NULL
         WHERE name = $1 AND key = $2 AND claim_owner = $3
         RETURNING value IS NULL AS empty
       )
       SELECT empty, pg_notify($4, $5) FROM released`,
      [name, key, owner, this.channel, `${nameTag(name)}:${key}`],
    );
    // Released without a value (the function failed): drop the row it leaves empty.
    if (rows[0]?.empty === true) {
      await this.dropEmptyRows('a claim release', 'name = $1 AND key = $2', [name, key]);
    }
  }

  /**
   * Removes values (and keeps the rows, whose claims stay with their owners). Stripping
   * first and then dropping rows left with neither value nor claim stays right whatever
   * claims are taken or released between the two statements.
   */
  private async stripValues(what: string, where: string, values: unknown[]): Promise<void> {
    await this.query(
      what,
      `UPDATE ${this.table} SET value = NULL, calculated_at = NULL, format_version = NULL
       WHERE ${where} AND value IS NOT NULL`,
      values,
    );
  }

  private async dropEmptyRows(what: string, where: string, values: unknown[]): Promise<void> {
    await this.query(
      what,
      `DELETE FROM ${this.table} WHERE ${where} AND value IS NULL AND claim_owner IS NULL`,
      values,
    );
  }

  private async notify(name: string, key: string): Promise<void> {
    await this.query('a notification', 'SELECT pg_notify($1, $2)', [
      this.channel,
      `${nameTag(name)}:${key}`,
    ]);
  }

  /**
   * Runs one statement within `operationTimeoutMs` (pool, table check and connection
   * wait included). When the table is missing (dropped meanwhile), makes it again once.
   *
   * A breaker spares callers a server that cannot be used: a refused or lost connection,
   * an authentication failure, a failing pool function or a timeout makes operations fail
   * at once for `max(1000, operationTimeoutMs)` ms; then one operation probes while the
   * others still fail fast, and its outcome closes or reopens the breaker. Timeouts open
   * it too, unlike MongoDB's: `pg` has no server monitor, so a server that hangs (or a
   * pool that is exhausted) only ever shows as timeouts, and without the pause each call
   * would wait out one timeout per statement. A statement skipped after a timeout still
   * rejects as a timeout, so a caller waiting on a live claim keeps waiting.
   */
  private query(
    what: string,
    text: string,
    values: unknown[],
  ): Promise<{ rows: QueryResultRow[]; rowCount: number | null }> {
    const attempt = async () => {
      const pool = await this.pool();
      await this.ensureTable(pool);
      try {
        return await this.send(pool, text, values);
      } catch (error) {
        if (sqlState(error) !== UNDEFINED_TABLE) throw error;
        this.forgetTable(pool);
        await this.ensureTable(pool);
        return await this.send(pool, text, values);
      }
    };
    return this.breaker.run(what, () =>
      withDeadline(
        attempt(),
        this.timeoutMs,
        () =>
          new CachierError(
            TIMEOUT_CODE,
            `PostgreSQL did not complete ${what} within ${this.timeoutMs} ms (PostgresCore operationTimeoutMs)`,
          ),
        // The pending operation, not this guard, decides whether the program stays alive.
        { unref: true },
      ),
    );
  }

  /** One statement on the pool, with pg's own read timeout (pg drops a client that hits it). */
  private send(pool: Pool, text: string, values?: unknown[]): Promise<QueryResult<QueryResultRow>> {
    // `query_timeout` is a pg query option that @types/pg does not declare.
    const config: QueryConfig & { query_timeout: number } = {
      text,
      query_timeout: this.timeoutMs,
    };
    if (values) config.values = values;
    return pool.query(config);
  }

  /** The pool; a function's failure is not kept, so the next operation asks again. */
  private pool(): Promise<Pool> {
    return this.poolSource.get();
  }

  private forgetTable(pool: Pool): void {
    ensured.get(pool)?.delete(this.table);
  }

  /** Makes sure the table exists in the expected layout: one query per pool and table. */
  private ensureTable(pool: Pool): Promise<void> {
    let byTable = ensured.get(pool);
    if (!byTable) {
      byTable = new Map();
      ensured.set(pool, byTable);
    }
    let ready = byTable.get(this.table);
    if (!ready) {
      const started = this.checkOrCreateTable(pool);
      ready = started;
      byTable.set(this.table, started);
      started.catch(() => {
        if (byTable.get(this.table) === started) byTable.delete(this.table);
      });
    }
    return ready;
  }

  private async checkOrCreateTable(pool: Pool): Promise<void> {
    const version = await this.schemaVersion(pool);
    if (version === undefined) {
      await this.refuseForeignTable(pool);
      await this.createTables(pool);
    } else if (version > POSTGRES_SCHEMA_VERSION) {
      throw new CachierError(
        'CACHIER_POSTGRES_SCHEMA',
        `the cachier table has schema version ${version}, made by a newer cachier; this one knows version ${POSTGRES_SCHEMA_VERSION}: upgrade cachier or use another table`,
      );
    }
  }

  /**
   * Refuses a table of this name that has no schema version and not cachier's columns (of
   * cachier's types): another program's table. cachier would otherwise record it as its own
   * (in `<table>_meta`), then fail on every statement with a bare "column does not exist",
   * or read every value back as damaged.
   */
  private async refuseForeignTable(pool: Pool): Promise<void> {
    const { rows } = await this.send(
      pool,
      `SELECT attname::text AS name, format_type(atttypid, NULL) AS type FROM pg_attribute
       WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
      [this.table],
    );
    if (rows.length === 0) return; // no such table: it is made next
    const types = new Map(rows.map((row) => [String(row.name), String(row.type)]));
    const differing = Object.entries(TABLE_COLUMNS)
      .filter(([column, type]) => types.get(column) !== type)
      .map(([column, type]) => `${column} ${type}`);
    if (differing.length > 0) {
      throw new CachierError(
        'CACHIER_POSTGRES_SCHEMA',
        `the table ${this.table} is not a cachier table (it lacks the column${differing.length > 1 ? 's' : ''} ${differing.join(', ')}): it was left alone; pass another table option, or drop it`,
      );
    }
  }

  /** The recorded schema version; undefined when either table is missing. */
  private async schemaVersion(pool: Pool): Promise<number | undefined> {
    try {
      const { rows } = await this.send(
        pool,
        `SELECT (SELECT value FROM ${this.meta} WHERE property = 'schema_version') AS version,
           to_regclass($1) IS NOT NULL AS has_table`,
        [this.table],
      );
      const row = rows[0];
      if (row?.has_table !== true || row.version === null) return undefined;
      return Number(row.version);
    } catch (error) {
      if (sqlState(error) === UNDEFINED_TABLE) return undefined;
      throw error;
    }
  }

  /**
   * `CREATE TABLE IF NOT EXISTS` is not safe against itself: two sessions creating the
   * same table at once can fail on the catalog's unique indexes. The loser retries and
   * then finds the table.
   */
  private async createTables(pool: Pool): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.send(pool, schemaSql(this.table, this.meta));
        return;
      } catch (error) {
        if (attempt >= 4 || !CREATE_RACE_CODES.has(String(sqlState(error)))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)));
      }
    }
  }
}
