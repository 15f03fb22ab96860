import { useEffect } from 'preact/hooks';
import messages from '../server-errors.json';
import { lang, t } from '../i18n';
import { href } from '../route';

type Messages = Record<string, Record<'en' | 'de', [string, string]>>;
const MESSAGES = messages as unknown as Messages;

/** The key of `#server_error:<key>` (R-FILE-7), or null on any other route. */
export function serverErrorKey(raw: string): string | null {
  const m = /^server_error:(.+)$/.exec(raw);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

/** R-UI-2: a readable message for every browser-facing error key, in English and German. */
export function ErrorPage({ errorKey }: { errorKey: string }) {
  const entry = Object.hasOwn(MESSAGES, errorKey) ? MESSAGES[errorKey] : MESSAGES['server.error'];
  const [title, text] = entry[lang()];
  useEffect(() => {
    document.title = `${title} – ${t('app')}`;
  });
  return (
    <section class="card error-page" aria-labelledby="error-title">
      <h1 id="error-title">{title}</h1>
      <p id="error-message">{text}</p>
      <p>
        <code id="error-key">{errorKey}</code>
      </p>
      <p>
        <a href={href('/exports')}>{t('to_start')}</a>
      </p>
    </section>
  );
}

export function NotFound() {
  return (
    <section class="card">
      <h1>{t('not_found_title')}</h1>
      <p>{t('not_found_text')}</p>
      <p>
        <a href={href('/exports')}>{t('to_start')}</a>
      </p>
    </section>
  );
}
