import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, apiUrl, describeError } from '../api';
import { formatBytes, formatNumber, t } from '../i18n';
import { href, type Route } from '../route';
import type { ExportObject, FileEntry, FilesAnswer } from '../types';
import { Alert } from '../ui';

const PAGE = 200;

/** A path inside the export as the file/ and zip/ routes take it: every segment percent-encoded. */
const encodePath = (p: string) => p.split('/').filter(Boolean).map(encodeURIComponent).join('/');

export const fileUrl = (id: number, path: string, disposition: 'inline' | 'attachment') =>
  apiUrl(`/export/${id}/file/${encodePath(path)}`, { disposition }, true);
export const zipUrl = (id: number, folder: string) =>
  apiUrl(`/export/${id}/zip${folder ? `/${encodePath(folder)}` : ''}`, { disposition: 'attachment' }, true);

/** The folder listing of `_files` paths, for servers without GET /files: the same answer shape, computed here. */
async function listFromExport(id: number, prefix: string, offset: number): Promise<FilesAnswer> {
  const exp = await api<
    ExportObject & { _files?: { path: string; size: number; sha256?: string; mime_type?: string }[] }
  >('GET', `/export/${id}`);
  const folders = new Map<string, FileEntry>();
  const files: FileEntry[] = [];
  for (const f of exp._files ?? []) {
    if (!f.path.startsWith(prefix)) continue;
    const rest = f.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0)
      files.push({ kind: 'file', path: f.path, name: rest, size: f.size, sha256: f.sha256, mime_type: f.mime_type });
    else {
      const name = rest.slice(0, slash);
      const entry = folders.get(name) ?? { kind: 'folder', path: `${prefix}${name}/`, name, size: 0, files: 0 };
      entry.size += f.size;
      entry.files = (entry.files ?? 0) + 1;
      folders.set(name, entry);
    }
  }
  const all = [
    ...[...folders.values()].sort((a, b) => a.name.localeCompare(b.name)),
    ...files.sort((a, b) => a.name.localeCompare(b.name)),
  ];
  return { prefix, limit: PAGE, offset, count: all.length, entries: all.slice(offset, offset + PAGE) };
}

/** The files of the published run: folders, sizes, sha256, view, download, folder ZIPs (R-UI-1). */
export function FilesBrowser({ exp, route }: { exp: ExportObject; route: Route }) {
  const id = exp.export._id!;
  const prefix = route.query.get('prefix') ?? '';
  const offset = Math.max(0, Number(route.query.get('offset')) || 0);
  const [data, setData] = useState<FilesAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const runId = exp._last_run?._id;

  useEffect(() => {
    const ctrl = new AbortController();
    setError(null);
    api<FilesAnswer>('GET', `/export/${id}/files`, { query: { prefix, limit: PAGE, offset }, signal: ctrl.signal })
      .catch((err) => {
        // Servers before issue 13 have no paged listing; fall back to the export's `_files`.
        if (err instanceof ApiError && err.status === 404 && err.body.parameters?.type !== 'folder' && !prefix)
          return listFromExport(id, prefix, offset);
        throw err;
      })
      .then(setData)
      .catch((err) => {
        if ((err as Error).name !== 'AbortError') setError(describeError(err));
      });
    return () => ctrl.abort();
  }, [id, prefix, offset, runId, exp._state]);

  const crumbs = prefix.split('/').filter(Boolean);
  const link = (p: string, o?: number) =>
    href(`/exports/${id}/files`, { prefix: p || undefined, offset: o || undefined });

  return (
    <div class="stack">
      <nav aria-label={t('breadcrumb')} class="crumbs">
        <ol>
          <li>
            <a href={link('')} aria-current={prefix === '' ? 'page' : undefined}>
              {t('files_root')}
            </a>
          </li>
          {crumbs.map((c, i) => {
            const p = `${crumbs.slice(0, i + 1).join('/')}/`;
            return (
              <li key={p}>
                <a href={link(p)} aria-current={p === prefix ? 'page' : undefined}>
                  {c}
                </a>
              </li>
            );
          })}
        </ol>
      </nav>
      {error && <Alert kind="error">{error}</Alert>}
      {!data && !error && <p role="status">{t('loading')}</p>}
      {data && data.count === 0 && <p>{t('no_files')}</p>}
      {data && data.count > 0 && (
        <>
          <div class="row between">
            <span class="muted">
              {t('files_count', { count: formatNumber(data.count) })} · {t('resumable')}
            </span>
            <a class="button" href={zipUrl(id, prefix)} download>
              {prefix ? t('download_folder_zip') : t('download_zip')}
            </a>
          </div>
          <table class="list files" data-testid="files-table">
            <thead>
              <tr>
                <th scope="col">{t('col_name')}</th>
                <th scope="col" class="num">
                  {t('col_size')}
                </th>
                <th scope="col">{t('col_sha256')}</th>
                <th scope="col">{t('col_actions')}</th>
              </tr>
            </thead>
            <tbody>
              {data.entries.map((e) =>
                e.kind === 'folder' ? (
                  <tr key={e.path}>
                    <td>
                      <a href={link(e.path)} class="folder">
                        <svg class="icon" aria-hidden="true" viewBox="0 0 16 16" width="16" height="16">
                          <path d="M1.5 3.5h5l1.5 1.5h6.5v8h-13z" />
                        </svg>{' '}
                        {e.name}/
                      </a>
                    </td>
                    <td class="num">
                      {formatBytes(e.size)}
                      {e.files !== undefined && (
                        <span class="muted"> · {t('folder_files', { files: formatNumber(e.files) })}</span>
                      )}
                    </td>
                    <td />
                    <td>
                      <a href={zipUrl(id, e.path)} download aria-label={`${t('download_zip')} ${e.name}`}>
                        {t('download_zip')}
                      </a>
                    </td>
                  </tr>
                ) : (
                  <tr key={e.path}>
                    <td>{e.name}</td>
                    <td class="num">{formatBytes(e.size)}</td>
                    <td>
                      <code class="hash" title={e.sha256}>
                        {e.sha256}
                      </code>
                    </td>
                    <td class="row">
                      <a
                        href={fileUrl(id, e.path, 'inline')}
                        target="_blank"
                        rel="noopener"
                        aria-label={`${t('view')} ${e.name}`}
                      >
                        {t('view')}
                      </a>
                      <a href={fileUrl(id, e.path, 'attachment')} download aria-label={`${t('download')} ${e.name}`}>
                        {t('download')}
                      </a>
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
          {data.count > PAGE && (
            <nav class="row pager" aria-label={t('pagination')}>
              <a
                class="button"
                href={link(prefix, Math.max(0, offset - PAGE))}
                aria-disabled={offset === 0 ? 'true' : undefined}
              >
                {t('previous')}
              </a>
              <span>{t('page_n', { page: Math.floor(offset / PAGE) + 1, pages: Math.ceil(data.count / PAGE) })}</span>
              <a
                class="button"
                href={link(prefix, offset + PAGE)}
                aria-disabled={offset + PAGE >= data.count ? 'true' : undefined}
              >
                {t('next')}
              </a>
            </nav>
          )}
        </>
      )}
    </div>
  );
}
