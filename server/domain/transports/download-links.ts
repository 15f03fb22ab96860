/**
 * The anonymous passkey links of a `download` transport (R-FILE-5/6, R-ROB-6, R-ROB-9): `_transports[i]._download._files`
 * and the links in e-mails and webhook bodies. They exist only while the export has a `download` transport; the route
 * `GET /api/v1/export/<id>/download/<passkey>/[run/<runId>/]<file name>` (DownloadService) serves exactly the names and
 * sizes computed here.
 *
 * Names and sizes are those of the archive plans of packaging.ts (computed from `_files` alone; tar_gz: size null).
 */
import { archiveStem, type PackableFile, type Packer, planArchives } from '../packaging/packaging.js';

export interface DownloadLink {
  url: string;
  /** Exact byte size of what the link serves; null when it cannot be known in advance (tar_gz). */
  size: number | null;
}

export interface DownloadLinkExport {
  id: number;
  name: string;
  passkey: string;
}

/**
 * The path of a passkey link below `<PUBLIC_URL>/api/v1/export/<id>/download/<passkey>/`. With a run id it names
 * the run (`run/<runId>/<file name>`, R-ROB-9): a resume of that link either continues the same bytes or fails
 * loudly once the run's files are gone; without one it is the stable alias of the latest run (the seed's form).
 */
const downloadPath = (row: Pick<DownloadLinkExport, 'id' | 'passkey'>, fileName: string, runId?: number): string =>
  `/api/v1/export/${row.id}/download/${row.passkey}/${runId === undefined ? '' : `run/${runId}/`}${encodeURIComponent(fileName)}`;

/**
 * Absolute links of a `download` transport entry for the files of run `runId` (the published run in `_download`,
 * the delivered run in e-mails and webhooks). Every link handed out names its run (R-ROB-9).
 */
export function downloadLinks(
  row: DownloadLinkExport,
  runId: number,
  files: readonly PackableFile[],
  packer: Packer | undefined,
  publicUrl: string,
): DownloadLink[] {
  return planArchives(archiveStem(row.name, row.id), packer ?? 'zip', files).map((a) => ({
    url: `${publicUrl}${downloadPath(row, a.name, runId)}`,
    size: a.size,
  }));
}
