import { createHash } from 'node:crypto';

/**
 * The one rule set for names this service generates for files and folders (asset files, `filename_template`,
 * per-object files, archive and download names, delivery folders, temporary names), a leaf module.
 *
 * - Bytes per path component: ext4, XFS, APFS, NTFS and most FTP/SFTP servers allow 255 (UTF-8 bytes on Linux).
 * - Generated names keep SUFFIX_RESERVE bytes free, so anything appended later (a transport's hidden `.name.part`
 *   temporary name, a collision ` (n)`, an archive part number) still fits; `withSuffix` fits the rest.
 * - Names are cut by grapheme clusters (what a reader sees as one character), never inside a UTF-8 sequence or a
 *   surrogate pair; a single cluster bigger than the room left is cut by code points.
 * - Bidirectional controls are removed: U+202E (RIGHT-TO-LEFT OVERRIDE) turns `evil\u202Egpj.exe` into what reads
 *   as `evilexe.jpg`. Covered: U+202A–U+202E (embeddings, overrides), U+2066–U+2069 (isolates), U+200E/U+200F
 *   (marks) and U+061C (ARABIC LETTER MARK).
 */
export const MAX_COMPONENT_BYTES = 255;
const SUFFIX_RESERVE = 16;
/** Most bytes of a generated name (before any later suffix). */
export const MAX_NAME_BYTES = MAX_COMPONENT_BYTES - SUFFIX_RESERVE;

const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

export const stripBidi = (s: string): string => s.replace(BIDI_CONTROLS, '');

/** Lone surrogates (not valid Unicode, not encodable as UTF-8) become U+FFFD. */
export const wellFormed = (s: string): string =>
  s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Cuts to at most `maxBytes` of UTF-8, at a grapheme boundary (a code point one for an oversized cluster). */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (utf8Bytes(s) <= maxBytes) return s;
  let bytes = 0;
  let end = 0;
  for (const { segment } of graphemes.segment(s)) {
    const size = utf8Bytes(segment);
    if (bytes + size > maxBytes) {
      // Only the first cluster may be cut inside (else the name would be empty): by whole code points.
      if (end === 0) {
        for (const ch of segment) {
          const n = utf8Bytes(ch);
          if (bytes + n > maxBytes) break;
          bytes += n;
          end += ch.length;
        }
      }
      break;
    }
    bytes += size;
    end += segment.length;
  }
  return s.slice(0, end);
}

/**
 * `name + suffix` within MAX_COMPONENT_BYTES. When `name` has to be cut, 8 hex characters of its hash go before the
 * suffix, so two long names with the same beginning still get different results.
 */
export function withSuffix(name: string, suffix: string): string {
  if (utf8Bytes(name) + utf8Bytes(suffix) <= MAX_COMPONENT_BYTES) return name + suffix;
  const tag = `~${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
  return truncateUtf8(name, MAX_COMPONENT_BYTES - utf8Bytes(suffix) - utf8Bytes(tag)) + tag + suffix;
}

const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i;

/**
 * The one sanitiser of names made from text (export names, requested download names, asset file names, template
 * output, delivery folders), without a length bound; fileNameFromText and safeNameComponent bound it.
 * NFC; bidi controls removed; control characters (C0, DEL, C1), lone surrogates and `/ \ < > : " | ? *` → `_`;
 * runs of dots collapsed so no `..` remains; trimmed; trailing dots and spaces removed (Windows drops them); leading
 * dots → `_` (no hidden files, no `.`/`..`); Windows device names (`CON`, `nul.txt`) prefixed with `_`.
 * '' when nothing is left.
 */
export function cleanFileName(text: string): string {
  const name = stripBidi(String(text).normalize('NFC'))
    .replace(/[\x00-\x1F\x7F-\x9F/\\<>:"|?*]|[\uD800-\uDFFF]/gu, '_')
    .replace(/\.{2,}/g, '.')
    .trim()
    .replace(/[. ]+$/, '')
    .replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  return WINDOWS_DEVICE.test(name) ? `_${name}` : name;
}

/** Cut to `maxBytes` (file-names rules); a cut never leaves trailing dots or spaces, nor a Windows device name. */
export function cutName(name: string, maxBytes: number): string {
  let cut = truncateUtf8(name, maxBytes);
  if (cut === name) return cut;
  cut = cut.replace(/[. ]+$/, '');
  return WINDOWS_DEVICE.test(cut) ? `_${truncateUtf8(cut, maxBytes - 1)}` : cut;
}

/**
 * One file name from user text (an export name, a requested download name): cleanFileName, cut so that `extension`
 * (appended by the caller, e.g. `.zip`) still fits in MAX_NAME_BYTES. '' when nothing is left.
 */
export function fileNameFromText(text: string, extension = ''): string {
  return cutName(cleanFileName(text), Math.max(1, MAX_NAME_BYTES - utf8Bytes(extension)));
}
