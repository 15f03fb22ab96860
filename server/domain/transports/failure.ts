/**
 * Transport failures: an Error whose message is one sentence for the export's owner (it becomes `_failure_reason`
 * and the TRANSPORT_FAILED log line), with the technical error kept as `cause` for the server log.
 */
export class TransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
  }
}

export const isTransportError = (e: unknown): e is TransportError => e instanceof TransportError;

/** A failure no retry can cure (a destination refused by policy, a mail cap reached): the runner fails at once. */
export const isPermanent = (e: unknown): boolean =>
  e instanceof TransportError && (e as { permanent?: unknown }).permanent === true;

/** A TransportError that is permanent (see isPermanent). */
export function permanentError(message: string, options?: { cause?: unknown }): TransportError {
  return Object.assign(new TransportError(message, options), { permanent: true as const });
}

/** Thrown when `ctx.signal` aborts; the lead treats it as cancellation, not as a transport failure. */
export const cancelled = (label: string) => new TransportError(`${label} delivery was cancelled`);

const NETWORK_PHRASES: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed',
  ETIMEDOUT: 'the server did not answer in time',
  ENOTFOUND: 'the host name could not be resolved',
  EAI_AGAIN: 'the host name could not be resolved',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
};

/** A short phrase for common socket errors, or null when the error is not a recognised network error. */
export function networkPhrase(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_PHRASES[code]) return NETWORK_PHRASES[code];
  const message = err instanceof Error ? err.message : '';
  // Some clients (nodemailer) wrap socket errors in their own code but keep the errno in the message.
  const inMessage = /\b(E[A-Z_]+)\b/.exec(message)?.[1];
  if (inMessage && NETWORK_PHRASES[inMessage]) return NETWORK_PHRASES[inMessage];
  if (/timed? ?out/i.test(message)) return NETWORK_PHRASES.ETIMEDOUT;
  if (/closed|lost|end(ed)? unexpectedly|socket hang up|No response from server/i.test(message)) {
    return 'the connection was closed unexpectedly';
  }
  return null;
}

/** Removes every secret value from a message, as a last line of defence for R-TR-4. */
export function redact(message: string, secrets: readonly (string | undefined | null)[]): string {
  let out = message;
  for (const s of secrets) {
    if (!s || s.length < 3) continue;
    out = out.split(s).join('***');
    const encoded = encodeURIComponent(s);
    if (encoded !== s) out = out.split(encoded).join('***');
  }
  return out;
}

/**
 * Final mapping for a deliver(): keeps TransportErrors (redacted), maps aborts and anything else into one sentence.
 * `fallback` names the operation, e.g. "SFTP delivery to example.com failed".
 */
export function toTransportError(
  err: unknown,
  fallback: string,
  signal: AbortSignal,
  label: string,
  secrets: readonly (string | undefined | null)[],
): TransportError {
  if (signal.aborted) return cancelled(label);
  if (err instanceof TransportError) {
    const message = redact(err.message, secrets);
    if (message === err.message) return err;
    return isPermanent(err) ? permanentError(message, { cause: err.cause }) : new TransportError(message, { cause: err.cause });
  }
  const phrase = networkPhrase(err);
  const detail = phrase ?? (err instanceof Error ? err.message : String(err));
  return new TransportError(redact(`${fallback}: ${detail}`, secrets), { cause: err });
}

/** Rejects as soon as `signal` aborts, running `onAbort` (which closes the connection) first. */
export function onAbort(signal: AbortSignal, close: () => void): () => void {
  if (signal.aborted) {
    close();
    return () => {};
  }
  const listener = () => close();
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
