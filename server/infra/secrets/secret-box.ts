import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * R-TR-4: transport secrets are stored encrypted with AES-256-GCM under SECRET_KEY, returned as "***" and never
 * logged. Sealed values are self-describing (`v1:<iv>:<tag>:<ciphertext>`, base64) so the format can change later
 * (v2 …) without guessing, and so a value is never sealed twice.
 */
const MASK = '***';
const PREFIX = 'v1:';

export const isSealed = (value: unknown): value is string =>
  typeof value === 'string' && /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*$/.test(value);

export function encryptSecret(plain: string, key: Buffer): string {
  // 96-bit random IV, the GCM recommendation; with one key and few secrets collisions are not a concern.
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `${PREFIX}${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ct.toString('base64')}`;
}

export function decryptSecret(sealed: string, key: Buffer): string {
  if (!isSealed(sealed)) throw new Error('The stored secret has an unknown format');
  const [, iv, tag, ct] = sealed.split(':') as [string, string, string, string];
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]).toString('utf8');
  } catch (err) {
    // Wrong SECRET_KEY or tampered data; the message must not leak anything about the plaintext.
    throw new Error('A stored secret could not be decrypted (was SECRET_KEY changed?)', { cause: err });
  }
}

/** SECRET_KEY as 64 hex characters or base64 of 32 bytes. */
export function parseSecretKey(value: string): Buffer {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  const b = Buffer.from(v, 'base64');
  if (b.length === 32 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) return b;
  throw new Error('SECRET_KEY must be 64 hex characters or the base64 encoding of 32 bytes');
}

/**
 * The key from SECRET_KEY; outside production a missing key is generated once into `<dataDir>/secret.key` (0600) so
 * a fresh `npm start` works and secrets survive restarts. In production a missing key is a start-up error: a
 * generated key would silently make stored secrets unreadable on the next machine.
 */
export async function loadOrCreateSecretKey(
  dataDir: string,
  envValue: string | undefined,
  production: boolean,
): Promise<Buffer> {
  if (envValue && envValue.trim() !== '') return parseSecretKey(envValue);
  if (production) throw new Error('SECRET_KEY is required in production (64 hex characters or base64 of 32 bytes)');
  const file = path.join(dataDir, 'secret.key');
  try {
    return parseSecretKey(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    // 'wx': if another process created it meanwhile, use theirs rather than overwrite it.
    await writeFile(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return parseSecretKey(await readFile(file, 'utf8'));
    throw err;
  }
}

/** What the helpers need from a Transport. */
export interface SecretSpec {
  readonly type: string;
  readonly secretOptions: readonly string[];
}

type Options = Record<string, unknown>;

/**
 * The option named `url` (the `url` transport) holds a location URL whose password is the secret. It is read the way
 * URLs are parsed (WHATWG: the last `@` ends the user info, percent-encoding decoded), so a raw `@` or `:` inside the
 * password cannot leave part of it outside the sealed value. Other secret options are secret as a whole, whatever
 * they look like.
 */
const URL_OPTION = 'url';

const lenientDecode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** The decoded password of a `scheme://user:password@host/…` value, or null (no URL, or no password). */
function urlPassword(value: string): string | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || !URL.canParse(value)) return null;
  const password = new URL(value).password;
  return password ? lenientDecode(password) : null;
}

/** `value` with its password replaced (percent-encoded by the URL setter). */
function withUrlPassword(value: string, password: string): string {
  const url = new URL(value);
  url.password = password;
  return url.href;
}

/** Applies `fn` to each secret value of `options`; for the `url` option, to the URL's whole password. */
function mapSecrets(spec: SecretSpec, options: Options, fn: (secret: string, key: string) => string): Options {
  const out: Options = { ...options };
  for (const key of spec.secretOptions) {
    const value = out[key];
    if (typeof value !== 'string' || value === '') continue;
    if (key === URL_OPTION) {
      const password = urlPassword(value);
      if (password !== null) out[key] = withUrlPassword(value, fn(password, key));
    } else out[key] = fn(value, key);
  }
  return out;
}

/** Encrypts every secret option (idempotent: sealed values stay as they are). */
export const sealSecrets = (spec: SecretSpec, options: Options, key: Buffer): Options =>
  mapSecrets(spec, options, (s) => (isSealed(s) ? s : encryptSecret(s, key)));

/** Decrypts sealed secret options, for handing the options to `deliver`. */
export const unsealSecrets = (spec: SecretSpec, options: Options, key: Buffer): Options =>
  mapSecrets(spec, options, (s) => (isSealed(s) ? decryptSecret(s, key) : s));

/** What the API returns: secrets as "***" (`sftp://user:***@host/path` for URLs). */
export const maskSecrets = (spec: SecretSpec, options: Options): Options => mapSecrets(spec, options, () => MASK);

/** The clear-text secret values of unsealed options (URL passwords decoded), e.g. for redacting messages. */
export function plainSecrets(spec: SecretSpec, options: Options): string[] {
  const out: string[] = [];
  mapSecrets(spec, options, (s) => {
    out.push(s);
    return s;
  });
  return out;
}

/** The secret options an update sends back as "***" (for `url`, a URL whose password is "***"). */
export function keptSecrets(spec: SecretSpec, incoming: Options): string[] {
  return spec.secretOptions.filter((key) => {
    const value = incoming[key];
    if (typeof value !== 'string') return false;
    return key === URL_OPTION ? urlPassword(value) === MASK : value === MASK;
  });
}

/**
 * An update's options: a secret sent back as "***" takes the stored value, anything else replaces it; with nothing
 * stored a "***" option is dropped (so validation reports it missing) and a URL keeps no password. Whether the
 * destination changed meanwhile is the caller's question (stored-transports), since only the transport knows which
 * options name its destination.
 */
export function mergeSecrets(spec: SecretSpec, stored: Options, incoming: Options): Options {
  const out: Options = { ...incoming };
  for (const key of keptSecrets(spec, incoming)) {
    if (key === URL_OPTION) {
      const old = typeof stored[key] === 'string' ? urlPassword(stored[key] as string) : null;
      out[key] = withUrlPassword(incoming[key] as string, old ?? '');
    } else if (key in stored) out[key] = stored[key];
    else delete out[key];
  }
  return out;
}

/**
 * Synchronous twin of `loadOrCreateSecretKey` for the (synchronous) composition root: same rules, same file.
 * Runs once at start-up, so blocking file I/O is fine there.
 */
export function loadOrCreateSecretKeySync(dataDir: string, envValue: string | undefined, production: boolean): Buffer {
  if (envValue && envValue.trim() !== '') return parseSecretKey(envValue);
  if (production) throw new Error('SECRET_KEY is required in production (64 hex characters or base64 of 32 bytes)');
  const file = path.join(dataDir, 'secret.key');
  try {
    return parseSecretKey(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return parseSecretKey(readFileSync(file, 'utf8'));
    throw err;
  }
}
