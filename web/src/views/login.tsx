import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError } from '../api';
import { t } from '../i18n';
import type { Session } from '../types';
import { Alert } from '../ui';

export function Login({ notice, onLogin }: { notice: string | null; onLogin: (s: Session) => void }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const fresh = await api<Session>('GET', '/session', { anonymous: true });
      const s = await api<Session>('POST', '/session/authenticate', {
        query: { token: fresh.token },
        body: { login, password },
        anonymous: true,
      });
      onLogin(s);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card narrow" aria-labelledby="login-title">
      <h1 id="login-title">{t('login_title')}</h1>
      {notice && <Alert kind="info">{notice}</Alert>}
      {error && <Alert kind="error">{error}</Alert>}
      <form onSubmit={submit}>
        <div class="field">
          <label for="login-name">{t('login')}</label>
          <input
            ref={first}
            id="login-name"
            name="login"
            autocomplete="username"
            required
            value={login}
            onInput={(e) => setLogin((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="login-password">{t('password')}</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </div>
        <button type="submit" class="primary" disabled={busy}>
          {t('login_submit')}
        </button>
      </form>
    </section>
  );
}
