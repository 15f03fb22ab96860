import { has, t } from './i18n';

const TOKEN = 'em.token';

export interface ErrorBody {
  realm?: string;
  code?: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

/** An API answer other than 2xx, with the SPEC §2 body when there was one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.description ?? `HTTP ${status}`);
  }
  get code() {
    return this.body.code ?? '';
  }
  /** `parameters.path` of a validation error: the attribute it concerns. */
  get path(): string | undefined {
    const p = this.body.parameters?.path;
    return typeof p === 'string' ? p : undefined;
  }
}

export const getToken = () => sessionStorage.getItem(TOKEN);
export const setToken = (token: string | null) =>
  token ? sessionStorage.setItem(TOKEN, token) : sessionStorage.removeItem(TOKEN);

/** Called when the session is missing or expired; the app shows the login and comes back afterwards. */
let onExpired: () => void = () => {};
export const setExpiredHandler = (f: () => void) => {
  onExpired = f;
};

type Query = Record<string, string | number | undefined>;

export function apiUrl(path: string, query?: Query, withToken = false): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
  const token = getToken();
  if (withToken && token) q.set('token', token);
  const s = q.toString();
  return `/api/v1${path}${s ? `?${s}` : ''}`;
}

export async function api<T>(
  method: string,
  path: string,
  opts: { query?: Query; body?: unknown; signal?: AbortSignal; anonymous?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = getToken();
  if (token && !opts.anonymous) headers['X-Export-Token'] = token;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(apiUrl(path, opts.query), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      cache: 'no-store',
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, { code: 'network' });
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, (data as ErrorBody) ?? {});
    if (err.code === 'error.user.not_authenticated' && !opts.anonymous) onExpired();
    throw err;
  }
  return data as T;
}

/** Every API error as a sentence a person understands, in the current language. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) return t('err_generic', { description: String((err as Error)?.message ?? err) });
  if (err.status === 0) return t('err_network');
  if (has(err.code)) return t(err.code);
  const description = err.body.description ?? `HTTP ${err.status}`;
  if (err.path !== undefined && err.code.startsWith('error.api.'))
    return t('err_at', { path: err.path || '/', description });
  if (err.code.startsWith('error.server.')) return t('error.server.generic');
  return t('err_generic', { description });
}
