import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs a hot statement as a named prepared statement on a pooled connection: PostgreSQL parses and plans it once per
 * connection instead of on every request (knex sends every query as unnamed, re-planned text). For the few queries
 * on the request path whose planning costs more than their execution (R-PERF-4). `text` uses `$1…` placeholders.
 * Inside a transaction, the transaction's own connection is used, as unnamed text.
 */
// The statement name carries a hash of its text: one prefix can serve a few shapes (with or without OFFSET) and a
// name is never reused for different SQL, which PostgreSQL would refuse.
const names = new Map<string, string>();
function statementName(prefix: string, text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `${prefix}_${createHash('sha1').update(text).digest('hex').slice(0, 12)}`;
    if (names.size < 1000) names.set(text, name);
  }
  return name;
}

export async function preparedQuery<T>(db: Knex, name: string, text: string, values: unknown[]): Promise<T[]> {
  if (db.isTransaction) return (await db.raw(text.replace(/\$\d+/g, '?'), values as Knex.RawBinding[])).rows as T[];
  const client = db.client as { acquireConnection(): Promise<PgConnection>; releaseConnection(c: PgConnection): Promise<void> };
  const connection = await client.acquireConnection();
  try {
    return (await connection.query({ name: statementName(name, text), text, values })).rows as T[];
  } finally {
    await client.releaseConnection(connection);
  }
}
