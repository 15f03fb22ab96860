import mime from 'mime-types';

export type AssetClass = 'image' | 'audio' | 'video' | 'office' | 'other';

/** Bytes of the file's start that `sniffMimeType` looks at. */
export const SNIFF_BYTES = 16;

const startsWith = (head: Buffer, bytes: number[], at = 0) =>
  head.length >= at + bytes.length && bytes.every((b, i) => head[at + i] === b);
const ascii = (head: Buffer, text: string, at = 0) => startsWith(head, [...Buffer.from(text, 'latin1')], at);

/** MP4/QuickTime family: `ftyp` at offset 4, the brand decides audio or video. */
function isoMediaType(head: Buffer): string | null {
  if (!ascii(head, 'ftyp', 4)) return null;
  const brand = head.subarray(8, 12).toString('latin1');
  if (brand === 'M4A ' || brand === 'M4B ') return 'audio/mp4';
  if (brand === 'qt  ') return 'video/quicktime';
  if (brand.startsWith('3g')) return 'video/3gpp';
  if (brand === 'heic' || brand === 'heix' || brand === 'mif1') return 'image/heic';
  if (brand === 'avif') return 'image/avif';
  return 'video/mp4';
}

/**
 * MIME type from the first bytes (a few common magic numbers) or else from the file name's extension. Content wins
 * over the name for the formats recognised here, except ZIP containers, which office formats (docx, xlsx, odt …)
 * also are: there the extension's more precise type is kept.
 */
export function sniffMimeType(head: Buffer, filename: string): string {
  const byName = mime.lookup(filename) || null;
  const byContent = sniffContent(head);
  if (byContent === 'application/zip' && byName && byName !== 'application/zip') return byName;
  return byContent ?? byName ?? 'application/octet-stream';
}

function sniffContent(head: Buffer): string | null {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (ascii(head, 'GIF87a') || ascii(head, 'GIF89a')) return 'image/gif';
  if (ascii(head, 'RIFF') && ascii(head, 'WEBP', 8)) return 'image/webp';
  if (ascii(head, 'RIFF') && ascii(head, 'WAVE', 8)) return 'audio/wav';
  if (ascii(head, 'RIFF') && ascii(head, 'AVI ', 8)) return 'video/x-msvideo';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'image/tiff';
  if (ascii(head, '%PDF-')) return 'application/pdf';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'application/zip';
  if (ascii(head, 'ID3')) return 'audio/mpeg';
  // MPEG audio frame sync (11 set bits) with layer III: FF FB / FF F3 / FF F2.
  if (head.length >= 2 && head[0] === 0xff && (head[1] === 0xfb || head[1] === 0xf3 || head[1] === 0xf2)) return 'audio/mpeg';
  if (ascii(head, 'OggS')) return 'audio/ogg';
  if (ascii(head, 'fLaC')) return 'audio/flac';
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return 'video/webm';
  return isoMediaType(head);
}

const OFFICE = [
  /^application\/pdf$/,
  /^application\/msword$/,
  /^application\/rtf$/,
  /^application\/vnd\.ms-/,
  /^application\/vnd\.openxmlformats-officedocument\./,
  /^application\/vnd\.oasis\.opendocument\./,
  /^text\/(plain|csv|rtf)$/,
];

/** The asset class of R-DATA-2 (`eas_fileclass` in `_files`). */
export function assetClassOf(mimeType: string): AssetClass {
  if (mimeType.startsWith('image/')) return 'image';
  if (mimeType.startsWith('audio/')) return 'audio';
  if (mimeType.startsWith('video/')) return 'video';
  if (OFFICE.some((re) => re.test(mimeType))) return 'office';
  return 'other';
}
