import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { ConfigError } from '../config.js';
import { loadCliConfig } from './cli-config.js';
import { openDatabase } from '../infra/db/database.js';
import { createLogger } from '../infra/logger.js';
import { createUser, findUserByLogin, setPassword } from '../domain/users/users-repo.js';

const USAGE = `usage:
  npm run user -- add <login> [--password <pw>] [--email <address>] [--name <name>]
  npm run user -- passwd <login> [--password <pw>]
Without --password the password is read from standard input (or generated and printed when input is not a terminal).`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const generated = randomBytes(12).toString('base64url');
    console.log(`generated password: ${generated}`);
    return generated;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const pw = await rl.question('password: ');
  rl.close();
  return pw;
}

/** R-AUTH-5: `npm run user -- add|passwd`, against the same database the server uses. */
async function main() {
  const [command, login, ...rest] = process.argv.slice(2);
  if (!command || !login || !['add', 'passwd'].includes(command)) {
    console.error(USAGE);
    process.exit(2);
  }
  const config = loadCliConfig();
  const database = await openDatabase(config, createLogger('warn'), 2);
  try {
    const password = option(rest, 'password') ?? (await readPassword());
    if (password.length < 4) throw new Error('the password must have at least 4 characters');
    if (command === 'add') {
      if (await findUserByLogin(database.db, login)) throw new Error(`user ${login} exists already`);
      const u = await createUser(database.db, { login, password, email: option(rest, 'email'), name: option(rest, 'name') });
      console.log(`user ${u.login} created (id ${u.id})`);
    } else {
      if (!(await setPassword(database.db, login, password))) throw new Error(`no user ${login}`);
      console.log(`password of ${login} changed; their sessions were ended`);
    }
  } finally {
    await database.close();
  }
}

main().catch((e) => {
  console.error(e instanceof ConfigError ? e.message : `error: ${(e as Error).message}`);
  process.exit(1);
});
