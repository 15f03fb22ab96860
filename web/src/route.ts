import { useEffect, useState } from 'preact/hooks';

/** Hash routes (`#/exports/12/files?prefix=a/`), so the server needs to serve only `/`. */
export interface Route {
  parts: string[];
  query: URLSearchParams;
  raw: string;
}

export function parseHash(hash = location.hash): Route {
  const raw = hash.replace(/^#/, '');
  const [path, qs = ''] = raw.split('?', 2);
  return {
    parts: path
      .split('/')
      .filter(Boolean)
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return p;
        }
      }),
    query: new URLSearchParams(qs),
    raw,
  };
}

export function useRoute(): Route {
  const [route, set] = useState(parseHash());
  useEffect(() => {
    const f = () => set(parseHash());
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return route;
}

export function href(path: string, query?: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

export function go(path: string, query?: Record<string, string | number | undefined>) {
  location.hash = href(path, query);
}
