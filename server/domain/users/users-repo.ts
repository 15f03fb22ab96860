import type { Knex } from 'knex';
import { hashPassword } from './passwords.js';

export interface UserRow {
  id: number;
  login: string;
  name: string;
  email: string | null;
  password_hash: string;
}

const LOGIN_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

export const findUserByLogin = (db: Knex, login: string) =>
  db<UserRow>('users').where({ login }).first() as Promise<UserRow | undefined>;

export async function createUser(
  db: Knex,
  input: { login: string; password: string; name?: string; email?: string | null },
): Promise<UserRow> {
  if (!LOGIN_PATTERN.test(input.login)) throw new Error(`invalid login ${JSON.stringify(input.login)}: use letters, digits, . _ @ -`);
  const [row] = await db<UserRow>('users')
    .insert({
      login: input.login,
      name: input.name ?? input.login,
      email: input.email ?? null,
      password_hash: await hashPassword(input.password),
    })
    .returning('*');
  return row;
}

export async function setPassword(db: Knex, login: string, password: string): Promise<boolean> {
  const n = await db('users').where({ login }).update({ password_hash: await hashPassword(password) });
  // A new password ends every session of that user.
  if (n) await db('sessions').whereIn('user_id', db('users').select('id').where({ login })).delete();
  return n > 0;
}

export const publicUser = (u: UserRow) => ({ _id: u.id, login: u.login, name: u.name, email: u.email });
