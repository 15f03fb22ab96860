import { createWriteStream, existsSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Every test app's log lines, at debug level, go to one file of the mocha run; at the end the root hook greps it for
 * every secret the tests used (issue 12: no token, passkey, password or secret ever appears in a log).
 */
const file = path.join(os.tmpdir(), `em-suite-log-${process.pid}.jsonl`);
let stream: WriteStream | null = null;
const secrets = new Set<string>();

export function suiteLogStream(): WriteStream {
  if (!stream) {
    stream = createWriteStream(file, { flags: 'w' });
    stream.on('error', () => {});
  }
  return stream;
}

/** A secret a test used (password, session token, passkey, transport password); short strings would match by chance. */
export function rememberSecret(value: string | null | undefined): void {
  if (value && value.length >= 8) secrets.add(value);
}

/**
 * Patterns that are a leak whatever the value: a query token, a download path with its passkey, a password or
 * secret field with a value other than the redaction mark, a bearer credential.
 */
const LEAK_PATTERNS: [string, RegExp][] = [
  ['query token', /[?&]token=[^&"\s*]/],
  ['download passkey in a path', /\/download\/(?!\*\*\*|\{\*rest\})[^/"\s]+/],
  ['password field', /"(?:password|passphrase|secret|secret_access_key|private_key)":"(?!\*\*\*")[^"]/],
  ['bearer credential', /Bearer [A-Za-z0-9._~+/-]{8,}/],
];

/** Closes the capture and returns what leaked: the secrets found and the patterns matched (with their line). */
export async function suiteLogLeaks(): Promise<{ lines: number; leaks: string[] }> {
  if (!stream) return { lines: 0, leaks: [] };
  const s = stream;
  stream = null;
  await new Promise<void>((r) => s.end(() => r()));
  if (!existsSync(file)) return { lines: 0, leaks: [] };
  const text = readFileSync(file, 'utf8');
  rmSync(file, { force: true });
  const lines = text.split('\n').filter(Boolean);
  const leaks: string[] = [];
  for (const secret of secrets) {
    const line = lines.find((l) => l.includes(secret));
    if (line) leaks.push(`a secret used by a test appears in: ${line.slice(0, 400)}`);
  }
  for (const [what, pattern] of LEAK_PATTERNS) {
    const line = lines.find((l) => pattern.test(l));
    if (line) leaks.push(`${what}: ${line.slice(0, 400)}`);
  }
  return { lines: lines.length, leaks };
}
