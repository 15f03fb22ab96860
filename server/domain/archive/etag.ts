import { createHash } from 'node:crypto';
import { DEFAULT_MODE } from './entry.js';
import { TAR_LAYOUT_VERSION, type TarLayout } from './tar-layout.js';
import { ZIP_LAYOUT_VERSION, type ZipLayout } from './zip-layout.js';

type ArchiveKind = 'zip' | 'zip32' | 'tar';

/**
 * Strong ETag (R-FILE-3) of every archive (zip/, download links; packaging.ts): sha256 over everything that shapes the bytes — layout version, kind and the ordered
 * name/size/crc32/mtime/mode list. DOS times are always UTC, so no time zone goes in. Fields are length-prefixed
 * so no two different lists hash the same input.
 */
export const archiveEtag = (layout: ZipLayout | TarLayout): string => {
  const kind: ArchiveKind = layout.kind === 'tar' ? 'tar' : layout.zip64 === 'always' ? 'zip' : 'zip32';
  const version = layout.kind === 'tar' ? TAR_LAYOUT_VERSION : ZIP_LAYOUT_VERSION;
  const hash = createHash('sha256');
  // Hashed in batches (one update per entry is slow for 100,000 entries); the hashed bytes are the same.
  let batch = `export-manager-archive\n${version}\n${kind}\n${layout.count}\n`;
  for (const e of layout.entries) {
    batch += `${Buffer.byteLength(e.name)}:${e.name}\n${e.size} ${e.crc32} ${e.mtime} ${e.mode ?? DEFAULT_MODE}\n`;
    if (batch.length > 65536) {
      hash.update(batch);
      batch = '';
    }
  }
  hash.update(batch);
  return `"${hash.digest('base64url')}"`;
};
