// Tiny helper for .ci/run: ping the local PostgreSQL, create or drop a database (no psql needed).
import pg from 'pg';

const [cmd, name] = process.argv.slice(2);
const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres', connectionTimeoutMillis: 3000 });
try {
  await client.connect();
  if (cmd === 'create') await client.query(`create database "${name}"`);
  if (cmd === 'drop') await client.query(`drop database if exists "${name}" with (force)`);
  await client.end();
} catch (e) {
  if (cmd !== 'ping') console.error(e.message);
  process.exit(1);
}
