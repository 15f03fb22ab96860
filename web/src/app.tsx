import { useEffect, useState } from 'preact/hooks';
import { api, getToken, setExpiredHandler, setToken } from './api';
import { type Lang, setLang, t, useLang } from './i18n';
import { go, href, parseHash, type Route, useRoute } from './route';
import type { Session } from './types';
import { ErrorPage, NotFound, serverErrorKey } from './views/error-page';
import { ExportList } from './views/export-list';
import { ExportPage } from './views/export-page';
import { Login } from './views/login';

function LanguageSwitch() {
  const lang = useLang();
  return (
    <label class="lang">
      <span>{t('language')}</span>
      <select value={lang} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
        <option value="en" lang="en">
          English
        </option>
        <option value="de" lang="de">
          Deutsch
        </option>
      </select>
    </label>
  );
}

/** Where to go back to after a login: the route the user was on (never the login itself). */
const returnTarget = (route: Route) => (route.parts[0] === 'login' ? route.query.get('next') || '' : route.raw);

export function App() {
  useLang();
  const route = useRoute();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | null>(null);

  const errorKey = serverErrorKey(route.raw);

  useEffect(() => {
    setExpiredHandler(() => {
      setToken(null);
      setSession(null);
      setNotice(t('login_expired'));
      const here = returnTarget(parseHash());
      go('/login', { next: here || undefined });
    });
  }, []);

  useEffect(() => {
    if (errorKey !== null) return;
    const token = getToken();
    if (!token) {
      setSession(null);
      return;
    }
    api<Session>('GET', '/session', { query: { token } })
      .then((s) => {
        if (s.authenticated) setSession(s);
        else {
          setToken(null);
          setSession(null);
        }
      })
      .catch(() => {
        setToken(null);
        setSession(null);
        setNotice(t('login_expired'));
      });
  }, [errorKey !== null]);

  useEffect(() => {
    document.title = t('app');
  });

  if (errorKey !== null) {
    return (
      <Shell>
        <ErrorPage errorKey={errorKey} />
      </Shell>
    );
  }
  if (session === undefined) {
    return (
      <Shell>
        <p role="status">{t('loading')}</p>
      </Shell>
    );
  }
  if (session === null || route.parts[0] === 'login') {
    if (session && route.parts[0] === 'login') {
      go(route.query.get('next')?.replace(/^\/?/, '/') || '/exports');
      return null;
    }
    return (
      <Shell>
        <Login
          notice={notice}
          onLogin={(s) => {
            setToken(s.token);
            setNotice(null);
            setSession(s);
            const next = returnTarget(route);
            location.hash = next && !next.startsWith('login') ? next : '/exports';
          }}
        />
      </Shell>
    );
  }

  const logout = async () => {
    try {
      await api('POST', '/session/deauthenticate');
    } catch {
      // The session may be gone already; the page forgets it either way.
    }
    setToken(null);
    setSession(null);
    setNotice(t('logged_out'));
    go('/login');
  };

  return (
    <Shell user={session.user?.name || session.user?.login} onLogout={logout}>
      <Screen route={route} />
    </Shell>
  );
}

function Screen({ route }: { route: Route }) {
  const [first, id, tab] = route.parts;
  if (!first || (first === 'exports' && !id)) return <ExportList route={route} />;
  if (first === 'exports' && id === 'new') return <ExportPage id={null} tab="definition" route={route} />;
  if (first === 'exports' && /^\d+$/.test(id))
    return <ExportPage id={Number(id)} tab={tab ?? 'overview'} route={route} />;
  return <NotFound />;
}

function Shell(props: { user?: string; onLogout?: () => void; children: preact.ComponentChildren }) {
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        {t('skip')}
      </button>
      <header class="top">
        <a class="brand" href={href('/exports')}>
          {t('app')}
        </a>
        {props.onLogout && (
          <nav aria-label={t('nav_exports')}>
            <a href={href('/exports')}>{t('nav_exports')}</a>
          </nav>
        )}
        <div class="spacer" />
        <LanguageSwitch />
        {props.user && <span class="user">{props.user}</span>}
        {props.onLogout && (
          <button type="button" onClick={props.onLogout}>
            {t('logout')}
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}
