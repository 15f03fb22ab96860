import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Every test app's log lines, at debug level, and everything the server processes spawned by tests print, go to one
 * file of the mocha run; at the end the root hook greps it for every secret the tests used (issue 12: no token,
 * passkey, password or secret ever appears in a log).
 */
export interface LogCapture {
  stream(): WriteStream;
  /** A secret a test used (password, session token, passkey, transport password); short strings would match by chance. */
  remember(value: string | null | undefined): void;
  /** Feeds a child process's stdout and stderr into the capture, whole lines at a time. */
  child(child: ChildProcess, label: string): void;
  /** Closes the capture and returns what leaked: the secrets found and the patterns matched (with their line). */
  leaks(): Promise<{ lines: number; leaks: string[] }>;
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

export function createLogCapture(file: string): LogCapture {
  let stream: WriteStream | null = null;
  const secrets = new Set<string>();
  const open = () => {
    if (!stream) {
      stream = createWriteStream(file, { flags: 'w' });
      stream.on('error', () => {});
    }
    return stream;
  };
  return {
    stream: open,
    remember(value) {
      if (value && value.length >= 8) secrets.add(value);
    },
    child(child, label) {
      // Lines, not chunks: a chunk boundary would otherwise let the test apps' lines split a child's line (and a
      // secret in it) in two.
      for (const source of [child.stdout, child.stderr]) {
        let pending = '';
        source?.on('data', (d: Buffer) => {
          const text = pending + d.toString('utf8');
          const end = text.lastIndexOf('\n');
          pending = text.slice(end + 1);
          if (end >= 0 && stream !== null) stream.write(text.slice(0, end + 1));
        });
        source?.on('end', () => {
          if (pending && stream !== null) stream.write(`${pending}\n`);
          pending = '';
        });
      }
      open().write(`{"capture":"child process ${label.replace(/["\\]/g, '')} started"}\n`);
    },
    async leaks() {
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
    },
  };
}

/** The capture of this mocha run, which the root hook checks. */
const suite = createLogCapture(path.join(os.tmpdir(), `em-suite-log-${process.pid}.jsonl`));

export const suiteLogStream = (): WriteStream => suite.stream();
export const rememberSecret = (value: string | null | undefined): void => suite.remember(value);
export const captureChildLogs = (child: ChildProcess, label: string): void => suite.child(child, label);
export const suiteLogLeaks = (): Promise<{ lines: number; leaks: string[] }> => suite.leaks();
