import pg from 'pg';
import type { Knex } from 'knex';
import type { Logger } from '../logger.js';

export interface ListenerOptions {
  /** The connection settings of the pool (see `listenerConnection`). */
  connection: pg.ClientConfig;
  log: Logger;
  /** Back-off of the reconnection: 250 ms, doubled per failed try, at most `maxDelayMs`. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** A `select 1` this often: an idle LISTEN connection whose peer vanished is noticed only by a query. */
  pingMs?: number;
}

interface Subscription {
  onMessage: (payload: string) => void;
  onResubscribed?: () => void;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * PostgreSQL LISTEN on one dedicated connection, outside the knex pool: a pooled connection would be handed to other
 * queries, and LISTEN belongs to a session. It connects on the first subscription and disconnects after the last.
 * A lost connection (server restart, pg_terminate_backend, a network cut noticed by the ping) is reopened with
 * back-off and every channel listened to again; subscribers are then told (`onResubscribed`), because whatever was
 * notified meanwhile is lost and they should look at the database once instead.
 */
export class PgListener {
  private readonly subs = new Map<string, Set<Subscription>>();
  /** The client being connected or connected; null while waiting for the next try. */
  private client: pg.Client | null = null;
  private ready = false;
  private hadConnection = false;
  private delay: number;
  private retry: NodeJS.Timeout | null = null;
  private ping: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: ListenerOptions) {
    this.delay = opts.firstDelayMs ?? 250;
  }

  /** True while the connection is open and every channel is listened to (tests, health). */
  get listening(): boolean {
    return this.ready;
  }

  subscribe(channel: string, onMessage: (payload: string) => void, onResubscribed?: () => void): () => void {
    if (!CHANNEL.test(channel)) throw new Error(`invalid channel name ${JSON.stringify(channel)}`);
    const sub: Subscription = { onMessage, onResubscribed };
    let set = this.subs.get(channel);
    const fresh = !set;
    if (!set) {
      set = new Set();
      this.subs.set(channel, set);
    }
    set.add(sub);
    this.closed = false;
    if (!this.client && !this.retry) void this.connect();
    else if (fresh && this.ready) this.query(`listen ${channel}`);
    return () => {
      const s = this.subs.get(channel);
      if (!s?.delete(sub) || s.size > 0) return;
      this.subs.delete(channel);
      if (this.subs.size === 0) void this.disconnect();
      else if (this.ready) this.query(`unlisten ${channel}`);
    };
  }

  /** Ends the connection and every retry; subscribing again reopens it. */
  async close(): Promise<void> {
    this.subs.clear();
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    this.closed = true;
    this.ready = false;
    this.hadConnection = false;
    if (this.retry) clearTimeout(this.retry);
    if (this.ping) clearInterval(this.ping);
    this.retry = this.ping = null;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }

  private query(sql: string) {
    const c = this.client;
    c?.query(sql).catch((err: Error) => this.lost(c, err));
  }

  private async connect(): Promise<void> {
    this.retry = null;
    if (this.closed || this.subs.size === 0) return;
    const client = new pg.Client(this.opts.connection);
    this.client = client;
    // The error handler exists before anything can fail: an unhandled 'error' event would end the process.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('the connection ended')));
    client.on('notification', (n) => {
      for (const s of [...(this.subs.get(n.channel) ?? [])]) {
        try {
          s.onMessage(n.payload ?? '');
        } catch (err) {
          this.opts.log.error({ err, channel: n.channel }, 'notification handler failed');
        }
      }
    });
    try {
      await client.connect();
      for (const channel of this.subs.keys()) await client.query(`listen ${channel}`);
    } catch (err) {
      this.lost(client, err as Error);
      return;
    }
    if (this.client !== client) return;
    this.ready = true;
    this.delay = this.opts.firstDelayMs ?? 250;
    this.ping = setInterval(() => this.query('select 1'), this.opts.pingMs ?? 10_000);
    this.ping.unref();
    if (this.hadConnection) {
      this.opts.log.info({ channels: [...this.subs.keys()] }, 'notification listener re-subscribed');
      for (const set of this.subs.values())
        for (const s of set) {
          try {
            s.onResubscribed?.();
          } catch (err) {
            this.opts.log.error({ err }, 'notification handler failed');
          }
        }
    }
    this.hadConnection = true;
  }

  private lost(client: pg.Client | null, err: Error): void {
    if (!client || client !== this.client) return;
    this.client = null;
    this.ready = false;
    if (this.ping) clearInterval(this.ping);
    this.ping = null;
    void client.end().catch(() => {});
    if (this.closed || this.subs.size === 0) return;
    // Logged by message (the error of a failed connect may carry the connection settings), once per loss and at
    // info: polling covers the gap, and an unreachable database is reported by the loops' DatabaseOutage already.
    const first = this.delay === (this.opts.firstDelayMs ?? 250);
    this.opts.log[first ? 'info' : 'debug'](
      { reason: err.message, retry_ms: this.delay },
      'notification listener lost its connection; reconnecting (polling covers the gap)',
    );
    this.retry = setTimeout(() => void this.connect(), this.delay);
    // The retry alone never keeps a process alive that has nothing else to do.
    this.retry.unref();
    this.delay = Math.min(this.delay * 2, this.opts.maxDelayMs ?? 10_000);
  }
}

/** The pool's connection settings, for the listener's own connection (same server, same credentials). */
export function listenerConnection(db: Knex): pg.ClientConfig {
  const conn = (db.client as { config: { connection: pg.ClientConfig | string } }).config.connection;
  const base = typeof conn === 'string' ? { connectionString: conn } : { ...conn };
  // LISTEN waits forever by design; the pool's statement timeout has no meaning here.
  delete (base as { statement_timeout?: unknown }).statement_timeout;
  // A peer that vanished silently never answers the ping: the timeout turns that into a reconnect.
  return { ...base, application_name: 'export-manager-listener', keepAlive: true, query_timeout: 5_000 };
}
