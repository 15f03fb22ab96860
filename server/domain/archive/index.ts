// Public API of the archive module (deterministic ZIP/TAR layouts, ranged streaming, split plans, ETags).
export type { ArchiveEntry, OpenData } from './entry.js';
export { archiveEtag, type ArchiveKind } from './etag.js';
export type { RangeStreamOptions } from './range-stream.js';
export { planZipParts, ZIP_2GB_LIMIT, ZIP_10MB_LIMIT, type ZipPart } from './split-plan.js';
export { computeTarLayout, type TarLayout } from './tar-layout.js';
export { streamTar, streamTarGz, streamTarRange } from './tar-stream.js';
export {
  computeZipLayout,
  requiresZip64,
  Zip64RequiredError,
  type ZipLayout,
  type ZipLayoutOptions,
} from './zip-layout.js';
export { streamZip, streamZipRange } from './zip-stream.js';
